"""The compression lab end to end: a tiny run through scripts/optimize.py, then the shipped model on a subset."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tiny_runs import untrained_text_run

from tp.compression.report import CARD_START, card_section, update_card
from tp.compression.variants import load_variant, read_variant
from tp.errors import RejectedVariantError

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "bbc-news-minilm"
LABELS = ["business", "entertainment", "politics", "sports", "tech"]
CARD = "---\nlicense: mit\n---\n# tiny\n\nSome results.\n\n## How to use\n\nLoad it.\n"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, bbc_frame) -> Path:
    """A run folder around an untrained 2-layer BERT, whose recorded data is a CSV of 120 BBC articles."""
    run = untrained_text_run(tmp_path_factory.mktemp("runs") / "tiny", tiny_bert_dir, bbc_frame)
    (run / "README.md").write_text(CARD)
    return run


@pytest.fixture(scope="module")
def tiny_summary(tiny_run: Path) -> dict:
    from tp.cli.main import main

    methods = "int8-dynamic,prune-heads:0.25,prune-magnitude:0.5,onnx-int8,bnb-8bit"
    code = main(["optimize", str(tiny_run), "--methods", methods, "--max-drop", "100", "--latency-texts", "3",
                 "--no-memory"])
    assert code == 0
    return json.loads((tiny_run / "reports" / "compression.json").read_text())


def test_every_method_leaves_a_loadable_variant_folder_and_no_scratch(tiny_run: Path, tiny_summary: dict) -> None:
    names = {"int8-dynamic", "prune-heads-0.25", "prune-magnitude-0.5", "onnx-int8", "bnb-8bit"}
    assert {p.name for p in (tiny_run / "variants").iterdir()} == names  # no .partial, no .fp32 left behind
    for name in names:
        folder = tiny_run / "variants" / name
        assert read_variant(folder)["status"] == "accepted"
        assert not list(folder.glob("*.bin")) and not list(folder.glob("*.pt"))  # safetensors or ONNX only
        classifier = load_variant(folder)
        assert classifier.labels == LABELS
        assert len(classifier.predict(["A text to classify."])) == 1


def test_measurements_cover_every_variant_next_to_the_baseline(tiny_summary: dict) -> None:
    variants = tiny_summary["variants"]
    assert set(variants) == {"fp32", "int8-dynamic", "prune-heads-0.25", "prune-magnitude-0.5", "onnx-int8", "bnb-8bit"}
    for record in variants.values():
        m = record["measurements"]
        assert m["test_size"] == 24 and 0 <= m["accuracy"] <= 1
        assert m["latency_p50_ms"] > 0 and m["throughput_texts_per_s"] > 0 and m["size_bytes"] > 0
    size = {name: record["measurements"]["size_bytes"] for name, record in variants.items()}
    assert size["int8-dynamic"] < 0.45 * size["fp32"]
    assert variants["prune-heads-0.25"]["parameters"] < variants["fp32"]["parameters"]
    assert variants["prune-heads-0.25"]["details"]["heads_pruned"] == 2


def test_reports_and_card_section(tiny_run: Path, tiny_summary: dict) -> None:
    table = (tiny_run / "reports" / "compression.md").read_text()
    assert "| int8-dynamic | accepted |" in table and "prune-heads:0.25" in table
    assert (tiny_run / "reports" / "compression.png").stat().st_size > 10_000
    readme = tiny_run / "README.md"
    card = readme.read_text()
    assert card.count(CARD_START) == 1 and card.index(CARD_START) < card.index("## How to use")
    update_card(readme, card_section(tiny_summary))  # a second lab run replaces the section
    assert readme.read_text() == card


def test_reuse_measures_a_built_variant_again_and_the_memory_probe_reads_a_fresh_process(tiny_run: Path,
                                                                                          tiny_summary: dict) -> None:
    from tp.compression.config import CompressionConfig, parse_methods
    from tp.compression.measure import memory_probe
    from tp.compression.optimize import optimize_run

    built = read_variant(tiny_run / "variants" / "int8-dynamic")
    config = CompressionConfig(methods=parse_methods("int8-dynamic"), max_drop=100, latency_texts=2,
                               measure_memory=False, reuse=True)
    summary = optimize_run(tiny_run, config, log=lambda _: None)
    assert summary["reused"] == ["int8-dynamic"]
    assert read_variant(tiny_run / "variants" / "int8-dynamic")["weights_files"] == built["weights_files"]
    texts = tiny_run / "texts.json"
    texts.write_text(json.dumps(["A text to classify."] * 4))
    memory = memory_probe(tiny_run / "variants" / "int8-dynamic", texts)
    assert 0 < memory["runtime_rss_bytes"] < memory["loaded_rss_bytes"] <= memory["peak_rss_bytes"]


@pytest.fixture(scope="module")
def shipped_summary(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """The shipped model as a fresh clone has it (adapter only), on 80 test articles."""
    from tp.compression.config import CompressionConfig, parse_methods
    from tp.compression.optimize import optimize_run

    run = tmp_path_factory.mktemp("clone") / "bbc-news-minilm"
    shutil.copytree(SHIPPED, run, ignore=shutil.ignore_patterns("model", "eval", "variants"))
    # prune-magnitude:0.95 is the deliberately broken variant: 95% of every matrix gone
    config = CompressionConfig(methods=parse_methods("int8-dynamic,prune-heads:0.3,prune-magnitude:0.95,onnx-int8"),
                               max_drop=2.5, limit=80, importance_texts=48, latency_texts=3, measure_memory=False)
    return run, optimize_run(run, config, log=lambda _: None)


def test_shipped_model_int8_and_head_pruning_keep_accuracy(shipped_summary: tuple[Path, dict]) -> None:
    run, summary = shipped_summary
    variants = summary["variants"]
    base = variants["fp32"]["measurements"]
    assert base["accuracy"] >= 0.95 and summary["environment"]["same_split_as_training"] is True
    int8, heads = variants["int8-dynamic"], variants["prune-heads-0.3"]
    assert int8["status"] == "accepted" and heads["status"] == "accepted"  # at most 2 of 80 texts lost
    assert int8["measurements"]["size_bytes"] <= 0.45 * base["size_bytes"]
    assert heads["parameters"] < variants["fp32"]["parameters"]
    assert heads["measurements"]["size_bytes"] < base["size_bytes"]
    examples = json.loads((run / "tp.json").read_text())["examples"]
    predicted = [p["label"] for p in load_variant(run / "variants" / "int8-dynamic").predict(examples)]
    assert predicted == LABELS


def test_shipped_model_broken_variant_is_rejected_and_refused(shipped_summary: tuple[Path, dict]) -> None:
    run, summary = shipped_summary
    broken = summary["variants"]["prune-magnitude-0.95"]
    assert broken["status"] == "rejected" and broken["gate"]["accuracy_drop_points"] > 2.5
    assert "| prune-magnitude:0.95 | **rejected** |" in (run / "reports" / "compression.md").read_text()
    with pytest.raises(RejectedVariantError):
        load_variant(run / "variants" / "prune-magnitude-0.95")
    assert load_variant(run / "variants" / "prune-magnitude-0.95", force=True).labels == LABELS


def _push(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    return subprocess.run([sys.executable, str(ROOT / "scripts/push_to_hub.py"), *args], capture_output=True,
                          text=True, env=env, timeout=300)


def test_push_dry_run_of_an_accepted_variant(shipped_summary: tuple[Path, dict], tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    from tp.models.loading import load_classifier

    run, summary = shipped_summary
    result = _push(str(run), "--repo-id", "alice/bbc-int8", "--variant", "int8-dynamic", "--dry-run",
                   str(tmp_path / "dry"))
    assert result.returncode == 0, result.stderr
    files = {str(p.relative_to(tmp_path / "dry")) for p in (tmp_path / "dry").rglob("*") if p.is_file()}
    assert {"variant.json", "tp.json", "model.safetensors", "tokenizer.json", "README.md", "metrics.json",
            "reports/confusion_matrix.png", "reports/compression.md"} <= files
    measured = summary["variants"]["int8-dynamic"]["measurements"]
    card = ModelCard.load(tmp_path / "dry" / "README.md")
    reported = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert reported["accuracy"] == round(measured["accuracy"], 4)  # the variant's accuracy, not the fp32 one
    assert "compressed" in card.data.tags and "Compressed variant `int8-dynamic`" in card.text
    examples = json.loads((run / "tp.json").read_text())["examples"]
    classifier = load_classifier(tmp_path / "dry")  # what a user gets from snapshot_download of the repo
    assert classifier.info["variant"]["method"] == "int8-dynamic"
    assert [p["label"] for p in classifier.predict(examples)] == LABELS


def test_an_onnx_variant_card_runs_on_stock_onnx_runtime(shipped_summary: tuple[Path, dict], tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    """The card's how-to-use code, as a Hub user copies it (the repo's folder for snapshot_download): no tp."""
    import ast
    import re

    from tp.publish.variant import assemble_variant_repo

    run, _ = shipped_summary
    dest = tmp_path / "repo"
    assemble_variant_repo(run, "onnx-int8", dest, "alice/bbc-onnx")
    card = (dest / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", card[card.index("stock ONNX Runtime"):], re.S).group(1)
    assert "tp" not in re.findall(r"^(?:from|import) (\w+)", code, re.M)
    example = ast.literal_eval(re.search(r"tokenizer\(\[(.*?)\]", code).group(1))
    exec(compile(code.replace('snapshot_download("alice/bbc-onnx")', repr(str(dest))), "card", "exec"), {})
    assert capsys.readouterr().out.strip() == load_variant(dest).predict([example])[0]["label"]


def test_push_refuses_a_rejected_variant_unless_forced(shipped_summary: tuple[Path, dict], tmp_path: Path) -> None:
    run, _ = shipped_summary
    dry = tmp_path / "dry"
    refused = _push(str(run), "--repo-id", "alice/broken", "--variant", "prune-magnitude-0.95", "--dry-run", str(dry))
    assert refused.returncode == 2 and "rejected" in refused.stderr and "--force" in refused.stderr
    assert not dry.exists()  # nothing half-written
    missing = _push(str(run), "--repo-id", "alice/x", "--variant", "int4", "--dry-run", str(dry))
    assert missing.returncode == 2 and "its variants are: int8-dynamic" in missing.stderr
    both = _push(str(run), "--repo-id", "alice/x", "--variant", "int8-dynamic", "--what", "merged")
    assert both.returncode == 2 and "give one of them" in both.stderr
    forced = _push(str(run), "--repo-id", "alice/broken", "--variant", "prune-magnitude-0.95", "--force",
                   "--dry-run", str(dry))
    assert forced.returncode == 0, forced.stderr
    card = (dry / "README.md").read_text()
    assert "Warning: tp's accuracy gate rejected this variant" in card and "rejected-by-accuracy-gate" in card


def test_the_app_serves_an_accepted_variant_and_refuses_a_rejected_one_unless_forced(
        shipped_summary: tuple[Path, dict], tmp_path: Path) -> None:
    import httpx

    from tp.serving.process import start_tp_app

    run, summary = shipped_summary
    variants = run / "variants"
    env = {"TP_MODELS": f"int8={variants / 'int8-dynamic'},broken={variants / 'prune-magnitude-0.95'}",
           "TP_DEMO": "false"}
    refused = start_tp_app(env, tmp_path / "refused.log")
    assert refused.process.wait(240) != 0  # start-up stops: the gate's verdict holds in the app too
    assert "prune-magnitude-0.95" in refused.log() and "rejected" in refused.log()
    server = start_tp_app({**env, "TP_FORCE_VARIANTS": "true"}, tmp_path / "forced.log")
    try:
        server.wait_until("/api/v1/ready", 240)
        examples = json.loads((run / "tp.json").read_text())["examples"]
        with httpx.Client(base_url=server.url, timeout=60) as client:
            answer = client.post("/api/v1/predict", json={"inputs": examples, "model": "int8"}).json()
            assert [p["label"] for p in answer["predictions"]] == LABELS
            models = {m["name"]: m for m in client.get("/api/v1/models").json()["models"]}
            assert models["int8"]["quantized"] == "int8-dynamic" and models["broken"]["quantized"] == "prune-magnitude"
            drop = summary["variants"]["prune-magnitude-0.95"]["gate"]["accuracy_drop_points"]
            assert models["broken"]["metrics"]["accuracy_drop_points"] == drop
            explained = client.post("/api/v1/explain", json={"inputs": examples[0], "model": "int8"})
            assert explained.status_code == 200  # with the fp32 run the variant sits in
            assert explained.json()["label"] == LABELS[0]
        assert "although its accuracy gate rejected it" in server.log()
    finally:
        server.stop()

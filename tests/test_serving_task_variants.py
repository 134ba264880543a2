"""TP_VARIANT=auto for a multi-label run and a text-pair regression run after `tp optimize`: the real app serves
the fastest variant that the problem's gate (micro-F1 points, RMSE growth) accepted, says so in that metric, and
answers in the problem's shape from it; a regression variant the gate rejected is not served (fp32 is); a missing
quick variant (onnx-int8) is rebuilt and gated again on RMSE.

The runs are tiny (tests/tiny_tasks.py) and copied, since the lab writes variants/ and reports/ into its run. A
tiny model's timings are noise, so each lab report is made to say how much faster than fp32 its variants are.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tiny_variants import optimized_copy, run_lab, shift_head_bias

from tp.compression.variants import is_variant_folder, load_variant
from tp.models.loading import load_classifier
from tp.serving.auto_variant import choose_variant

pytest_plugins = ["app_server"]

API = "/api/v1"
TEXTS = ["We need water and food in Leogane, the bridge is down.", "Thank you for the news."]
PAIRS = [{"text": "A man is playing a guitar.", "text_pair": "Someone plays an instrument."},
         {"text": "Stocks fell in Tokyo.", "text_pair": "A cat sleeps on the sofa."}]
PAIR_TUPLES = [(pair["text"], pair["text_pair"]) for pair in PAIRS]


def report_faster(run: Path, factors: dict[str, float]) -> dict:
    """Make the lab report (and each variant's own variant.json) say the variants ran `factors` times as fast as
    fp32; returns the report."""
    path = run / "reports" / "compression.json"
    summary = json.loads(path.read_text())
    fp32 = summary["variants"]["fp32"]["measurements"]["throughput_texts_per_s"]
    for name, factor in factors.items():
        summary["variants"][name]["measurements"]["throughput_texts_per_s"] = fp32 * factor
        record = run / "variants" / name / "variant.json"
        if record.is_file():
            on_disk = json.loads(record.read_text())
            on_disk["measurements"]["throughput_texts_per_s"] = fp32 * factor
            record.write_text(json.dumps(on_disk))
    path.write_text(json.dumps(summary))
    return summary


@pytest.fixture(scope="module")
def runs(multi_label_run: Path, pair_regression_run: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """multi: onnx-int8 accepted on micro-F1; pairs: int8-dynamic (3x) and onnx-int8 (2x) accepted on RMSE;
    broken: its int8-dynamic moved 3 points up after the lab, measured again (--reuse) and rejected."""
    root = tmp_path_factory.mktemp("task-variants")
    multi = optimized_copy(multi_label_run, root / "multi", "onnx-int8", max_drop=5.0)  # tiny: a noisy micro-F1
    pairs = optimized_copy(pair_regression_run, root / "pairs", "int8-dynamic,onnx-int8")
    broken = Path(shutil.copytree(pairs, root / "broken", ignore=shutil.ignore_patterns("onnx-int8")))
    shift_head_bias(broken / "variants" / "int8-dynamic", 3.0)
    run_lab(broken, "int8-dynamic", reuse=True)
    summaries = {"multi": report_faster(multi, {"onnx-int8": 3.0}),
                 "pairs": report_faster(pairs, {"int8-dynamic": 3.0, "onnx-int8": 2.0}),
                 "broken": report_faster(broken, {"int8-dynamic": 3.0})}
    assert summaries["multi"]["variants"]["onnx-int8"]["status"] == "accepted"
    for name in ("int8-dynamic", "onnx-int8"):
        assert summaries["pairs"]["variants"][name]["status"] == "accepted", summaries["pairs"]["variants"][name]
    assert summaries["broken"]["variants"]["int8-dynamic"]["status"] == "rejected"
    return {"multi": multi, "pairs": pairs, "broken": broken, "summaries": summaries}


@pytest.fixture(scope="module")
def client(launch_app, runs: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    models = ",".join(f"{name}={runs[name]}" for name in ("multi", "pairs", "broken"))
    server = launch_app({"TP_MODELS": models, "TP_VARIANT": "auto", "TP_DEMO": "false"},
                        tmp_path_factory.mktemp("task-variants-app") / "server.log")
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            yield client
    finally:
        server.stop()


def models(client: httpx.Client) -> dict[str, dict]:
    return {model["name"]: model for model in client.get(f"{API}/models").json()["models"]}


def test_the_accepted_variants_serve_and_say_why_in_their_problems_metric(client: httpx.Client, runs: dict) -> None:
    served = models(client)
    multi, pairs = served["multi"], served["pairs"]
    lab = runs["summaries"]["multi"]["variants"]
    micro, base = lab["onnx-int8"]["measurements"]["micro_f1"], lab["fp32"]["measurements"]["micro_f1"]
    assert multi["variant"] == "onnx-int8" and multi["runtime"] == "onnxruntime", multi["variant_reason"]
    assert ("the fastest variant the micro-F1 gate accepted" in multi["variant_reason"]
            and f"3.00x fp32's throughput at batch 32, test micro-F1 {micro:.2%} against fp32's {base:.2%}"
            in multi["variant_reason"])
    assert multi["main_metric"] == {"name": "test_micro_f1", "value": micro, "greater_is_better": True}
    assert multi["metrics"]["baseline_micro_f1"] == base and "micro_f1_drop_points" in multi["metrics"]
    assert "test_accuracy" in multi["metrics"] and "accuracy_drop_points" not in multi["metrics"]  # subset accuracy
    lab = runs["summaries"]["pairs"]["variants"]
    rmse, base = lab["int8-dynamic"]["measurements"]["rmse"], lab["fp32"]["measurements"]["rmse"]
    growth = lab["int8-dynamic"]["gate"]["drop"]
    assert pairs["variant"] == "int8-dynamic" and pairs["quantized"] == "int8-dynamic", pairs["variant_reason"]
    reason = pairs["variant_reason"]
    assert "the RMSE gate accepted" in reason and "3.00x fp32's throughput" in reason
    assert f"test RMSE {rmse:.4f} against fp32's {base:.4f} ({growth:+.2f}%) on the same" in reason
    assert pairs["main_metric"] == {"name": "test_rmse", "value": rmse, "greater_is_better": False}
    assert pairs["metrics"]["rmse_growth_percent"] == growth and "test_accuracy" not in pairs["metrics"]


def test_a_rejected_regression_variant_is_not_served(client: httpx.Client, runs: dict) -> None:
    broken = models(client)["broken"]
    assert broken["variant"] is None and broken["quantized"] is None
    assert "no variant that the RMSE gate accepted" in broken["variant_reason"]
    body = client.post(f"{API}/predict", json={"inputs": PAIRS, "model": "broken"}).json()
    fp32 = load_classifier(runs["broken"]).predict(PAIR_TUPLES)
    shifted = load_variant(runs["broken"] / "variants" / "int8-dynamic", force=True).predict(PAIR_TUPLES)
    for got, want, wrong in zip(body["predictions"], fp32, shifted, strict=True):
        assert got["value"] == pytest.approx(want["value"], abs=1e-4) and abs(got["value"] - wrong["value"]) > 2


def test_the_variants_answer_in_their_problems_shape(client: httpx.Client, runs: dict) -> None:
    body = client.post(f"{API}/predict", json={"inputs": TEXTS, "model": "multi"}).json()
    expected = load_variant(runs["multi"] / "variants" / "onnx-int8").predict(TEXTS)
    # int8 activations are quantized per batch, and the server batches as it likes: scores agree closely, not exactly
    for got, want in zip(body["predictions"], expected, strict=True):
        assert set(got) == {"labels", "label", "score", "scores", "truncated"} and len(got["scores"]) == 33
        assert got["labels"] == [s["label"] for s in got["scores"] if s["score"] >= s["threshold"]]
        wanted = {s["label"]: (s["score"], s["threshold"]) for s in want["scores"]}  # the run's tuned thresholds
        for score in got["scores"]:
            assert score["score"] == pytest.approx(wanted[score["label"]][0], abs=0.02)
            assert score["threshold"] == wanted[score["label"]][1]
    body = client.post(f"{API}/predict", json={"inputs": PAIRS, "model": "pairs"}).json()
    expected = load_variant(runs["pairs"] / "variants" / "int8-dynamic").predict(PAIR_TUPLES)
    for got, want in zip(body["predictions"], expected, strict=True):
        assert set(got) == {"value", "truncated"} and got["value"] == pytest.approx(want["value"], abs=0.02)
    refused = client.post(f"{API}/predict", json={"inputs": ["one text, no pair"], "model": "pairs"})
    assert refused.status_code == 422


def test_a_missing_quick_regression_variant_is_rebuilt_and_gated_on_rmse(runs: dict, tmp_path: Path) -> None:
    from tp.serving.variant_rebuild import rebuild

    lab = runs["summaries"]["pairs"]["variants"]["onnx-int8"]
    clone = Path(shutil.copytree(runs["pairs"], tmp_path / "clone", ignore=shutil.ignore_patterns("variants")))
    # a fresh clone: int8-dynamic is faster but not quick to make, so onnx-int8 is rebuilt while fp32 serves
    choice = choose_variant(clone, "auto", "cpu", "none")
    assert choice.folder is None and choice.rebuild == "onnx-int8", choice.reason
    assert "fp32 serves now; onnx-int8, which the RMSE gate accepted" in choice.reason
    record = rebuild(clone, "onnx-int8")
    assert record["status"] == "accepted" and record["gate"]["metric"] == "rmse"
    assert record["measurements"]["rmse"] == pytest.approx(lab["measurements"]["rmse"])  # same weights, same recipe
    assert record["measurements"]["rebuilt"]["lab_rmse"] == lab["measurements"]["rmse"]
    again = choose_variant(clone, "auto", "cpu", "none")
    assert again.folder == clone / "variants" / "onnx-int8" and "test RMSE" in again.reason, again.reason
    strict = tmp_path / "strict"  # a lab whose fp32 had a far smaller error: the rebuilt graph fails the gate
    shutil.copytree(clone, strict, ignore=shutil.ignore_patterns("variants"))
    summary = json.loads((strict / "reports" / "compression.json").read_text())
    summary["variants"]["fp32"]["measurements"]["rmse"] /= 2
    (strict / "reports" / "compression.json").write_text(json.dumps(summary))
    rejected = rebuild(strict, "onnx-int8")
    assert rejected["status"] == "rejected" and rejected["gate"]["drop"] > 90  # % more error than that fp32
    assert not is_variant_folder(strict / "variants" / "onnx-int8")

"""The compression lab on an image run: a tiny ViT trained for seconds on digits, through scripts/optimize.py."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from tp.compression.variants import load_variant, read_variant
from tp.errors import RejectedVariantError
from tp.models.image_classifier import ImageClassifier
from tp.models.loading import load_classifier

DIGITS = [str(i) for i in range(10)]
CARD = "---\nlicense: mit\n---\n# tiny digits\n\nSome results.\n\n## How to use\n\nLoad it.\n"
METHODS = "int8-dynamic,prune-heads:0.25,prune-magnitude:0.5,onnx-int8,bnb-8bit"
NAMES = {"int8-dynamic", "prune-heads-0.25", "prune-magnitude-0.5", "onnx-int8", "bnb-8bit"}


@contextmanager
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 25k-parameter model: more threads only wait on each other on a busy CPU
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def write_image_run(run: Path, model: torch.nn.Module, processor, data_config, data) -> Path:
    """The files the training code writes for an image run: model/, config.yaml, data_split.json, tp.json."""
    from tp.training.run_folder import write_recipe

    model.save_pretrained(run / "model")
    processor.save_pretrained(run / "model")
    write_recipe(run, {"name": run.name, "data": dataclasses.asdict(data_config)}, data.record)
    (run / "tp.json").write_text(json.dumps({"name": run.name, "task": "image-classification", "labels": data.labels,
                                             "base_model": "tiny-vit", "method": "full", "data": data.record,
                                             "image_size": [32, 32]}))
    (run / "README.md").write_text(CARD)
    return run


@pytest.fixture(scope="module")
def vit_run(tmp_path_factory: pytest.TempPathFactory, tiny_vit_dir: Path) -> Path:
    """tiny_vit_dir's architecture with 10 digit labels, trained ~6 s on 300 digits (about 60% test accuracy);
    recorded split: builtin:digits with 60 validation and 60 test images."""
    from transformers import AutoImageProcessor, ViTConfig, ViTForImageClassification

    from tp.compression.recovery import recover
    from tp.config import DataConfig
    from tp.data.prepare import prepare_data

    data_config = DataConfig(source="builtin:digits", max_train_samples=300, max_eval_samples=60)
    data = prepare_data(data_config)
    config = ViTConfig.from_pretrained(tiny_vit_dir, num_labels=10, id2label=dict(enumerate(data.labels)),
                                       label2id={n: i for i, n in enumerate(data.labels)})
    torch.manual_seed(0)
    model = ViTForImageClassification(config)
    processor = AutoImageProcessor.from_pretrained(tiny_vit_dir)
    classifier = ImageClassifier(model, processor, data.labels)
    train = data.splits["train"]
    with one_thread():
        recover(model, classifier.encode, train["image"], train["label"], epochs=25, learning_rate=5e-3,
                batch_size=32)
    return write_image_run(tmp_path_factory.mktemp("image-runs") / "tiny-digits", model, processor, data_config, data)


@pytest.fixture(scope="module")
def vit_summary(vit_run: Path) -> dict:
    from tp.cli.main import main

    code = main(["optimize", str(vit_run), "--methods", METHODS, "--max-drop", "100", "--latency-texts", "3",
                          "--threads", "1", "--recover-epochs", "0.1", "--no-memory"])
    assert code == 0
    return json.loads((vit_run / "reports" / "compression.json").read_text())


def test_every_method_leaves_a_loadable_image_variant_and_no_scratch(vit_run: Path, vit_summary: dict) -> None:
    from PIL import Image

    assert {p.name for p in (vit_run / "variants").iterdir()} == NAMES  # no .partial, no .fp32 left behind
    digit = Image.new("L", (8, 8))
    for name in NAMES:
        folder = vit_run / "variants" / name
        assert read_variant(folder)["status"] == "accepted"
        assert (folder / "preprocessor_config.json").is_file() and not (folder / "tokenizer.json").exists()
        classifier = load_variant(folder)
        assert isinstance(classifier, ImageClassifier) and classifier.labels == DIGITS
        assert classifier.predict([digit, digit.convert("RGB")])[0]["label"] in DIGITS
        assert isinstance(load_classifier(folder), ImageClassifier)  # what the app calls


def test_image_measurements_and_what_each_method_did(vit_summary: dict) -> None:
    variants = vit_summary["variants"]
    assert set(variants) == {"fp32", *NAMES}
    assert vit_summary["environment"]["task"] == "image-classification"
    assert vit_summary["environment"]["image_size"] == [32, 32]
    assert vit_summary["environment"]["same_split_as_training"] is True
    assert variants["fp32"]["measurements"]["accuracy"] >= 0.4  # trained: the gate test below means something
    for record in variants.values():
        m = record["measurements"]
        assert m["test_size"] == 60 and m["latency_p50_ms"] > 0 and m["throughput_texts_per_s"] > 0
    size = {name: record["measurements"]["size_bytes"] for name, record in variants.items()}
    assert size["int8-dynamic"] < 0.6 * size["fp32"]  # (onnx-int8: 25k weights are too few to outweigh its graph)
    assert size["prune-magnitude-0.5"] < size["fp32"]
    assert variants["prune-heads-0.25"]["parameters"] < variants["fp32"]["parameters"]
    heads = variants["prune-heads-0.25"]["details"]
    assert heads["heads_pruned"] == 2 and heads["heads_total"] == 8 and heads["recovery"]["steps"] == 2
    assert "Conv2d kept fp32" in variants["int8-dynamic"]["details"]["patch_embedding"]
    onnx = variants["onnx-int8"]["details"]
    assert onnx["onnx_inputs"] == ["pixel_values"] and onnx["fp32_export_max_logit_diff"] < 1e-3


def test_image_report_speaks_of_images(vit_run: Path, vit_summary: dict) -> None:
    report = (vit_run / "reports" / "compression.md").read_text()
    assert "| images/s at batch 32 |" in report and "60 images of the run's recorded test split" in report
    assert "resized to 32x32" in report and "patch embedding" in report
    assert "text" not in report.replace("context", "")  # no "texts", no "tokenization"
    assert (vit_run / "reports" / "compression.png").stat().st_size > 10_000
    assert "on the same test images" in (vit_run / "README.md").read_text()


def test_the_gate_rejects_a_broken_image_variant_and_loading_it_needs_force(vit_run: Path, tmp_path: Path) -> None:
    from tp.cli.main import main

    run = tmp_path / "tiny-digits"
    shutil.copytree(vit_run, run, ignore=shutil.ignore_patterns("variants", "reports"))
    code = main(["optimize", str(run), "--methods", "prune-magnitude:0.95", "--max-drop", "5", "--latency-texts", "2",
                          "--threads", "1", "--no-memory"])
    assert code == 0
    folder = run / "variants" / "prune-magnitude-0.95"
    record = read_variant(folder)
    assert record["status"] == "rejected" and record["gate"]["accuracy_drop_points"] > 5
    assert "| prune-magnitude:0.95 | **rejected** |" in (run / "reports" / "compression.md").read_text()
    with pytest.raises(RejectedVariantError):
        load_variant(folder)
    with pytest.raises(RejectedVariantError):
        load_classifier(folder)
    assert isinstance(load_variant(folder, force=True), ImageClassifier)


@pytest.mark.slow  # a fresh process importing torch and transformers: ~20 s on a busy CPU
def test_the_memory_probe_classifies_png_images_in_a_fresh_process(vit_run: Path, vit_summary: dict,
                                                                   tmp_path: Path) -> None:
    from PIL import Image

    from tp.compression.measure import memory_probe, read_probe_inputs, write_probe_inputs

    inputs = write_probe_inputs([Image.new("L", (8, 8), color=i * 20) for i in range(4)], tmp_path)
    assert inputs.is_dir() and len(read_probe_inputs(inputs)) == 4
    memory = memory_probe(vit_run / "variants" / "int8-dynamic", inputs)
    assert 0 < memory["runtime_rss_bytes"] < memory["loaded_rss_bytes"] <= memory["peak_rss_bytes"]


@pytest.mark.slow  # ~12 s of training, then every method
def test_a_run_folder_written_by_the_training_code_goes_through_the_lab(tmp_path: Path, tiny_vit_dir: Path) -> None:
    from tp.cli.main import main
    from tp.config import load_recipe
    from tp.training.train import train

    recipe = load_recipe(None, [f"model.source={tiny_vit_dir}", "data.source=builtin:digits", "method.name=full",
                                "data.max_train_samples=64", "data.max_eval_samples=40", "training.epochs=1",
                                "training.cpu_threads=1", "name=digits", f"output_dir={tmp_path}"])
    with one_thread():  # train() sets the thread count for the whole process
        run = train(recipe)
    code = main(["optimize", str(run), "--methods", METHODS, "--max-drop", "100", "--latency-texts", "2",
                 "--threads", "1", "--recover-epochs", "0.5", "--no-memory"])
    assert code == 0
    summary = json.loads((run / "reports" / "compression.json").read_text())
    assert summary["environment"]["same_split_as_training"] is True and not summary["failures"]
    for name in NAMES:
        assert isinstance(load_variant(run / "variants" / name), ImageClassifier)
    card = (run / "README.md").read_text()
    assert card.index("<!-- tp:compression -->") < card.index("## How to use")


SHIPPED = Path(__file__).resolve().parents[1] / "models" / "digits-vit"
needs_shipped = pytest.mark.skipif(not (SHIPPED / "model").is_dir(), reason="models/digits-vit is not in this checkout")


@needs_shipped
def test_shipped_digits_vit_card_shows_its_compression_report() -> None:
    from tp.compression.report import card_section, load_summary

    summary = load_summary(SHIPPED)
    assert summary is not None and summary["environment"]["test_texts"] == 360
    assert card_section(summary) in (SHIPPED / "README.md").read_text()
    variants = summary["variants"]
    assert all(variants[name]["status"] == "accepted" for name in variants if name != "fp32")
    size = {name: record["measurements"]["size_bytes"] for name, record in variants.items()}
    assert size["int8-dynamic"] <= 0.4 * size["fp32"]
    assert variants["prune-heads-0.3"]["parameters"] < variants["fp32"]["parameters"]


@needs_shipped
def test_shipped_digits_vit_keeps_accuracy_in_int8_and_the_gate_rejects_a_broken_variant(tmp_path: Path) -> None:
    from tp.compression.config import CompressionConfig, parse_methods
    from tp.compression.optimize import optimize_run

    run = tmp_path / "digits-vit"
    shutil.copytree(SHIPPED, run, ignore=shutil.ignore_patterns("variants", "eval"))
    config = CompressionConfig(methods=parse_methods("int8-dynamic,prune-magnitude:0.95"), max_drop=2.5, limit=120,
                               latency_texts=3, threads=1, measure_memory=False)
    variants = optimize_run(run, config, log=lambda _: None)["variants"]
    assert variants["fp32"]["measurements"]["accuracy"] >= 0.95
    assert variants["int8-dynamic"]["status"] == "accepted"
    assert variants["prune-magnitude-0.95"]["status"] == "rejected"
    with pytest.raises(RejectedVariantError):
        load_variant(run / "variants" / "prune-magnitude-0.95")
    from PIL import Image

    examples = json.loads((run / "tp.json").read_text())["examples"]
    classifier = load_variant(run / "variants" / "int8-dynamic")
    assert [p["label"] for p in classifier.predict([Image.open(run / e) for e in examples])] == DIGITS


def test_an_image_run_gets_students_too_and_no_text_length(vit_run: Path, tmp_path: Path) -> None:
    """distill:L on a ViT: the same every-k-th layers and soft targets, images opened a batch at a time."""
    import shutil

    from PIL import Image

    from tp.compression.config import CompressionConfig, parse_methods
    from tp.compression.optimize import optimize_run

    run = shutil.copytree(vit_run, tmp_path / "tiny-digits")
    shutil.rmtree(run / "variants", ignore_errors=True)
    config = CompressionConfig(methods=parse_methods("distill:1,distill:1+onnx-int8,max-length:16"), max_drop=100,
                               latency_texts=3, measure_memory=False, distill_epochs=1, student_learning_rate=1e-3)
    with one_thread():
        summary = optimize_run(run, config, log=lambda line: None)
    assert "max-length-16" in summary["failures"] and "images" in summary["failures"]["max-length-16"]["error"]
    student = summary["variants"]["distill-1"]
    assert student["details"]["kept_layers"] == [0]
    assert student["parameters"] < summary["variants"]["fp32"]["parameters"]
    for name in ("distill-1", "distill-1_onnx-int8"):
        classifier = load_variant(run / "variants" / name)
        assert isinstance(classifier, ImageClassifier)
        assert classifier.predict([Image.new("L", (8, 8))])[0]["label"] in DIGITS

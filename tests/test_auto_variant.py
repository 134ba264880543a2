"""TP_VARIANT=auto's choice among a run's variants: the fastest accepted one measured on this CPU, or fp32."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tp.serving.auto_variant import choose_variant

CPU = "AMD EPYC"


def measured(accuracy: float, speed: float) -> dict:
    return {"accuracy": accuracy, "macro_f1": accuracy, "test_size": 445, "throughput_texts_per_s": speed}


def write_run(run: Path, variants: dict[str, tuple[str, float, float]], cpu: str = CPU,
              on_disk: dict[str, str] | None = None) -> Path:
    """A run folder with a lab report and variant folders: name -> (status, accuracy, texts/s)."""
    records = {"fp32": {"measurements": measured(0.98, 10.0)}}
    for name, (status, accuracy, speed) in variants.items():
        label = name.replace("-3_", "-3+")
        record = {"format": "tp-variant/1", "name": name, "label": label, "stages": label.split("+"),
                  "method": name.rpartition("_")[2], "status": (on_disk or {}).get(name, status),
                  "measurements": measured(accuracy, speed)}
        (run / "variants" / name).mkdir(parents=True)
        (run / "variants" / name / "variant.json").write_text(json.dumps(record))
        records[name] = {**record, "status": status}
    (run / "reports").mkdir(parents=True)
    (run / "reports" / "compression.json").write_text(json.dumps({"environment": {"cpu": cpu}, "variants": records}))
    return run


def test_the_fastest_accepted_variant_measured_on_this_cpu_is_chosen(tmp_path: Path) -> None:
    run = write_run(tmp_path, {"int8-dynamic": ("accepted", 0.975, 21.0), "onnx-int8": ("accepted", 0.976, 30.0),
                               "distill-3_onnx-int8": ("rejected", 0.95, 60.0)})
    choice = choose_variant(run, "auto", "cpu", "none", cpu=CPU)
    assert choice.folder == run / "variants" / "onnx-int8"  # the faster rejected one is never chosen
    assert "3.00x fp32's throughput" in choice.reason and "97.60% against fp32's 98.00%" in choice.reason


def test_a_variant_rejected_on_disk_is_refused_whatever_the_report_says(tmp_path: Path) -> None:
    run = write_run(tmp_path, {"int8-dynamic": ("accepted", 0.975, 21.0), "onnx-int8": ("accepted", 0.976, 30.0)},
                    on_disk={"onnx-int8": "rejected"})
    assert choose_variant(run, "auto", "cpu", "none", cpu=CPU).folder == run / "variants" / "int8-dynamic"


@pytest.mark.parametrize(("setting", "device", "quantize", "cpu", "says"), [
    ("none", "cpu", "none", CPU, "TP_VARIANT=none"),
    ("auto", "cuda", "none", CPU, "CPU serving"),
    ("auto", "cpu", "int8", CPU, "without TP_QUANTIZE"),
    ("auto", "cpu", "none", "Intel(R) Xeon(R) Platinum 8480+", "measured on 'AMD EPYC'"),
])
def test_fp32_is_served_when_the_measurements_do_not_apply(tmp_path: Path, setting: str, device: str, quantize: str,
                                                            cpu: str, says: str) -> None:
    run = write_run(tmp_path, {"onnx-int8": ("accepted", 0.976, 30.0)})
    choice = choose_variant(run, setting, device, quantize, cpu=cpu)
    assert choice.folder is None and says in choice.reason


def test_fp32_is_served_when_no_variant_is_accepted_or_faster(tmp_path: Path) -> None:
    assert "no measured variants" in choose_variant(tmp_path, "auto", "cpu", "none", cpu=CPU).reason
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "compression.json").write_text('{"variants": {}}')  # a fresh clone's shipped model
    assert "not its variants/" in choose_variant(tmp_path, "auto", "cpu", "none", cpu=CPU).reason
    rejected = write_run(tmp_path / "a", {"onnx-int8": ("rejected", 0.90, 30.0)})
    assert "no variant that the accuracy gate accepted" in choose_variant(rejected, "auto", "cpu", "none", CPU).reason
    slow = write_run(tmp_path / "b", {"int8-dynamic": ("accepted", 0.98, 4.0)})
    assert "not faster than fp32" in choose_variant(slow, "auto", "cpu", "none", cpu=CPU).reason


def test_a_missing_quick_variant_is_rebuilt_and_a_slower_one_on_disk_serves_meanwhile(tmp_path: Path) -> None:
    import shutil

    run = write_run(tmp_path, {"int8-dynamic": ("accepted", 0.975, 15.0), "onnx-int8": ("accepted", 0.976, 30.0),
                               "distill-3_onnx-int8": ("accepted", 0.976, 60.0)})
    shutil.rmtree(run / "variants" / "onnx-int8")
    shutil.rmtree(run / "variants" / "distill-3_onnx-int8")  # a student: not quick to rebuild
    choice = choose_variant(run, "auto", "cpu", "none", cpu=CPU)
    assert choice.folder == run / "variants" / "int8-dynamic" and choice.rebuild == "onnx-int8"
    assert "Meanwhile onnx-int8" in choice.reason and "3.00x fp32's throughput" in choice.reason
    shutil.rmtree(run / "variants")  # a fresh clone: nothing on disk, fp32 serves while it is rebuilt
    choice = choose_variant(run, "auto", "cpu", "none", cpu=CPU)
    assert choice.folder is None and choice.rebuild == "onnx-int8" and "fp32 serves now" in choice.reason
    assert choose_variant(run, "auto", "cpu", "none", cpu="Intel(R) Xeon(R) Platinum 8480+").rebuild is None

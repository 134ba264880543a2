"""The compression lab beyond one label per text: the gate compares micro-F1 (multi-label, points) or RMSE
(regression, growth in % of fp32's), pairs are measured as pairs, and students are refused with the reason.

The runs are tiny (tests/tiny_tasks.py) and copied, since the lab writes variants/ and reports/ into its run.
A variant that must fail is built, then broken on purpose (its head's bias moved) and re-measured (--reuse).
"""

from __future__ import annotations

import json

import pytest
from tiny_variants import copy_run, run_lab, shift_head_bias

from tp.compression.gate_metric import gate_metric
from tp.compression.variants import gate, load_variant
from tp.errors import RejectedVariantError


def test_the_gate_rule_per_problem() -> None:
    rmse = gate_metric("regression")
    assert rmse.drop(1.20, 1.23) == 2.5 and rmse.drop(1.2, 1.1) < 0  # % more error; less error is no drop
    assert gate(1.20, 1.23, 1.0, rmse)["status"] == "rejected" and gate(1.20, 1.205, 1.0, rmse)["status"] == "accepted"
    micro = gate_metric("multi_label_classification")
    assert micro.key == "micro_f1" and gate(0.50, 0.495, 1.0, micro)["status"] == "accepted"
    verdict = gate(0.9, 0.8, 1.0)  # one label per text: accuracy points, under the names serving reads
    assert verdict["accuracy_drop_points"] == 10.0 and verdict["status"] == "rejected"


def test_multi_label_gate_on_micro_f1_accepts_then_rejects_a_broken_variant(multi_label_run, tmp_path) -> None:
    run = copy_run(multi_label_run, tmp_path / multi_label_run.name)
    summary = run_lab(run, "int8-dynamic,distill:1")
    assert summary["gate_metric"] == "micro_f1" and summary["problem_type"] == "multi_label_classification"
    assert "distill:1 trains a student on one label per text" in summary["failures"]["distill-1"]["error"]
    record = summary["variants"]["int8-dynamic"]
    assert record["status"] == "accepted" and record["gate"]["metric"] == "micro_f1"
    assert set(record["measurements"]) >= {"micro_f1", "macro_f1", "hamming_loss", "per_class"}
    shift_head_bias(run / "variants" / "int8-dynamic", -40.0)  # no label reaches its threshold any more
    broken = run_lab(run, "int8-dynamic", reuse=True)["variants"]["int8-dynamic"]
    assert broken["measurements"]["micro_f1"] == 0.0
    assert broken["status"] == "rejected" and broken["gate"]["drop"] > 1.0
    with pytest.raises(RejectedVariantError, match="lost .* micro-f1 points"):
        load_variant(run / "variants" / "int8-dynamic")
    report = (run / "reports" / "compression.md").read_text()
    assert "| micro-F1 | Δ micro-F1 (points) | macro-F1 |" in report and "micro-F1 point" in report


def test_pair_regression_gate_on_rmse_growth(pair_regression_run, tmp_path) -> None:
    run = copy_run(pair_regression_run, tmp_path / pair_regression_run.name)
    summary = run_lab(run, "int8-dynamic,onnx-int8")
    assert summary["gate_metric"] == "rmse"
    fp32 = summary["variants"]["fp32"]["measurements"]
    assert "accuracy" not in fp32 and fp32["rmse"] > 0
    for name in ("int8-dynamic", "onnx-int8"):  # both read the pairs: their RMSE is fp32's within 1 %
        record = summary["variants"][name]
        assert record["status"] == "accepted", record["gate"]
        assert record["gate"]["drop_unit"] == "%" and abs(record["measurements"]["rmse"] / fp32["rmse"] - 1) < 0.01
    classifier = load_variant(run / "variants" / "onnx-int8")
    assert classifier.pairs and classifier.problem_type == "regression"
    shift_head_bias(run / "variants" / "int8-dynamic", 3.0)  # every value 3 points higher: much larger error
    broken = run_lab(run, "int8-dynamic", reuse=True, max_drop=5.0)["variants"]["int8-dynamic"]
    assert broken["status"] == "rejected" and broken["gate"]["drop"] > 5.0
    report = (run / "reports" / "compression.md").read_text()
    assert "RMSE growth (%)" in report and "raises the test RMSE by more than 5% of fp32's" in report
    assert json.loads((run / "reports" / "compression.json").read_text())["gate_metric"] == "rmse"

"""`tp benchmark runtimes`: ONNX Runtime (tp's fused graph and the plain one) against OpenVINO, on a tiny run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from tiny_runs import untrained_text_run


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, bbc_frame) -> Path:
    return untrained_text_run(tmp_path_factory.mktemp("runs") / "tiny", tiny_bert_dir, bbc_frame)


@pytest.mark.parametrize("quantize", ["int8", "none"])
def test_runtimes_classify_the_same_test_texts_and_the_report_says_what_was_measured(
        tiny_run: Path, tmp_path: Path, quantize: str) -> None:
    from tp.serving.runtime_benchmark import PLAIN_ORT, PLAIN_OV, SERVED, compare_runtimes, format_report

    report = compare_runtimes(tiny_run, quantize, threads=1, batch_size=4, max_length=64, texts_count=12,
                              singles_count=3, rounds=2, cache_dir=tmp_path / "cache")
    rows = report["runtimes"]
    assert {SERVED, PLAIN_ORT} <= set(rows)
    assert report["texts"] == 12 and "isa_flags" in report["cpu"]
    assert (tmp_path / "cache" / "onnx").is_dir()  # the served graph is the cached export the app loads
    for row in rows.values():
        assert row["texts_per_s"] > 0 and row["p50_ms"] > 0 and 0 <= row["accuracy"] <= 1
    if quantize == "none":  # fused and plain fp32 graphs compute the same function: same labels, same accuracy
        assert rows[SERVED]["accuracy"] == rows[PLAIN_ORT]["accuracy"]
    text = format_report(report)
    assert f"| {SERVED} |" in text and f"| {PLAIN_ORT} |" in text
    if importlib.util.find_spec("openvino") is None:
        assert PLAIN_OV not in rows and "openvino is not installed" in text and "verdict" not in report
    else:
        ratio = report["openvino_vs_onnxruntime"]
        assert ratio["against"] in (SERVED, PLAIN_ORT) and 0 <= ratio["same_labels"] <= 1
        assert ("adopt it" in report["verdict"]) == (ratio["throughput"] >= 1.20)


def test_the_command_writes_its_json(tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tp.cli.main import main

    monkeypatch.setenv("TP_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "runtimes.json"
    code = main(["benchmark", "runtimes", "--model", str(tiny_run), "--texts", "8", "--singles", "2",
                 "--rounds", "1", "--max-length", "64", "--json", str(out)])
    assert code == 0
    assert json.loads(out.read_text())["quantize"] == "int8"

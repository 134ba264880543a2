"""A fresh clone's TP_VARIANT=auto: the lab's quick variant (onnx-int8) is rebuilt in the background, gated
again on the test split, swapped in and served by later starts; a rebuilt variant that fails the gate is not."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path

import pytest
from tiny_runs import untrained_text_run

from tp.compression.config import CompressionConfig, parse_methods
from tp.compression.variants import is_variant_folder, read_variant
from tp.serving.auto_variant import choose_variant


@pytest.fixture(scope="module")
def measured_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, bbc_frame) -> Path:
    """A tiny run after `tp optimize --methods onnx-int8,max-length:32+onnx-int8,distill:1`: cloned below, its
    report stays and its variants/ go."""
    from tp.compression.optimize import optimize_run

    run = untrained_text_run(tmp_path_factory.mktemp("runs") / "tiny", tiny_bert_dir, bbc_frame)
    config = CompressionConfig(methods=parse_methods("onnx-int8,max-length:32+onnx-int8,distill:1"), max_drop=100,
                               latency_texts=3,
                               measure_memory=False, distill_epochs=0.25)
    summary = optimize_run(run, config, log=lambda line: None)
    assert summary["variants"]["onnx-int8"]["status"] == "accepted"
    return run


def cloned(run: Path, target: Path) -> Path:
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("variants"))
    return target


def faster_than_fp32(run: Path, names: list[str], factor: float) -> None:
    """Make the lab report say these variants were `factor`x fp32 (a tiny model's timings are noise)."""
    path = run / "reports" / "compression.json"
    summary = json.loads(path.read_text())
    fp32 = summary["variants"]["fp32"]["measurements"]["throughput_texts_per_s"]
    for index, name in enumerate(names):
        summary["variants"][name]["measurements"]["throughput_texts_per_s"] = fp32 * (factor + index)
    path.write_text(json.dumps(summary))


def wait_for_log(server, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert "Rebuilding variant" not in server.log() and time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.5)


def test_only_a_quick_variant_is_rebuilt_then_chosen(measured_run: Path, tmp_path: Path) -> None:
    from tp.serving.variant_rebuild import rebuild

    run = cloned(measured_run, tmp_path / "clone")
    # 2x, 3x, 4x: the student is the fastest but needs training, so the shorter-length int8 graph is rebuilt
    faster_than_fp32(run, ["onnx-int8", "max-length-32_onnx-int8", "distill-1"], 2.0)
    name = "max-length-32_onnx-int8"
    choice = choose_variant(run, "auto", "cpu", "none")
    assert choice.folder is None and choice.rebuild == name, choice.reason
    assert "fp32 serves now" in choice.reason and "3.00x fp32's throughput" in choice.reason
    assert choose_variant(run, "none", "cpu", "none").rebuild is None
    lab = json.loads((run / "reports" / "compression.json").read_text())["variants"][name]
    record = rebuild(run, name)
    assert record["status"] == "accepted" and is_variant_folder(run / "variants" / name)
    assert record["max_length"] == 32  # served at the length it was gated at
    assert record["measurements"]["accuracy"] == lab["measurements"]["accuracy"]  # same weights, same recipe
    assert record["measurements"]["rebuilt"]["lab_accuracy"] == lab["measurements"]["accuracy"]
    assert not list((run / "variants").glob("*.partial"))
    again = choose_variant(run, "auto", "cpu", "none")
    assert again.folder == run / "variants" / name and again.rebuild is None, again.reason


def test_a_rebuild_that_fails_the_gate_is_not_published(measured_run: Path, tmp_path: Path) -> None:
    from tp.serving.variant_rebuild import rebuild

    run = cloned(measured_run, tmp_path / "clone")
    path = run / "reports" / "compression.json"
    summary = json.loads(path.read_text())
    summary["max_drop_points"] = 0.0
    summary["variants"]["fp32"]["measurements"]["accuracy"] = 1.0  # no rebuilt tiny model reaches it
    path.write_text(json.dumps(summary))
    record = rebuild(run, "onnx-int8")
    assert record["status"] == "rejected" and record["gate"]["baseline_accuracy"] == 1.0
    assert not is_variant_folder(run / "variants" / "onnx-int8") and not list((run / "variants").glob("*.partial"))


def test_the_app_rebuilds_in_the_background_swaps_it_in_and_the_next_start_serves_it(measured_run: Path,
                                                                                     tmp_path: Path) -> None:
    import httpx

    from tp.serving.process import start_tp_app

    run = cloned(measured_run, tmp_path / "clone")
    faster_than_fp32(run, ["onnx-int8"], 3.0)
    env = {"TP_MODELS": f"tiny={run}", "TP_DEMO": "false", "TP_VARIANT": "auto"}
    first = start_tp_app(env, tmp_path / "first.log")
    try:
        first.wait_until("/api/v1/ready", 240)
        with httpx.Client(base_url=first.url, timeout=60) as client:
            model = client.get("/api/v1/models").json()["models"][0]
            assert model["variant"] is None and "rebuilt in the background" in model["variant_reason"]
            assert client.post("/api/v1/predict", json={"inputs": ["The minister spoke."]}).status_code == 200
            statuses: list[int] = []
            done = threading.Event()

            def keep_asking() -> None:  # requests keep coming while the variant is swapped in
                with httpx.Client(base_url=first.url, timeout=60) as asker:
                    while not done.is_set():
                        statuses.append(asker.post("/api/v1/predict", json={"inputs": ["Shares rose."]}).status_code)

            asking = threading.Thread(target=keep_asking)
            asking.start()
            try:
                wait_for_log(first, "serving variant onnx-int8 from now on", 240)  # swapped in, no restart
                time.sleep(1.0)
            finally:
                done.set()
                asking.join()
            assert statuses and set(statuses) == {200}, statuses
            swapped = client.get("/api/v1/models").json()["models"][0]
            assert swapped["variant"] == "onnx-int8" and "3.00x fp32's throughput" in swapped["variant_reason"]
            assert swapped["runtime"] == "onnxruntime"
            for _ in range(3):
                assert client.post("/api/v1/predict", json={"inputs": ["The minister spoke."]}).status_code == 200
            assert client.post("/api/v1/explain", json={"inputs": "The minister spoke."}).status_code == 200
        assert "Rebuilt variant onnx-int8" in first.log()
    finally:
        first.stop()
    assert read_variant(run / "variants" / "onnx-int8")["status"] == "accepted"
    second = start_tp_app(env, tmp_path / "second.log")
    try:
        second.wait_until("/api/v1/ready", 240)
        with httpx.Client(base_url=second.url, timeout=60) as client:
            model = client.get("/api/v1/models").json()["models"][0]
            assert model["variant"] == "onnx-int8", model["variant_reason"]
            assert "3.00x fp32's throughput" in model["variant_reason"]
            assert client.post("/api/v1/predict", json={"inputs": ["The minister spoke."]}).status_code == 200
            # the fp32 model for explanations loads after the variant answers, in the background, not before
            wait_for_log(second, "Loaded the fp32 torch model for explanations", 120)
            log = second.log()
            assert log.index("Loaded model 'tiny'") < log.index("Loaded the fp32 torch model for explanations")
            assert client.post("/api/v1/explain", json={"inputs": "The minister spoke."}).status_code == 200
    finally:
        second.stop()

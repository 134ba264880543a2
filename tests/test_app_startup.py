"""Start-up order of the real app: the REST API answers once the models load, the Gradio demo follows,
and /api/v1/ready says 200 only when both are there."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from shipped import APP

from tp.serving.process import start_tp_app


def test_predictions_come_first_and_ready_waits_for_the_demo(tmp_path: Path) -> None:
    # the shipped models, demo on: what `python app.py` does, but TP_VARIANT=none, so that no background rebuild
    # of a variant writes into this checkout (test_variant_rebuild tests that)
    server = start_tp_app({"TP_VARIANT": "none"}, tmp_path / "app.log", app=APP)
    first_prediction = ready_at = None
    pages = set()
    try:
        deadline = time.monotonic() + 240
        with httpx.Client(base_url=server.url, timeout=30) as client:
            while ready_at is None and time.monotonic() < deadline:
                assert server.process.poll() is None, server.log()[-3000:]
                try:
                    page = client.get("/")
                    pages.add(page.status_code)
                    if first_prediction is None:
                        answer = client.post("/api/v1/predict", json={"inputs": "The striker scored twice."})
                        if answer.status_code == 200:
                            first_prediction = time.monotonic()
                    if client.get("/api/v1/ready").status_code == 200:
                        ready_at = time.monotonic()
                        assert client.get("/").status_code == 200 and "gradio" in client.get("/").text.lower()
                except httpx.TransportError:
                    pass  # not listening yet
                time.sleep(0.1)
    finally:
        server.stop()
    assert ready_at is not None, server.log()[-3000:]
    assert first_prediction is not None and first_prediction <= ready_at
    assert 503 in pages  # the placeholder page while the demo starts, never a 404 or a 500
    assert pages <= {200, 503}
    assert "Gradio demo mounted" in server.log()

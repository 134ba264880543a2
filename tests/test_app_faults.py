"""The app under faults, on a real uvicorn server (in a thread, real sockets) with a tiny ViT: a forward pass
that raises or hangs, clients that disconnect while queued, too many requests at once, and draining.

Faults are injected where they happen in production: the served model's forward pass."""

from __future__ import annotations

import base64
import io
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from tp.serving.settings import ServerSettings

API = "/api/v1"


def png_body() -> dict[str, Any]:
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return {"inputs": {"image": base64.b64encode(buffer.getvalue()).decode()}, "model": "vit"}


@pytest.fixture(scope="module")
def live(tiny_vit_dir: Path) -> Iterator[tuple[str, Any]]:
    """(base URL, app): the app served by uvicorn on a free loopback port, one batch worker."""
    import uvicorn

    from tp.serving.app import create_app

    app = create_app(ServerSettings(models=f"vit={tiny_vit_dir}", demo=False, workers=1, max_concurrent_requests=4,
                                    request_timeout_s=1.5, log_level="warning"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}{API}/ready").status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    yield url, app
    server.should_exit = True
    thread.join(30)


@contextmanager
def forward_pass(app: Any, replace: Any) -> Iterator[Any]:
    """Swap the served model's forward pass for `replace(real_model, **inputs)` for the duration."""
    inference = app.state.registry.models["vit"].batcher.run_batch
    real = inference.model
    inference.model = lambda **inputs: replace(real, **inputs)
    try:
        yield inference
    finally:
        inference.model = real


def held(release: threading.Event, calls: list[int]) -> Any:
    def forward(real: Any, **inputs: Any) -> Any:
        calls.append(len(inputs["pixel_values"]))
        release.wait(20)
        return real(**inputs)
    return forward


def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def metric(url: str, line_start: str) -> float:
    lines = [line for line in httpx.get(f"{url}/metrics").text.splitlines() if line.startswith(line_start)]
    return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0


def test_a_forward_pass_that_raises_answers_500_naming_the_model(live) -> None:
    url, app = live

    def broken(real: Any, **inputs: Any) -> Any:
        raise RuntimeError("simulated kernel failure")

    with forward_pass(app, broken):
        answer = httpx.post(f"{url}{API}/predict", json=png_body())
    assert answer.status_code == 500
    assert answer.json()["detail"].startswith("Model 'vit' failed on a batch of 1 inputs (RuntimeError: simulated "
                                              "kernel failure); the server goes on serving.")
    assert httpx.post(f"{url}{API}/predict", json=png_body()).status_code == 200  # still serving
    assert metric(url, 'tp_model_failures_total{model="vit"}') == 1


def test_a_hung_forward_pass_answers_504_and_the_server_recovers(live) -> None:
    url, app = live
    release, calls = threading.Event(), []
    with forward_pass(app, held(release, calls)):
        began = time.monotonic()
        answer = httpx.post(f"{url}{API}/predict", json=png_body(), timeout=30)
        waited = time.monotonic() - began
        time.sleep(0.2)  # the pass began just after the request: now it is surely past the timeout
        ready = httpx.get(f"{url}{API}/ready")  # still hung: an orchestrator should route around it
        release.set()
    assert ready.status_code == 503 and "'vit' has been running one forward pass" in ready.json()["detail"]
    assert answer.status_code == 504 and 1.5 <= waited < 10
    assert "Model 'vit' did not answer within 1.5 s (TP_REQUEST_TIMEOUT_S)" in answer.json()["detail"]
    until(lambda: app.state.registry.models["vit"].batcher.longest_running_s() == 0)
    assert httpx.get(f"{url}{API}/ready").status_code == 200
    assert httpx.post(f"{url}{API}/predict", json=png_body()).status_code == 200
    assert metric(url, 'tp_request_timeouts_total{model="vit"}') == 1


def raw_request(url: str, body: dict[str, Any]) -> socket.socket:
    """A request sent on its own connection, its answer never read."""
    import json

    host, port = url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    connection = socket.create_connection((host, int(port)))
    connection.sendall(f"POST {API}/predict HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                       f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
    return connection


def test_clients_that_disconnect_while_queued_cost_no_forward_pass(live) -> None:
    url, app = live
    batcher = app.state.registry.models["vit"].batcher
    release, calls = threading.Event(), []
    cancelled = metric(url, 'tp_cancelled_inputs_total{model="vit"}')
    gone_before = metric(url, 'tp_http_requests_total{method="POST",route="/api/v1/predict",status="499"}')
    with forward_pass(app, held(release, calls)), ThreadPoolExecutor(1) as pool:
        first = pool.submit(httpx.post, f"{url}{API}/predict", json=png_body(), timeout=30)
        until(lambda: calls == [1])  # the only worker is busy with the first request
        connections = [raw_request(url, png_body()) for _ in range(3)]  # 4 in flight: the limit
        until(lambda: batcher.depth == 3)
        for connection in connections:
            connection.close()
        until(lambda: batcher.depth == 0)  # the server noticed: out of the queue before any batch took them
        release.set()
        assert first.result().status_code == 200
    assert calls == [1]  # one forward pass, for the client that stayed
    assert metric(url, 'tp_cancelled_inputs_total{model="vit"}') - cancelled == 3
    until(lambda: metric(url, 'tp_http_requests_total{method="POST",route="/api/v1/predict",status="499"}')
          - gone_before == 3)


def test_past_max_concurrent_requests_answers_429_with_retry_after(live) -> None:
    url, app = live
    release, calls = threading.Event(), []
    with forward_pass(app, held(release, calls)), ThreadPoolExecutor(4) as pool:
        running = [pool.submit(httpx.post, f"{url}{API}/predict", json=png_body(), timeout=30) for _ in range(4)]
        until(lambda: app.state.admission.in_flight == 4)
        refused = httpx.post(f"{url}{API}/predict", json=png_body())
        models = httpx.get(f"{url}{API}/models")  # reads are not model requests: never refused
        release.set()
        answers = [future.result() for future in running]
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert "TP_MAX_CONCURRENT_REQUESTS=4" in refused.json()["detail"]
    assert models.status_code == 200 and models.json()["limits"]["max_concurrent_requests"] == 4
    assert [answer.status_code for answer in answers] == [200] * 4
    assert metric(url, "tp_admission_rejected_total") == 1


def test_timing_headers_of_an_image_model(live) -> None:
    url, _ = live
    body = png_body()
    answer = httpx.post(f"{url}{API}/predict", json={**body, "inputs": [body["inputs"]] * 2})
    assert answer.status_code == 200
    assert answer.headers["x-compute-tokens"] == str(2 * 17)  # (32 / 8)^2 patches + [CLS], per image
    assert int(answer.headers["x-queue-time"]) >= 0 and int(answer.headers["x-inference-time"]) >= 0


def test_draining_refuses_new_requests_and_keeps_liveness(live) -> None:
    url, app = live
    app.state.admission.start_draining()
    try:
        refused = httpx.post(f"{url}{API}/predict", json=png_body())
        ready, health = httpx.get(f"{url}{API}/ready"), httpx.get(f"{url}{API}/health")
    finally:
        app.state.admission.draining = False
    assert refused.status_code == 503 and refused.headers["retry-after"] == "5"
    assert refused.headers["connection"] == "close" and "shutting down" in refused.json()["detail"]
    assert ready.status_code == 503 and health.status_code == 200

"""The app under other settings: int8, an API key, CORS, two models, a small queue; and bad settings."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest
from gradio_client import Client
from shipped import ROOT
from shipped import TEXT_MODEL as MODEL_DIR

from tp.serving.process import start_tp_app

pytest_plugins = ["app_server"]  # one session-wide server for every app test module

API = "/api/v1"
KEY = "test-key-0123456789abcdef"
ORIGIN = "http://localhost:5173"


@pytest.fixture(scope="module")
def int8_server(tmp_path_factory: pytest.TempPathFactory, launch_app):
    env = {"TP_MODELS": f"bbc={MODEL_DIR},copy={MODEL_DIR}", "TP_DEFAULT_MODEL": "copy", "TP_QUANTIZE": "int8",
           "TP_API_KEY": KEY, "TP_CORS_ORIGINS": ORIGIN, "TP_MAX_BATCH_SIZE": "4", "TP_QUEUE_LIMIT": "16",
           "TP_MAX_ITEMS": "16"}
    server = launch_app(env, tmp_path_factory.mktemp("int8") / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sample_texts() -> list[str]:
    from tp.config import DataConfig
    from tp.data.prepare import prepare_data

    texts = prepare_data(DataConfig()).splits["test"]["text"][::11][:40]  # 40 real test articles, all topics
    return [text[:4000] for text in texts]  # under the fp32 server's TP_MAX_CHARS, still past 256 tokens


def labels(url: str, texts: list[str], headers: dict[str, str] | None = None) -> list[str]:
    response = httpx.post(f"{url}{API}/predict", json={"inputs": texts}, headers=headers, timeout=300)
    assert response.status_code == 200, response.text
    return [p["label"] for p in response.json()["predictions"]]


def test_int8_gives_the_same_labels_as_fp32(int8_server, app_server, sample_texts) -> None:
    fp32 = [label for i in range(0, 40, 16) for label in labels(app_server.url, sample_texts[i:i + 16])]
    int8 = [label for i in range(0, 40, 16)
            for label in labels(int8_server.url, sample_texts[i:i + 16], {"X-API-Key": KEY})]
    agree = sum(a == b for a, b in zip(fp32, int8, strict=True))
    assert agree >= 38, f"int8 agrees with fp32 on {agree}/40 texts"  # int8 costs ~0.7 points of accuracy
    model = httpx.get(f"{int8_server.url}{API}/models", headers={"X-API-Key": KEY}).json()["models"][0]
    assert model["quantized"] == "int8" and model["device"] == "cpu" and model["runtime"] == "onnxruntime"


@pytest.fixture(scope="module")
def torch_bf16_server(tmp_path_factory: pytest.TempPathFactory, launch_app):
    server = launch_app({"TP_MODEL": str(MODEL_DIR), "TP_BACKEND": "torch", "TP_QUANTIZE": "bf16", "TP_DEMO": "false"},
                        tmp_path_factory.mktemp("bf16") / "server.log")
    yield server
    server.stop()


def test_torch_runtime_in_bf16_gives_the_same_labels(torch_bf16_server, app_server, sample_texts) -> None:
    fp32 = [label for i in range(0, 40, 16) for label in labels(app_server.url, sample_texts[i:i + 16])]
    bf16 = [label for i in range(0, 40, 16) for label in labels(torch_bf16_server.url, sample_texts[i:i + 16])]
    agree = sum(a == b for a, b in zip(fp32, bf16, strict=True))
    assert agree >= 39, f"bf16 agrees with fp32 on {agree}/40 texts"  # all 445 test texts agreed when measured
    model = httpx.get(f"{torch_bf16_server.url}{API}/models").json()["models"][0]
    assert (model["quantized"], model["runtime"]) == ("bf16", "torch")
    explained = httpx.post(f"{torch_bf16_server.url}{API}/explain", json={"inputs": sample_texts[0]}, timeout=120)
    assert explained.status_code == 200 and explained.json()["tokens"], explained.text  # fp32 gradients


def test_api_key_guards_the_api_but_not_the_probes(int8_server) -> None:
    url = int8_server.url
    assert httpx.get(f"{url}{API}/health").status_code == 200
    assert httpx.get(f"{url}{API}/ready").status_code == 200
    for method, path in (("GET", "/models"), ("GET", "/metrics"), ("POST", "/predict"), ("POST", "/explain")):
        missing = httpx.request(method, f"{url}{API}{path}", json={"inputs": "x"})
        assert missing.status_code == 401 and "X-API-Key" in missing.json()["detail"]
        wrong = httpx.request(method, f"{url}{API}{path}", json={"inputs": "x"}, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401 and "Wrong API key" in wrong.json()["detail"]
    bearer = httpx.get(f"{url}{API}/models", headers={"Authorization": f"Bearer {KEY}"})
    assert bearer.status_code == 200
    schema = httpx.get(f"{url}/openapi.json").json()
    assert "APIKeyHeader" in schema["components"]["securitySchemes"]


def test_the_demo_asks_for_the_key(int8_server) -> None:
    assert httpx.get(f"{int8_server.url}/config").status_code == 401
    with pytest.raises(ValueError, match="Could not login"):
        Client(f"{int8_server.url}/", verbose=False, auth=("me", "wrong-password-123"))
    demo = Client(f"{int8_server.url}/", verbose=False, auth=("me", KEY))
    label, _ = demo.predict("The striker scored twice in the derby.", "bbc", api_name="/classify")
    assert label["label"] == "sports"


def test_cors_only_for_the_configured_origin(int8_server) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-api-key"}
    allowed = httpx.options(f"{int8_server.url}{API}/predict", headers={"Origin": ORIGIN, **preflight})
    assert allowed.status_code == 200 and allowed.headers["access-control-allow-origin"] == ORIGIN
    refused = httpx.options(f"{int8_server.url}{API}/predict", headers={"Origin": "http://evil.example", **preflight})
    assert "access-control-allow-origin" not in refused.headers
    simple = httpx.get(f"{int8_server.url}{API}/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


def test_two_models_by_name(int8_server) -> None:
    headers = {"X-API-Key": KEY}
    body = httpx.get(f"{int8_server.url}{API}/models", headers=headers).json()
    assert body["default"] == "copy" and [m["name"] for m in body["models"]] == ["copy", "bbc"]
    for name in ("bbc", "copy"):
        answer = httpx.post(f"{int8_server.url}{API}/predict", headers=headers,
                            json={"inputs": "Voters go to the polls as the prime minister calls an election.",
                                  "model": name}).json()
        assert answer["model"] == name and answer["predictions"][0]["label"] == "politics"
    assert httpx.post(f"{int8_server.url}{API}/predict", headers=headers,
                      json={"inputs": "x"}).json()["model"] == "copy"


def test_past_the_queue_limit_503_with_retry_after(int8_server, sample_texts) -> None:
    headers = {"X-API-Key": KEY}

    async def flood() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=int8_server.url, headers=headers, timeout=300) as client:
            return await asyncio.gather(*(client.post(f"{API}/predict", json={"inputs": sample_texts[:8]})
                                          for _ in range(12)))

    responses = asyncio.run(flood())
    busy = [r for r in responses if r.status_code == 503]
    assert {r.status_code for r in responses} == {200, 503} and busy  # 16 queued at most: the rest refused
    assert int(busy[0].headers["retry-after"]) >= 1 and "busy" in busy[0].json()["detail"]
    metrics = httpx.get(f"{int8_server.url}{API}/metrics", headers=headers).text
    assert 'tp_rejected_requests_total{model="copy"}' in metrics
    assert labels(int8_server.url, sample_texts[:2], headers)  # and it still answers afterwards


@pytest.mark.parametrize("command", [[sys.executable, "app.py"], [sys.executable, "-m", "uvicorn", "app:app"]])
def test_invalid_settings_stop_start_up_with_a_clear_message(command: list[str]) -> None:
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                            env={**_env(), "TP_MAX_BATCH_SIZE": "0", "TP_CORS_ORIGINS": "*.example.org"})
    assert result.returncode != 0
    assert "TP_MAX_BATCH_SIZE='0': Input should be greater than or equal to 1" in result.stderr
    assert "'*.example.org' is not an origin" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_model_that_cannot_load_stops_the_server(tmp_path) -> None:
    server = start_tp_app({"TP_MODEL": "someone/not-in-the-cache", "TP_DEMO": "false"}, tmp_path / "server.log")
    try:
        assert server.process.wait(120) != 0
    finally:
        server.stop()
    assert "someone/not-in-the-cache" in server.log() and "HF_HUB_OFFLINE=1" in server.log()


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "HF_HUB_OFFLINE": "1"}

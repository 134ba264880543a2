"""The REST API of the real app (uvicorn in a child process), through httpx."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

pytest_plugins = ["app_server"]  # one session-wide server for every app test module

API = "/api/v1"
TEXT = "Shares in the carmaker rose 5% after it reported record quarterly profits."


@pytest.fixture(scope="module")
def client(app_server) -> httpx.Client:
    with httpx.Client(base_url=app_server.url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def bbc_texts() -> list[str]:
    """64 real BBC News test articles cut to varied lengths (short ones, and some past the token limit)."""
    from tp.config import DataConfig
    from tp.data.prepare import prepare_data

    texts = prepare_data(DataConfig()).splits["test"]["text"]
    return [text[: 80 + (i * 397) % 3000] for i, text in enumerate(texts[:64])]


def test_health_ready_and_models(client: httpx.Client) -> None:
    assert client.get(f"{API}/health").json() == {"status": "ok"}
    assert client.get(f"{API}/ready").json() == {"status": "ready", "models": ["bbc-news-minilm", "tiny-vit"]}
    body = client.get(f"{API}/models").json()
    assert body["default"] == "bbc-news-minilm"
    model, image_model = body["models"]
    assert model["task"] == "text-classification" and model["default"] is True and model["examples"] == []
    assert image_model["task"] == "image-classification" and image_model["default"] is False
    assert image_model["runtime"] == "torch"
    assert model["labels"] == ["business", "entertainment", "politics", "sports", "tech"]
    assert model["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert model["dataset"] == "builtin:bbc-news"
    assert model["metrics"]["test_accuracy"] > 0.9
    assert {"majority", "tfidf_logreg"} <= set(model["baselines"])  # judged on its recorded split
    assert all(w["severity"] == "warning" for w in model["warnings"])  # it learned: at most below TF-IDF
    assert model["limits"] == {"max_items": 16, "max_chars": 5000, "max_tokens": 256, "max_batch_size": 32,
                               "max_batch_tokens": 8192, "max_image_bytes": None, "max_image_pixels": None,
                               "image_formats": None}


def test_auto_backend_moves_fp32_batches_to_torch(client: httpx.Client) -> None:
    """TP_BACKEND=auto: ONNX Runtime answers first, torch takes the batches once loaded, same answers."""
    deadline = time.monotonic() + 180
    while client.get(f"{API}/models").json()["models"][0]["runtime"] != "torch":
        assert time.monotonic() < deadline, "the text model's batches never moved to torch"
        time.sleep(0.5)
    prediction = client.post(f"{API}/predict", json={"inputs": TEXT}).json()["predictions"][0]
    assert prediction["label"] == "business"


def test_predict_one_text_and_a_batch(client: httpx.Client) -> None:
    one = client.post(f"{API}/predict", json={"inputs": TEXT})
    assert one.status_code == 200
    body = one.json()
    assert body["model"] == "bbc-news-minilm"
    (prediction,) = body["predictions"]
    assert prediction["label"] == "business" and prediction["truncated"] is False
    scores = [item["score"] for item in prediction["scores"]]
    assert scores == sorted(scores, reverse=True) and abs(sum(scores) - 1) < 1e-4 and len(scores) == 5
    batch = client.post(f"{API}/predict", json={"inputs": [TEXT, "The striker scored twice in the cup final."],
                                               "top_k": 2, "model": "bbc-news-minilm"}).json()
    assert [p["label"] for p in batch["predictions"]] == ["business", "sports"]
    assert all(len(p["scores"]) == 2 for p in batch["predictions"])


def test_long_text_is_truncated_and_flagged_not_refused(client: httpx.Client) -> None:
    long_text = " ".join(["The minister announced a new election campaign."] * 60)  # ~480 tokens, 2,900 chars
    prediction = client.post(f"{API}/predict", json={"inputs": long_text}).json()["predictions"][0]
    assert prediction["truncated"] is True and prediction["label"] == "politics"


def test_explain_shows_the_pipeline(client: httpx.Client) -> None:
    for method in ("gradient_x_input", "integrated_gradients"):
        response = client.post(f"{API}/explain", json={"inputs": TEXT, "method": method, "steps": 8})
        assert response.status_code == 200, response.text
        body = response.json()
        tokens = body["tokens"]
        assert tokens[0]["token"] == "[CLS]" and tokens[0]["special"] and tokens[-1]["token"] == "[SEP]"
        assert [t["token"] for t in tokens[1:3]] == ["shares", "in"] and tokens[1]["id"] > 0
        assert TEXT[tokens[1]["start"]:tokens[1]["end"]].lower() == "shares"
        assert body["id2label"]["0"] == "business" and len(body["logits"]) == 5
        assert body["label"] == body["target"] == "business" and body["method"] == method
        assert max(abs(t["attribution_scaled"]) for t in tokens) == pytest.approx(1.0)
        assert all(t["attribution_scaled"] == 0 for t in tokens if t["special"])  # the text's tokens only
    target = client.post(f"{API}/explain", json={"inputs": TEXT, "target": "sports"}).json()
    assert target["target"] == "sports" and target["label"] == "business"


def test_concurrent_requests_equal_one_by_one(client: httpx.Client, bbc_texts: list[str]) -> None:
    one_by_one = [client.post(f"{API}/predict", json={"inputs": text}).json()["predictions"][0]
                  for text in bbc_texts]

    async def all_at_once() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=str(client.base_url), timeout=120,
                                     limits=httpx.Limits(max_connections=64)) as session:
            return await asyncio.gather(*(session.post(f"{API}/predict", json={"inputs": t}) for t in bbc_texts))

    responses = asyncio.run(all_at_once())
    assert [r.status_code for r in responses] == [200] * 64
    together = [r.json()["predictions"][0] for r in responses]
    assert [p["label"] for p in together] == [p["label"] for p in one_by_one]
    assert [p["truncated"] for p in together] == [p["truncated"] for p in one_by_one]
    assert any(p["truncated"] for p in together) and not all(p["truncated"] for p in together)
    for a, b in zip(together, one_by_one, strict=True):  # padding in a shared batch moves floats a little
        assert a["score"] == pytest.approx(b["score"], abs=1e-4)
    metrics = client.get(f"{API}/metrics").text
    sizes = [line for line in metrics.splitlines() if line.startswith("tp_batch_size_bucket") and 'le="1.0"' in line]
    batches = [line for line in metrics.splitlines() if line.startswith("tp_batch_size_count")]
    assert float(sizes[0].split()[-1]) < float(batches[0].split()[-1])  # some batches held several texts


BAD_BODIES = [
    ({"inputs": ""}, "empty or only whitespace"),
    ({"inputs": "   \n\t"}, "empty or only whitespace"),
    ({"inputs": ["fine", " "]}, "`inputs[1]` is empty"),
    ({"inputs": 42}, "should be a text or a list of texts"),
    ({"inputs": ["fine", 3]}, "`inputs[1]` should be a string"),
    ({"inputs": None}, "should be a text or a list of texts"),
    ({"inputs": []}, "empty list"),
    ({"inputs": ["x"] * 17}, "17 texts; the limit is 16"),
    ({"inputs": "x" * 5001}, "5,001 characters; the limit is 5,000"),
    ({"inputs": "x", "model": "nope"}, "Unknown model 'nope'"),
    ({"inputs": "x", "model": "/etc/passwd"}, "Unknown model '/etc/passwd'"),
    ({"inputs": "x", "model": "distilbert/distilbert-base-uncased"}, "Unknown model"),
    ({"inputs": "x", "top_k": 0}, "`top_k`"),
    ({"text": "x"}, "`inputs` is required"),
    ({"inputs": "x", "extra": 1}, "`extra` is not a field"),
    ([TEXT], "JSON object"),
]


@pytest.mark.parametrize(("body", "expected"), BAD_BODIES)
def test_bad_predict_bodies_are_422_with_a_fix(client: httpx.Client, body: object, expected: str) -> None:
    response = client.post(f"{API}/predict", json=body)
    assert response.status_code == 422, response.text
    assert expected in response.json()["detail"]


@pytest.mark.parametrize(("body", "expected"), [
    ({"inputs": ""}, "empty"), ({"inputs": ["a"]}, "should be a string"),
    ({"inputs": "x", "method": "lime"}, "`method`"), ({"inputs": "x", "steps": 1000}, "`steps`"),
    ({"inputs": "x", "target": "weather"}, "Unknown target label 'weather'"),
])
def test_bad_explain_bodies_are_422(client: httpx.Client, body: dict, expected: str) -> None:
    response = client.post(f"{API}/explain", json=body)
    assert response.status_code == 422 and expected in response.json()["detail"]


def test_malformed_requests_get_4xx_json(client: httpx.Client) -> None:
    invalid = client.post(f"{API}/predict", content=b'{"inputs": "x",', headers={"content-type": "application/json"})
    assert invalid.status_code == 422 and "not valid JSON" in invalid.json()["detail"]
    plain = client.post(f"{API}/predict", content=b"some text", headers={"content-type": "text/plain"})
    assert plain.status_code == 415 and "Content-Type: application/json" in plain.json()["detail"]
    big = json.dumps({"inputs": ["x" * 4500] * 16}).encode()  # 72 KB: valid, but past TP_MAX_REQUEST_BYTES
    too_big = client.post(f"{API}/predict", content=big, headers={"content-type": "application/json"})
    assert too_big.status_code == 413 and "TP_MAX_REQUEST_BYTES" in too_big.json()["detail"]

    def chunks():  # no Content-Length: the cap must hold for a streamed body too
        yield b'{"inputs": "'
        for _ in range(20):
            yield b"y" * 4096
        yield b'"}'
    streamed = client.post(f"{API}/predict", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    unknown = client.get(f"{API}/nope")
    assert unknown.status_code == 404 and "/api/v1" in unknown.json()["detail"]
    wrong_method = client.get(f"{API}/predict")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert client.get("/no-such-page").status_code == 404
    assert client.get("/no-such-page").headers["content-type"].startswith("application/json")


def test_sub_path_and_docs(app_server) -> None:
    base, root_path = f"http://127.0.0.1:{app_server.port}", app_server.root_path
    assert root_path == "/proxy"
    assert httpx.get(f"{base}/api/v1/health").status_code == 200  # a proxy that strips the prefix
    assert httpx.get(f"{base}{root_path}/api/v1/health").status_code == 200  # one that keeps it
    docs = httpx.get(f"{base}{root_path}/docs")
    assert docs.status_code == 200 and f"{root_path}/openapi.json" in docs.text
    schema = httpx.get(f"{base}{root_path}/openapi.json").json()
    assert schema["servers"] == [{"url": root_path}]
    assert {"/api/v1/predict", "/api/v1/explain", "/api/v1/models", "/api/v1/ready"} <= set(schema["paths"])
    examples = schema["paths"]["/api/v1/predict"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert "one text" in examples
    assert "access-control-allow-origin" not in httpx.get(f"{base}/api/v1/health",
                                                          headers={"origin": "http://evil.example"}).headers


def test_metrics_are_prometheus_text(client: httpx.Client) -> None:
    response = client.get(f"{API}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    for name in ("tp_http_requests_total", "tp_http_request_duration_seconds_bucket", "tp_batch_size_bucket",
                 "tp_queue_depth", "tp_forward_tokens_total", "tp_models_ready 1.0"):
        assert name in text
    assert 'route="/api/v1/predict",status="422"' in text and 'route="/api/v1/predict",status="200"' in text


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/predict", "/explain", "/models", "/health", "/metrics"])
def test_undeclared_methods_get_405_with_allow(client: httpx.Client, method: str, path: str) -> None:
    answer = client.request(method, f"{API}{path}", content=b"not even json", headers={"content-type": "text/plain"})
    allowed = "POST" if path in ("/predict", "/explain") else "GET"
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == allowed and f"use {allowed}" in answer.json()["detail"]


def test_a_body_that_is_not_utf8_gets_400_saying_so(client: httpx.Client) -> None:
    latin1 = '{"inputs": "Café prices rose"}'.encode("latin-1")
    answer = client.post(f"{API}/predict", content=latin1, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "not UTF-8" in detail and "0xe9 at position 15" in detail and "encoded as UTF-8" in detail
    utf16 = client.post(f"{API}/predict", content='{"inputs": "x"}'.encode("utf-16"),
                        headers={"content-type": "application/json"})
    assert utf16.status_code == 400 and "not UTF-8" in utf16.json()["detail"]


def test_answers_say_where_their_time_went(client: httpx.Client) -> None:
    answer = client.post(f"{API}/predict", json={"inputs": [TEXT, TEXT + " " + TEXT]})
    assert answer.status_code == 200
    queue, inference = int(answer.headers["x-queue-time"]), int(answer.headers["x-inference-time"])
    assert 0 <= queue < 60_000 and 0 < inference < 60_000
    short, long = (len(client.post(f"{API}/explain", json={"inputs": text}).json()["tokens"])
                   for text in (TEXT, TEXT + " " + TEXT))  # [CLS] and [SEP] included
    # one pass padded to the longer text, or (two idle workers split the request) one pass each
    assert int(answer.headers["x-compute-tokens"]) in (2 * long, short + long)
    explained = client.post(f"{API}/explain", json={"inputs": TEXT})
    assert "x-inference-time" in explained.headers and "x-compute-tokens" not in explained.headers
    text = client.get("/metrics").text  # at the root, where Prometheus looks by default
    for name in ("tp_tokenization_duration_seconds_count", "tp_queue_duration_seconds_count",
                 "tp_inference_duration_seconds_count", "tp_batch_tokens_count", "tp_batch_size_count",
                 "tp_cancelled_inputs_total", "tp_admission_rejected_total", "tp_requests_in_flight"):
        assert f"{name}" in text, name
    limits = client.get(f"{API}/models").json()["limits"]
    assert limits == {"max_concurrent_requests": 128, "queue_limit": 256, "max_request_bytes": 65536,
                      "request_timeout_s": 60.0}

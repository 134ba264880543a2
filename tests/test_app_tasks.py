"""Serving the tasks beyond one label per text: a multi-label run and a text-pair regression run, served by the
real app (uvicorn in a child process) and read through REST, and the same runs on ONNX Runtime.

Tiny models trained 6 steps learn nothing: these tests check shapes, plumbing and parity, never accuracy.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tp.models.loading import load_classifier

pytest_plugins = ["app_server"]

API = "/api/v1"
TEXTS = ["We need water and food in Leogane, the bridge is down.", "The earthquake destroyed our house.",
         "Thank you for the news."]
PAIRS = [{"text": "A man is playing a guitar.", "text_pair": "Someone plays an instrument."},
         {"text": "Stocks fell in Tokyo.", "text_pair": "A cat sleeps on the sofa."},
         {"text": "A long sentence about the weather. " * 20, "text_pair": "It rains."}]  # past 64 tokens: cut


@pytest.fixture(scope="module")
def server(launch_app, multi_label_run: Path, pair_regression_run: Path, tmp_path_factory: pytest.TempPathFactory):
    """The app serving both runs on torch (the ONNX Runtime half is checked in process below)."""
    server = launch_app({"TP_MODELS": f"multi={multi_label_run},pairs={pair_regression_run}", "TP_BACKEND": "torch",
                         "TP_MAX_BATCH_WAIT_MS": "50", "TP_DEMO": "false"},
                        tmp_path_factory.mktemp("tasks-app") / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


def predict(client: httpx.Client, **body: object) -> httpx.Response:
    return client.post(f"{API}/predict", json=body)


def test_models_say_each_problem_its_inputs_thresholds_and_headline_metric(client: httpx.Client,
                                                                           multi_label_run: Path) -> None:
    multi, pairs = client.get(f"{API}/models").json()["models"]
    assert multi["default"] is True and pairs["default"] is False
    info = json.loads((multi_label_run / "tp.json").read_text())
    assert multi["problem_type"] == "multi_label_classification" and multi["text_pair"] is False
    assert multi["thresholds"] == dict(zip(info["labels"], info["thresholds"], strict=True))
    assert multi["main_metric"] == {"name": "test_micro_f1", "value": multi["metrics"]["test_micro_f1"],
                                    "greater_is_better": True}
    assert multi["baselines"]["majority"]["predicts"] == "no label"  # the empty label set
    assert "micro_f1" in multi["baselines"]["tfidf_logreg"]["scores"]
    assert pairs["problem_type"] == "regression" and pairs["text_pair"] is True and pairs["thresholds"] is None
    assert pairs["labels"] == ["score"] and "test_accuracy" not in pairs["metrics"]
    assert pairs["main_metric"]["name"] == "test_rmse" and pairs["main_metric"]["greater_is_better"] is False
    mean = pairs["baselines"]["mean"]
    assert mean["accuracy"] is None and mean["macro_f1"] is None and mean["scores"]["rmse"] > 0
    assert float(mean["predicts"]) == pytest.approx(2.675, abs=0.01)  # the training mean
    assert {w["code"] for w in pairs["warnings"]} >= {"no_skill"}  # a 6-step model has learned nothing


def test_multi_label_answers_every_labels_score_and_threshold_as_the_library_does(
        client: httpx.Client, multi_label_run: Path) -> None:
    body = predict(client, inputs=TEXTS, model="multi").json()
    expected = load_classifier(multi_label_run).predict(TEXTS)
    for got, want in zip(body["predictions"], expected, strict=True):
        assert set(got) == {"labels", "label", "score", "scores", "truncated"} and got["truncated"] is False
        assert len(got["scores"]) == 33 and got["label"] == got["scores"][0]["label"]
        assert got["labels"] == [s["label"] for s in got["scores"] if s["score"] >= s["threshold"]]
        assert [s["label"] for s in got["scores"]] == [s["label"] for s in want["scores"]]
        np.testing.assert_allclose([s["score"] for s in got["scores"]], [s["score"] for s in want["scores"]],
                                   atol=1e-5)
        assert got["labels"] == want["labels"]
    top = predict(client, inputs=TEXTS[0], model="multi", top_k=3).json()["predictions"][0]
    assert len(top["scores"]) == 3 and top["labels"] == body["predictions"][0]["labels"]  # top_k cuts scores only


def test_a_threshold_changes_the_labels_not_the_scores(client: httpx.Client) -> None:
    tuned = predict(client, inputs=TEXTS, model="multi").json()["predictions"]
    everything = predict(client, inputs=TEXTS, model="multi", threshold=0.0).json()["predictions"]
    nothing = predict(client, inputs=TEXTS, model="multi", threshold=1.0).json()["predictions"]
    for base, low, high in zip(tuned, everything, nothing, strict=True):
        assert len(low["labels"]) == 33 and high["labels"] == []
        assert [s["score"] for s in low["scores"]] == [s["score"] for s in base["scores"]]
        assert {s["threshold"] for s in low["scores"]} == {0.0} and {s["threshold"] for s in high["scores"]} == {1.0}


def test_thresholds_do_not_leak_between_requests_sharing_a_batch(server) -> None:
    async def both() -> list[dict]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            bodies = [{"inputs": TEXTS, "model": "multi", "threshold": limit} for limit in (0.0, 1.0)]
            answers = await asyncio.gather(*(client.post(f"{API}/predict", json=body) for body in bodies * 3))
            return [answer.json()["predictions"] for answer in answers]

    for index, predictions in enumerate(asyncio.run(both())):
        want = 33 if index % 2 == 0 else 0
        assert all(len(p["labels"]) == want for p in predictions)


def test_a_pair_model_answers_a_value_per_pair_as_the_library_does(client: httpx.Client,
                                                                   pair_regression_run: Path) -> None:
    body = predict(client, inputs=PAIRS, model="pairs").json()
    expected = load_classifier(pair_regression_run).predict([(p["text"], p["text_pair"]) for p in PAIRS])
    assert [set(p) for p in body["predictions"]] == [{"value", "truncated"}] * 3
    assert [p["truncated"] for p in body["predictions"]] == [False, False, True]
    np.testing.assert_allclose([p["value"] for p in body["predictions"]], [e["value"] for e in expected], atol=1e-5)
    one = predict(client, inputs=PAIRS[0], model="pairs").json()["predictions"]
    assert one[0]["value"] == pytest.approx(body["predictions"][0]["value"], abs=1e-5)  # alone or in a batch


@pytest.mark.parametrize(("body", "fix"), [
    ({"inputs": "A man is playing a guitar.", "model": "pairs"}, "text_pair"),
    ({"inputs": [{"text": "one text"}], "model": "pairs"}, "text_pair"),
    ({"inputs": PAIRS[:1], "model": "multi"}, "without `text_pair`"),
    ({"inputs": PAIRS[:1], "model": "pairs", "threshold": 0.5}, "leave `threshold` out"),
    ({"inputs": TEXTS[0], "model": "multi", "threshold": 1.5}, "threshold"),
    ({"inputs": PAIRS[:1], "model": "pairs", "top_k": 2}, "leave `top_k` out"),
    ({"inputs": [PAIRS[0], "a text"], "model": "pairs"}, "inputs[1]"),
    ({"inputs": [{"text": "a", "text_pair": "b", "image": "x"}], "model": "pairs"}, "only `text` and `text_pair`"),
])
def test_wrong_inputs_and_options_get_422_naming_the_fix(client: httpx.Client, body: dict, fix: str) -> None:
    answer = predict(client, **body)
    assert answer.status_code == 422 and fix in answer.json()["detail"], answer.text


def test_explain_a_chosen_label_of_a_multi_label_model(client: httpx.Client) -> None:
    scores = predict(client, inputs=TEXTS[0], model="multi").json()["predictions"][0]["scores"]
    body = client.post(f"{API}/explain", json={"inputs": TEXTS[0], "model": "multi", "target": "water"}).json()
    assert body["problem_type"] == "multi_label_classification" and body["target"] == "water"
    assert body["value"] is None and body["label"] == scores[0]["label"]
    by_label = {s["label"]: s["score"] for s in scores}
    assert [by_label[body["id2label"][str(i)]] for i in range(33)] == pytest.approx(body["probabilities"], abs=1e-5)
    assert {t["segment"] for t in body["tokens"] if not t["special"]} == {0}


def test_explain_a_pair_attributes_both_texts_to_the_value(client: httpx.Client) -> None:
    value = predict(client, inputs=PAIRS[0], model="pairs").json()["predictions"][0]["value"]
    body = client.post(f"{API}/explain", json={"inputs": PAIRS[0], "model": "pairs",
                                                 "method": "integrated_gradients", "steps": 4}).json()
    assert body["problem_type"] == "regression" and body["value"] == pytest.approx(value, abs=1e-5)
    words = [t for t in body["tokens"] if not t["special"]]
    assert {t["segment"] for t in words} == {0, 1} and all(t["segment"] is None for t in body["tokens"]
                                                           if t["special"])
    first = [t for t in words if t["segment"] == 1][0]  # offsets are within its own text
    assert PAIRS[0]["text_pair"][first["start"]:first["end"]].lower() == first["token"]
    refused = client.post(f"{API}/explain", json={"inputs": PAIRS[0], "model": "pairs", "target": "score"})
    assert refused.status_code == 422 and "leave `target` out" in refused.json()["detail"]


def test_the_openapi_document_describes_each_shape(client: httpx.Client) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"Prediction", "MultiLabelPrediction", "RegressionPrediction", "TextPairInput", "MainMetric"} <= set(schemas)
    assert set(schemas["MultiLabelPrediction"]["required"]) >= {"labels", "scores"}
    assert "threshold" in schemas["PredictRequest"]["properties"]
    assert {"problem_type", "text_pair", "thresholds", "main_metric"} <= set(schemas["ModelPublic"]["required"])


@pytest.mark.parametrize("run_fixture", ["multi_label_run", "pair_regression_run"])
def test_onnx_runtime_serves_them_as_torch_does(run_fixture: str, request: pytest.FixtureRequest,
                                                tmp_path: Path) -> None:
    from tp.serving.answers import read_rows
    from tp.serving.inference import TextInference
    from tp.serving.onnx_serving import load_onnx_classifier

    run = request.getfixturevalue(run_fixture)
    torch_classifier = load_classifier(run)
    onnx_classifier, _ = load_onnx_classifier(run, "none", tmp_path, lambda: torch_classifier)
    assert (onnx_classifier.problem_type, onnx_classifier.pairs) == (torch_classifier.problem_type,
                                                                    torch_classifier.pairs)
    items = [(p["text"], p["text_pair"]) for p in PAIRS] if torch_classifier.pairs else TEXTS
    inference = TextInference(onnx_classifier.model, onnx_classifier.tokenizer, 64, 8,
                              activation=onnx_classifier.problem.activation, pairs=onnx_classifier.pairs)
    got = [p.model_dump() for p in read_rows(inference(items), onnx_classifier.labels, onnx_classifier.problem,
                                              onnx_classifier.thresholds)]
    for answer, want in zip(got, torch_classifier.predict(items), strict=True):
        if "value" in want:
            assert answer["value"] == pytest.approx(want["value"], abs=1e-4)
        else:
            assert answer["labels"] == want["labels"]
            np.testing.assert_allclose([s["score"] for s in answer["scores"]], [s["score"] for s in want["scores"]],
                                       atol=1e-4)

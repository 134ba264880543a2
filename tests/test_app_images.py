"""Image classification through the real app's REST API: base64 JSON, multipart uploads, explanations,
and every kind of bad image answered with a 4xx that says what to fix (the server runs a tiny ViT)."""

from __future__ import annotations

import base64
import io

import httpx
import numpy as np
import pytest
from PIL import Image

pytest_plugins = ["app_server"]  # one session-wide server for every app test module

API = "/api/v1"
IMAGE_MODEL = "tiny-vit"  # app_server.IMAGE_MODEL


@pytest.fixture(scope="module")
def client(app_server) -> httpx.Client:
    with httpx.Client(base_url=app_server.url, timeout=120) as client:
        yield client


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def images() -> list[Image.Image]:
    """Six small images of varied sizes and modes (noise, so the tiny model scores them differently)."""
    rng = np.random.default_rng(0)
    made = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in
            [(32, 32), (40, 24), (64, 64), (17, 50)]]
    made.append(Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8), mode="L"))
    made.append(Image.new("RGB", (32, 32), (250, 10, 10)))
    return made


@pytest.fixture(scope="module")
def reference(tiny_vit_dir, images) -> list[dict]:
    """What ImageClassifier.predict says about the same images (decoded from the same PNG bytes)."""
    from tp.models.loading import load_classifier

    decoded = [Image.open(io.BytesIO(encode(image))) for image in images]
    return load_classifier(tiny_vit_dir).predict(decoded)


def assert_same(predictions: list[dict], reference: list[dict]) -> None:
    assert [p["label"] for p in predictions] == [r["label"] for r in reference]
    for got, want in zip(predictions, reference, strict=True):
        assert got["truncated"] is False
        assert {s["label"]: s["score"] for s in got["scores"]} == pytest.approx(
            {s["label"]: s["score"] for s in want["scores"]}, abs=1e-5)


def test_models_lists_the_image_model_with_its_limits(client: httpx.Client) -> None:
    models = {m["name"]: m for m in client.get(f"{API}/models").json()["models"]}
    model = models[IMAGE_MODEL]
    assert model["task"] == "image-classification" and model["labels"] == ["cat", "dog", "bird"]
    assert model["limits"] == {"max_items": 16, "max_chars": None, "max_tokens": None, "max_batch_size": 32,
                               "max_batch_tokens": 8192, "max_image_bytes": 20000, "max_image_pixels": 250000,
                               "image_formats": ["PNG", "JPEG", "WEBP", "GIF", "BMP"]}
    assert model["examples"] == []  # the fixture's folder has no examples/


def test_json_base64_predictions_equal_the_classifier(client, images, reference) -> None:
    inputs = [{"image": b64(encode(image))} for image in images]
    inputs[1] = {"image": "data:image/png;base64," + inputs[1]["image"]}  # a data URL works too
    response = client.post(f"{API}/predict", json={"inputs": inputs, "model": IMAGE_MODEL})
    assert response.status_code == 200, response.text
    assert response.json()["model"] == IMAGE_MODEL
    assert_same(response.json()["predictions"], reference)
    one = client.post(f"{API}/predict", json={"inputs": inputs[0], "model": IMAGE_MODEL, "top_k": 2}).json()
    (prediction,) = one["predictions"]
    assert prediction["label"] == reference[0]["label"] and len(prediction["scores"]) == 2


def test_multipart_predictions_equal_the_classifier(client, images, reference) -> None:
    files = [("files", (f"{i}.png", encode(image), "image/png")) for i, image in enumerate(images)]
    response = client.post(f"{API}/predict", files=files, data={"model": IMAGE_MODEL})
    assert response.status_code == 200, response.text
    assert_same(response.json()["predictions"], reference)
    top = client.post(f"{API}/predict", files=files[:1], data={"model": IMAGE_MODEL, "top_k": "1"}).json()
    assert len(top["predictions"][0]["scores"]) == 1


def test_other_formats_decode_like_png(client, images) -> None:
    image = images[0]
    answers = [client.post(f"{API}/predict", json={"inputs": {"image": b64(encode(image, fmt))},
                                                   "model": IMAGE_MODEL}).json()["predictions"][0]
               for fmt in ("PNG", "BMP", "GIF", "WEBP", "JPEG")]
    assert all(answer["label"] for answer in answers)
    assert answers[1]["score"] == pytest.approx(answers[0]["score"], abs=1e-6)  # BMP is lossless too


@pytest.mark.parametrize("method", ["saliency", "attention_rollout"])
def test_explain_gives_heatmaps_at_the_input_size(client, images, reference, method) -> None:
    body = {"inputs": {"image": b64(encode(images[2]))}, "model": IMAGE_MODEL, "method": method}
    response = client.post(f"{API}/explain", json=body)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["task"] == "image-classification" and result["method"] == method
    assert result["label"] == result["target"] == reference[2]["label"]
    assert sum(result["probabilities"]) == pytest.approx(1, abs=1e-5) and len(result["logits"]) == 3
    assert result["id2label"] == {"0": "cat", "1": "dog", "2": "bird"}
    assert (result["width"], result["height"]) == (32, 32)
    for key in ("heatmap_png", "overlay_png"):
        picture = Image.open(io.BytesIO(base64.b64decode(result[key])))
        assert picture.format == "PNG" and picture.size == (32, 32) and picture.mode == "RGB"


def test_explain_takes_a_target_and_an_upload(client, images) -> None:
    data = encode(images[0])
    target = client.post(f"{API}/explain", json={"inputs": {"image": b64(data)}, "model": IMAGE_MODEL,
                                                 "target": "bird"}).json()
    assert target["target"] == "bird" and target["method"] == "saliency"
    upload = client.post(f"{API}/explain", files=[("files", ("a.png", data, "image/png"))],
                         data={"model": IMAGE_MODEL, "method": "attention_rollout"})
    assert upload.status_code == 200 and upload.json()["method"] == "attention_rollout"
    text = client.post(f"{API}/explain", json={"inputs": "Shares rose."}).json()
    assert text["task"] == "text-classification" and text["tokens"]


def png_b64(size: tuple[int, int], mode: str = "RGB") -> str:
    return b64(encode(Image.new(mode, size)))


NOISE = np.random.default_rng(1).integers(0, 256, (100, 100, 3), dtype=np.uint8)  # ~30 KB as PNG
BAD_IMAGES = [
    ({"image": "not base64 at all!"}, 422, "is not base64"),
    ({"image": b64(b"just some text, not an image\n")}, 422, "is not an image this server reads"),
    ({"image": b64(encode(Image.fromarray(NOISE[:40, :40]))[:300])}, 422, "truncated or corrupt"),
    ({"image": b64(encode(Image.new("RGB", (8, 8)), "TIFF"))}, 422, "TIFF image; this server takes PNG"),
    ({"image": b64(encode(Image.fromarray(NOISE)))}, 413, "TP_MAX_IMAGE_BYTES"),
    ({"image": png_b64((600, 600))}, 422, "360,000 pixels; the limit is 250,000"),
    ({"image": png_b64((5000, 5000), "1")}, 422, "too many pixels"),  # 25 megapixels in 3 KB
    ({"image": ""}, 422, "non-empty"),
    ({"image": "data:image/png,abc"}, 422, "without ;base64"),
    ({"picture": "abc"}, 422, "no `image` key"),
    ({"image": 42}, 422, "base64"),
]


@pytest.mark.parametrize(("item", "status", "expected"), BAD_IMAGES)
def test_bad_images_are_4xx_with_a_fix(client: httpx.Client, item: dict, status: int, expected: str) -> None:
    for url in (f"{API}/predict", f"{API}/explain"):
        response = client.post(url, json={"inputs": item, "model": IMAGE_MODEL})
        assert response.status_code == status, response.text
        assert expected in response.json()["detail"]


def test_request_level_mistakes(client: httpx.Client) -> None:
    image = {"image": png_b64((8, 8))}
    cases = [
        ({"inputs": [image] * 17, "model": IMAGE_MODEL}, "17 images; the limit is 16"),
        ({"inputs": [image, "text"], "model": IMAGE_MODEL}, "`inputs[1]` should be an image object"),
        ({"inputs": image, "model": "nope"}, "Unknown model 'nope'"),
        ({"inputs": "Some text.", "model": IMAGE_MODEL}, f"'{IMAGE_MODEL}' (image-classification) takes images"),
        ({"inputs": image}, "'bbc-news-minilm' (text-classification) takes texts, not images"),
        ({"inputs": image, "model": IMAGE_MODEL, "extra": 1}, "`extra` is not a field"),
    ]
    for body, expected in cases:
        response = client.post(f"{API}/predict", json=body)
        assert response.status_code == 422 and expected in response.json()["detail"], response.text
    wrong_method = client.post(f"{API}/explain", json={"inputs": image, "model": IMAGE_MODEL,
                                                       "method": "integrated_gradients"})
    assert wrong_method.status_code == 422 and "saliency or attention_rollout" in wrong_method.json()["detail"]


def test_bad_uploads_are_4xx_with_a_fix(client: httpx.Client, images) -> None:
    data = encode(images[0])
    cases = [
        ({"files": [("files", ("empty.png", b"", "image/png"))]}, 422, "'empty.png' is empty"),
        ({"files": [("image", ("a.png", data, "image/png"))]}, 422, "name each file part `files`"),
        ({"files": [("files", ("a.txt", b"hello", "text/plain"))]}, 422, "not an image"),
        ({"files": [("files", (None, b"abc"))]}, 422, "sent as a text field"),
        ({"files": [("model", (None, IMAGE_MODEL.encode()))], "data": {}}, 422, "No file was sent"),
        ({"files": [("files", ("big.png", encode(Image.fromarray(np.tile(NOISE, (3, 3, 1)))), "image/png"))]},
         413, "TP_MAX_REQUEST_BYTES"),
    ]
    for kwargs, status, expected in cases:
        kwargs.setdefault("data", {"model": IMAGE_MODEL})
        response = client.post(f"{API}/predict", **kwargs)
        assert response.status_code == status and expected in response.json()["detail"], response.text
    two = client.post(f"{API}/explain", files=[("files", ("a.png", data, "image/png"))] * 2,
                      data={"model": IMAGE_MODEL})
    assert two.status_code == 422 and "one image at a time" in two.json()["detail"]
    elsewhere = client.post(f"{API}/models", files=[("files", ("a.png", data, "image/png"))])
    assert elsewhere.status_code in (405, 415)


def test_image_requests_are_counted(client: httpx.Client) -> None:
    client.post(f"{API}/predict", json={"inputs": {"image": png_b64((8, 8))}, "model": IMAGE_MODEL})
    metrics = client.get(f"{API}/metrics").text
    assert f'tp_predictions_total{{model="{IMAGE_MODEL}"}}' in metrics
    assert f'tp_batch_size_count{{model="{IMAGE_MODEL}"}}' in metrics
    assert 'route="/api/v1/predict",status="413"' in metrics  # uploads and JSON alike

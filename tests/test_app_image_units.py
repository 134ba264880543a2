"""Image serving without a server process: decoding and its limits, settings, default models, and an
in-process app serving a tiny ViT in int8 with example images (REST and the Gradio page)."""

from __future__ import annotations

import base64
import io
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tp.errors import ConfigError, InputError
from tp.serving.errors import TooLargeError
from tp.serving.images import ImageLimits, base64_bytes, decode_images, example_label
from tp.serving.settings import ServerSettings, load_settings

LIMITS = ImageLimits(max_bytes=10_000, max_pixels=10_000, formats=("PNG", "GIF"))


def png(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_base64_variants_decode_to_the_same_bytes() -> None:
    data = bytes(range(256)) * 3
    plain = base64.b64encode(data).decode()
    wrapped = "\n".join(plain[i:i + 76] for i in range(0, len(plain), 76))
    for text in (plain, plain.rstrip("="), wrapped, "data:image/png;base64," + plain,
                 base64.urlsafe_b64encode(data).decode()):
        assert base64_bytes(text, LIMITS, "`x`") == data
    with pytest.raises(TooLargeError, match="TP_MAX_IMAGE_BYTES"):
        base64_bytes("A" * 20_000, LIMITS, "`x`")  # refused before decoding


def test_decoding_checks_format_pixels_and_frames() -> None:
    grey = Image.new("L", (10, 10), 7)
    (image,) = decode_images([png(grey)], LIMITS, one=True)
    assert image.mode == "RGB" and image.size == (10, 10)
    frames = [Image.new("P", (8, 8), colour) for colour in (1, 2)]
    gif = png(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode_images([gif], LIMITS)[0].size == (8, 8)  # an animation: its first frame
    with pytest.raises(InputError, match="BMP image; this server takes PNG, GIF"):
        decode_images([png(grey, "BMP")], LIMITS)
    with pytest.raises(InputError, match=r"File 2 is 101x100 = 10,100 pixels"):
        decode_images([png(grey), png(Image.new("L", (101, 100)))], LIMITS)
    with pytest.raises(InputError, match="empty file"):
        decode_images([b""], LIMITS, one=True)


def test_example_labels_come_from_file_names() -> None:
    labels = ["zero", "one", "7"]
    assert [example_label(stem, labels) for stem in ("one", "0_zero", "7-example", "other")] == \
        ["one", "zero", "7", "other"]


def test_image_formats_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TP_MODELS", f"a={tmp_path}")
    monkeypatch.setenv("TP_IMAGE_FORMATS", "png, jpg")
    assert load_settings().image_formats == ["PNG", "JPEG"]
    monkeypatch.setenv("TP_IMAGE_FORMATS", "png,svg")
    with pytest.raises(ConfigError, match="TP_IMAGE_FORMATS.*SVG"):
        load_settings()


def test_the_library_serves_nothing_it_is_not_told_to(monkeypatch, tmp_path: Path) -> None:
    for name in ("TP_MODEL", "TP_MODELS", "TP_DEFAULT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="no model to serve: set TP_MODEL"):
        load_settings()  # the shipped models are app.py's default, not the library's
    monkeypatch.setenv("TP_MODELS", f"a={tmp_path}")
    assert [(spec.name, spec.source) for spec in load_settings().specs] == [("a", str(tmp_path))]
    monkeypatch.setenv("TP_MODEL", str(tmp_path))  # TP_MODEL still overrides
    assert [spec.source for spec in load_settings().specs] == [str(tmp_path)]


@pytest.fixture(scope="module")
def vit_with_examples(tiny_vit_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("vit-examples") / "vit"
    shutil.copytree(tiny_vit_dir, folder)
    (folder / "examples").mkdir()
    rng = np.random.default_rng(3)
    for label in ("bird", "cat", "dog"):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(folder / "examples" / f"{label}.png")
    return folder


def test_int8_image_model_in_process(vit_with_examples: Path) -> None:
    from fastapi.testclient import TestClient

    from tp.models.loading import load_classifier
    from tp.serving.app import create_app

    rng = np.random.default_rng(4)
    images = [Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in range(8)]
    fp32 = load_classifier(vit_with_examples).predict(images)
    app = create_app(ServerSettings(models=f"vit={vit_with_examples}", quantize="int8"))
    with TestClient(app) as client:
        deadline = time.monotonic() + 60
        while client.get("/api/v1/ready").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        (model,) = client.get("/api/v1/models").json()["models"]
        assert model["quantized"] == "int8" and model["task"] == "image-classification"
        assert [e["label"] for e in model["examples"]] == ["cat", "dog", "bird"]  # label order
        assert all(e["image"].startswith("data:image/png;base64,") for e in model["examples"])
        inputs = [{"image": base64.b64encode(png(image)).decode()} for image in images]
        predictions = client.post("/api/v1/predict", json={"inputs": inputs}).json()["predictions"]
        for got, want in zip(predictions, fp32, strict=True):  # int8 Linear layers: close to fp32
            scores = {s["label"]: s["score"] for s in got["scores"]}
            assert scores == pytest.approx({s["label"]: s["score"] for s in want["scores"]}, abs=0.05)
        explained = client.post("/api/v1/explain", json={"inputs": inputs[0]}).json()  # fp32 weights
        assert explained["probabilities"] == pytest.approx(
            [dict((s["label"], s["score"]) for s in fp32[0]["scores"])[label] for label in ("cat", "dog", "bird")],
            abs=1e-5)
        page = client.get("/")
        assert page.status_code == 200 and "image" in client.get("/config").text.lower()

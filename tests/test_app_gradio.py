"""The Gradio demo of the real app, through gradio_client (behind the /proxy sub-path)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

pytest_plugins = ["app_server"]  # one session-wide server for every app test module

TEXT = "The striker scored twice as the champions won the derby 3-1."


@pytest.fixture(scope="module")
def demo(app_server) -> Client:
    return Client(f"{app_server.url}/", verbose=False)


def test_page_and_assets_carry_the_sub_path(app_server) -> None:
    page = httpx.get(f"{app_server.url}/")
    assert page.status_code == 200 and "<html" in page.text.lower()
    config = httpx.get(f"{app_server.url}/config").json()
    assert config["root"].endswith("/proxy")


def test_every_event_is_named(demo: Client) -> None:
    endpoints = set(demo.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/classify", "/classify_submit", "/explain", "/model_card", "/model_card_change", "/model_baselines",
            "/model_baselines_change"} <= endpoints


def test_classify(demo: Client) -> None:
    label, note = demo.predict(TEXT, "bbc-news-minilm", api_name="/classify")
    assert label["label"] == "sports" and len(label["confidences"]) == 5
    assert note == ""
    long_label, long_note = demo.predict(" ".join([TEXT] * 40), "bbc-news-minilm", api_name="/classify_submit")
    assert long_label["label"] == "sports" and "256 tokens" in long_note


def test_behind_the_pipeline(demo: Client) -> None:
    summary, marked, tokens, logits = demo.predict(TEXT, "bbc-news-minilm", "integrated_gradients",
                                                   api_name="/explain")
    assert "**sports**" in summary
    assert tokens["data"][0][1] == "[CLS]" and tokens["data"][-1][1] == "[SEP]"
    assert [row[1] for row in logits["data"]] == ["business", "entertainment", "politics", "sports", "tech"]
    pieces = [piece["token"] for piece in marked]
    assert "".join(pieces) == TEXT  # the original text, split at token boundaries


def test_model_card_and_confusion_matrix(demo: Client) -> None:
    card, matrix = demo.predict("bbc-news-minilm", api_name="/model_card")
    assert "bbc-news-minilm" in card and not card.startswith("---")
    assert matrix is not None and str(matrix).endswith((".png", ".webp", ".jpeg", ".jpg"))
    # above the card: the no-skill banner and the baselines table, when the run recorded them (test_app_baselines)
    baselines = demo.predict("bbc-news-minilm", api_name="/model_baselines")
    assert isinstance(baselines, str) and "has not learned" not in baselines


@pytest.mark.parametrize(("text", "message"), [("   ", "Enter some text"), ("x" * 5001, "5,001 characters")])
def test_user_errors_are_shown_not_crashes(demo: Client, text: str, message: str) -> None:
    with pytest.raises(AppError, match=message):
        demo.predict(text, "bbc-news-minilm", api_name="/classify")


@pytest.fixture(scope="module")
def image_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("gradio-images")
    noise = np.random.default_rng(0).integers(0, 256, (40, 30, 3), dtype=np.uint8)
    Image.fromarray(noise).save(folder / "noise.png")
    (folder / "not-an-image.png").write_text("just text\n")
    Image.new("RGB", (600, 600)).save(folder / "huge.png")  # past the server's TP_MAX_IMAGE_PIXELS
    return {path.stem: path for path in folder.iterdir()}


def test_image_tab_classifies_and_explains(demo: Client, image_files, tiny_vit_dir) -> None:
    from PIL import Image

    from tp.models.loading import load_classifier

    assert {"/classify_image", "/explain_image"} <= set(demo.view_api(print_info=False,
                                                                        return_format="dict")["named_endpoints"])
    expected = load_classifier(tiny_vit_dir).predict([Image.open(image_files["noise"])])[0]
    label = demo.predict(handle_file(image_files["noise"]), api_name="/classify_image")  # the model's default
    assert label["label"] == expected["label"] and len(label["confidences"]) == 3
    summary, scores, overlay, heatmap = demo.predict(handle_file(image_files["noise"]), "tiny-vit",
                                                     "attention_rollout", api_name="/explain_image")
    assert f"**{expected['label']}**" in summary and scores["label"] == expected["label"]
    for picture in (overlay, heatmap):
        assert Image.open(picture).size == (32, 32)


@pytest.mark.parametrize(("name", "message"), [("not-an-image", "image"), ("huge", "pixels")])
def test_bad_image_files_are_errors_not_crashes(demo: Client, image_files, name: str, message: str) -> None:
    with pytest.raises(AppError, match=message):
        demo.predict(handle_file(image_files[name]), "tiny-vit", api_name="/classify_image")
    label = demo.predict(handle_file(image_files["noise"]), "tiny-vit", api_name="/classify_image")
    assert len(label["confidences"]) == 3  # the demo still answers

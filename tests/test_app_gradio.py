"""The Gradio demo of the real app, through gradio_client (behind the /proxy sub-path)."""

from __future__ import annotations

import httpx
import pytest
from gradio_client import Client
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
    assert {"/classify", "/classify_submit", "/explain", "/model_card", "/model_card_change"} <= endpoints


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


@pytest.mark.parametrize(("text", "message"), [("   ", "Enter some text"), ("x" * 5001, "5,001 characters")])
def test_user_errors_are_shown_not_crashes(demo: Client, text: str, message: str) -> None:
    with pytest.raises(AppError, match=message):
        demo.predict(text, "bbc-news-minilm", api_name="/classify")

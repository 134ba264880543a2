"""The Gradio demo for the tasks beyond one label per text, through gradio_client against the real app: a multi-label
run (chips of the labels at or above their threshold, a threshold that overrides the tuned ones) and a text-pair
regression run (two text boxes, a number named after its target).

Tiny models trained 6 steps learn nothing: these tests check shapes and agreement with the library, not accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tp.models.loading import load_classifier

pytest_plugins = ["app_server"]

TEXT = "We need water and food in Leogane, the bridge is down."
PAIR = ("A man is playing a guitar.", "Someone plays an instrument.")


@pytest.fixture(scope="module")
def demo(launch_app, multi_label_run: Path, pair_regression_run: Path, tmp_path_factory: pytest.TempPathFactory):
    server = launch_app({"TP_MODELS": f"multi={multi_label_run},pairs={pair_regression_run}", "TP_BACKEND": "torch"},
                        tmp_path_factory.mktemp("gradio-tasks") / "server.log")
    yield Client(f"{server.url}/", verbose=False)
    server.stop()


def test_every_event_is_named(demo: Client) -> None:
    endpoints = set(demo.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/classify", "/classify_submit", "/classify_threshold", "/threshold_override", "/explain",
            "/model_inputs", "/model_inputs_change"} <= endpoints


def test_multi_label_marks_the_labels_at_or_above_their_tuned_thresholds(demo: Client,
                                                                         multi_label_run: Path) -> None:
    expected = load_classifier(multi_label_run).predict([TEXT])[0]
    scores, note = demo.predict(TEXT, "multi", api_name="/classify")  # the other inputs: their defaults
    assert len(scores["confidences"]) == 10 and scores["label"] == expected["label"]  # the best ten, shown
    chips = note.split("\n\n")[0]
    assert all(f"`{label}`" in chips for label in expected["labels"])
    table = [line for line in note.splitlines() if line.startswith("| ✓ |") or line.startswith("|  |")]
    marked = [line.split(" | ")[1] for line in table if line.startswith("| ✓ |")]
    assert len(table) == 12 and marked == [s["label"] for s in expected["scores"][:12] if s["score"] >= s["threshold"]]


@pytest.mark.parametrize(("threshold", "predicted"), [(0.0, 33), (1.0, 0)])
def test_a_threshold_overrides_the_tuned_ones(demo: Client, threshold: float, predicted: int) -> None:
    _, note = demo.predict(TEXT, "multi", "", False, threshold, api_name="/classify")
    chips = note.split("\n\n")[0]
    assert chips.count("`") == 2 * predicted
    if not predicted:
        assert "no label reaches its threshold" in chips
    assert f"| {threshold:.3f} |" in note
    assert demo.predict(api_name="/threshold_override") is False  # moving the slider turns the tuned ones off


def test_a_pair_model_takes_two_texts_and_answers_its_named_value(demo: Client, pair_regression_run: Path) -> None:
    value = load_classifier(pair_regression_run).predict([PAIR])[0]["value"]
    shown, note = demo.predict(PAIR[0], "pairs", PAIR[1], api_name="/classify")
    assert shown["label"] == f"score = {value:.3f}" and not shown.get("confidences")
    assert f"Predicted **score**: **{value:.3f}**" in note
    with pytest.raises(AppError, match="Enter the second text"):
        demo.predict(PAIR[0], "pairs", "  ", api_name="/classify")


def test_the_inputs_follow_the_model(demo: Client) -> None:
    # what each box shows is the page's business (e2e/tasks.test.mjs); through the API the event answers
    assert len(demo.predict("pairs", api_name="/model_inputs_change")) == 5
    summary, marked, tokens, logits = demo.predict(PAIR[0], "pairs", "gradient_x_input", PAIR[1],
                                                   api_name="/explain")
    assert summary.startswith("Predicted **score**: **")
    words = "".join(piece["token"] for piece in marked)
    assert words == f"{PAIR[0]}  ‖  {PAIR[1]}"  # both texts, split at token boundaries
    assert [row[1] for row in logits["data"]] == ["score"]
    summary, *_ = demo.predict(TEXT, "multi", "gradient_x_input", api_name="/explain")
    assert "sigmoid score" in summary


def test_the_examples_follow_the_model(demo: Client, multi_label_run: Path, pair_regression_run: Path) -> None:
    def examples(run: Path) -> list:
        return json.loads((run / "tp.json").read_text(encoding="utf-8"))["examples"]

    endpoints = set(demo.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert {"/model_examples", "/model_examples_change", "/classify_example", "/classify_example_pair",
            "/explain_example", "/explain_example_pair"} <= endpoints
    pairs = examples(pair_regression_run)
    texts, paired, *explain_sets = demo.predict("pairs", api_name="/model_examples_change")
    assert (texts["visible"], paired["visible"], paired["samples"]) == (False, True, pairs)
    assert explain_sets == [texts, paired]  # the pipeline tab's sets follow too
    assert demo.predict(1, api_name="/classify_example_pair") == tuple(pairs[1])  # both fields filled
    messages = examples(multi_label_run)
    texts, paired, *_ = demo.predict("multi", api_name="/model_examples_change")
    assert (texts["visible"], texts["samples"], paired["visible"]) == (True, [[text] for text in messages], False)
    assert demo.predict(0, api_name="/explain_example") == messages[0]


def test_the_card_compares_each_model_with_its_baselines_on_its_problems_scores(demo: Client) -> None:
    pairs = demo.predict("pairs", api_name="/model_baselines")
    assert "| model | RMSE (lower is better) | MAE | R² | Pearson |" in pairs
    assert "| mean: the training mean on every row (predicts `2.67" in pairs
    multi = demo.predict("multi", api_name="/model_baselines")
    assert "| model | micro-F1 | macro-F1 | exact-set accuracy |" in multi

"""What the demo's text tabs show for each problem: one label (softmax), any labels (a sigmoid score and a threshold
each), or a number (regression); and what they take: a text, or a text pair.

The answers are the REST API's (tp.serving.answers.read_rows), so the demo and POST /predict never disagree.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from tp.errors import InputError, TpError
from tp.serving.settings import ServerSettings
from tp.tasks import MULTI_LABEL, REGRESSION

SHOWN_ROWS = 12  # multi-label: the best labels in the table under the chips (every one is in the scores above)
DEFAULT_THRESHOLD = 0.5


def baseline_columns(baselines: dict[str, Any]) -> dict[str, str]:
    """The scores a model and its baselines are compared on, for their problem (read from the baselines' keys:
    regression baselines have an RMSE, multi-label ones a micro-F1), with their headings."""
    keys = {key for scores in baselines.values() if isinstance(scores, dict) for key in scores}
    if "rmse" in keys:
        return {"rmse": "RMSE (lower is better)", "mae": "MAE", "r2": "R²", "pearson": "Pearson"}
    if "micro_f1" in keys:
        return {"micro_f1": "micro-F1", "macro_f1": "macro-F1", "accuracy": "exact-set accuracy"}
    return {"accuracy": "accuracy", "macro_f1": "macro-F1"}


def served_model(registry: Any, name: str) -> Any:
    """The loaded model called `name`, or a gr.Error saying why not."""
    try:
        return registry.get(name)
    except TpError as error:
        raise gr.Error(str(error)) from None


def input_updates(registry: Any, name: str | None) -> tuple[Any, ...]:
    """The text tabs' inputs for a model: the second text of a pair model, the threshold of a multi-label one, the
    heading of the scores (a regression model names its value)."""
    served = registry.models.get(name) if name else None
    pairs = bool(served and served.pairs)
    multi = bool(served and served.problem is MULTI_LABEL)
    regression = bool(served and served.problem is REGRESSION)
    heading = f"Predicted {served.labels[0]}" if regression and served.labels else "Scores"
    return (gr.update(visible=pairs), gr.update(visible=multi), gr.update(visible=multi),
            gr.update(label=heading), gr.update(visible=pairs))


def user_item(text: Any, text_pair: Any, pairs: bool, settings: ServerSettings) -> str | tuple[str, str]:
    """The text (or the (text, text_pair) pair) a user typed, within the server's limits, or a gr.Error."""
    texts = [text, text_pair] if pairs else [text]
    for value, which in zip(texts, ("text", "second text"), strict=False):
        if not isinstance(value, str) or not value.strip():
            raise gr.Error(f"Enter the {which} to read." if pairs else "Enter some text to classify.")
    try:
        settings.check_texts(texts)
    except InputError as error:
        raise gr.Error(str(error).replace("`inputs` has", "The text has")
                       .replace("`inputs[1]` has", "The second text has")
                       .replace("`inputs[0]` has", "The text has")) from None
    return (text, text_pair) if pairs else text


def _truncated(served: Any) -> str:
    return (f"The text was longer than {served.max_tokens} tokens: the model read only the beginning."
            if not served.pairs else f"The pair was longer than {served.max_tokens} tokens: the model read only "
                                     "part of it.")


def multi_label_markdown(prediction: dict[str, Any]) -> str:
    """The labels at or above their threshold as chips, then the best labels' scores and thresholds (✓ marks the
    predicted ones)."""
    chips = " ".join(f"`{label}`" for label in prediction["labels"]) or "none: no label reaches its threshold"
    rows = [f"| {'✓' if s['score'] >= s['threshold'] else ''} | {s['label']} | {s['score']:.3f} | "
            f"{s['threshold']:.3f} |" for s in prediction["scores"][:SHOWN_ROWS]]
    return (f"**Predicted labels** (score at or above the threshold): {chips}\n\n"
            "| | label | score | threshold |\n|:-:|---|--:|--:|\n" + "\n".join(rows))


def shown_prediction(prediction: dict[str, Any], served: Any) -> tuple[Any, str]:
    """What the Label component and the note under it show for one answer of `served`'s problem."""
    note = _truncated(served) if prediction["truncated"] else ""
    if served.problem is REGRESSION:
        name = served.labels[0] if served.labels else "value"
        said = f"Predicted **{name}**: **{prediction['value']:.3f}** (in the units of the training targets)."
        return f"{name} = {prediction['value']:.3f}", "\n\n".join(part for part in (said, note) if part)
    scores = {s["label"]: s["score"] for s in prediction["scores"]}
    if served.problem is MULTI_LABEL:
        return scores, "\n\n".join(part for part in (multi_label_markdown(prediction), note) if part)
    return scores, note


def explain_summary(result: dict[str, Any], method: str, problem: Any) -> str:
    """The headline of an explanation: what was predicted, and what the attributions explain."""
    how = method.replace("_", " ")
    if problem is REGRESSION:
        return (f"Predicted **{result['label']}**: **{result['value']:.3f}**. Attributions explain that value "
                f"({how}); red pushed it up, blue down.")
    kind = "sigmoid score" if problem is MULTI_LABEL else ""
    score = f"{result['score']:.1%}{' ' + kind if kind else ''}"
    return (f"**{result['label']}** ({score}). Attributions explain the logit of **{result['target']}** ({how}); "
            "red pushed it up, blue down.")


def highlighted(texts: list[str], tokens: list[dict[str, Any]]) -> list[tuple[str, float | None]]:
    """Each text split at token boundaries, each token with its scaled attribution (for HighlightedText); the
    texts of a pair one after the other, with a separator."""
    pieces: list[tuple[str, float | None]] = []
    for segment, text in enumerate(texts):
        if segment:
            pieces.append(("  ‖  ", None))
        cursor = 0
        for token in tokens:
            if token["start"] is None or (token.get("segment") or 0) != segment:
                continue
            if token["start"] > cursor:
                pieces.append((text[cursor:token["start"]], None))
            pieces.append((text[token["start"]:token["end"]], round(token["attribution_scaled"], 3)))
            cursor = token["end"]
        if cursor < len(text):
            pieces.append((" [... not read: past the token limit]", None))
    return pieces

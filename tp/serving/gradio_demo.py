"""The Gradio demo: classify, look behind the pipeline, read the model card. Mounted at "/" by the app.

It calls the same registry (so the same micro-batcher and queue limit) as the REST API, and turns tp's
errors into `gr.Error` messages. Every event has an `api_name` for `gradio_client`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from tp.errors import TpError
from tp.serving.answers import read_rows
from tp.serving.gradio_examples import example_sets, example_updates
from tp.serving.gradio_images import image_model_names, image_tab
from tp.serving.gradio_tasks import (
    DEFAULT_THRESHOLD,
    baseline_columns,
    explain_summary,
    highlighted,
    input_updates,
    served_model,
    shown_prediction,
    user_item,
)
from tp.serving.registry import ModelRegistry
from tp.serving.settings import ServerSettings
from tp.tasks import MULTI_LABEL, TEXT

INTRO = ("Fine-tuned with **tp**. Classify a text, then see what the model does with it: tokens, logits, "
         "softmax and which tokens pushed the prediction. The same models answer the REST API under "
         "`/api/v1`: see the [OpenAPI docs](docs).")
IMAGE_INTRO = " The **Image** tab classifies an image and shows a heatmap of where the model looked."
TOKEN_HEADERS = ["#", "token", "id", "special", "attribution"]
LOGIT_HEADERS = ["id", "label", "logit", "probability"]


def _folder(registry: ModelRegistry, name: str) -> Path | None:
    if name in registry.models:
        return registry.models[name].folder
    spec = next((spec for spec in registry.specs if spec.name == name), None)
    return Path(spec.source) if spec is not None and spec.is_local else None


def model_card(registry: ModelRegistry, name: str) -> tuple[str, Any]:
    """The model card (README.md without its YAML header) and the confusion matrix image, if any."""
    folder = _folder(registry, name)
    if folder is None:
        return f"The card of **{name}** appears once the model has loaded.", None
    card = folder / "README.md"
    text = card.read_text(encoding="utf-8") if card.is_file() else f"**{name}** has no model card (README.md)."
    if text.startswith("---"):
        text = text.split("\n---", 2)[-1].lstrip("-\n")
    matrix = folder / "reports" / "confusion_matrix.png"
    if not matrix.is_file():
        return text, None
    from PIL import Image  # returned as an image, so Gradio never has to serve a file from the model folder

    with Image.open(matrix) as image:
        return text, image.copy()


def _skill(registry: ModelRegistry, name: str) -> tuple[dict[str, float], dict[str, Any], list[dict[str, str]]]:
    """(test metrics, baselines, warnings) of a model: the loaded one's, else its folder's metrics.json."""
    from tp.serving.served import read_metrics_file, scalar_metrics, skill_record

    if name in registry.models:
        served = registry.models[name]
        return served.metrics, served.baselines, served.warnings
    values = read_metrics_file(_folder(registry, name))
    return scalar_metrics(values), *skill_record(values)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def model_baselines(registry: ModelRegistry, name: str) -> str:
    """Above the card: a loud banner when the run learned nothing (a softer note when a linear baseline does
    better), then the model's test scores beside each baseline's; "" for runs that recorded neither."""
    from tp.evaluation.baselines import DESCRIPTIONS
    from tp.evaluation.skill_check import is_flagged, warning_lines

    metrics, baselines, warnings = _skill(registry, name)
    parts = []
    if warnings:
        head = ("## ⚠ Warning: this model has not learned its task" if is_flagged(warnings)
                else "### Note: a simple baseline does better than this model")
        parts.append("\n".join(f"> {line}" for line in [head, "", *(f"- {w}" for w in warning_lines(warnings))]))
    if baselines:
        columns = baseline_columns(baselines)  # the problem's scores: accuracy and macro-F1, micro-F1..., RMSE...
        rows = ["| model | " + " | ".join(columns.values()) + " |", "|---|" + "---:|" * len(columns),
                "| **this model** | " + " | ".join(_score(metrics.get(f"test_{key}")) for key in columns) + " |"]
        for baseline, scores in baselines.items():
            what = f"{baseline}: {scores.get('description') or DESCRIPTIONS.get(baseline, '')}"
            if scores.get("predicts") is not None:
                what += f" (predicts `{scores['predicts']}`)"
            what = what.replace("|", "\\|")  # a cell of the table
            rows.append(f"| {what} | " + " | ".join(_score(scores.get(key)) for key in columns) + " |")
        parts.append("### Compared with baselines on the same test split\n\n" + "\n".join(rows))
    return "\n\n".join(parts)


def build_demo(registry: ModelRegistry, settings: ServerSettings, jobs: Any = None) -> gr.Blocks:
    """The demo's Blocks; handlers close over `registry`, which loads models in the background. With `jobs` (a
    JobService: TP_TRAINING=true) the Train tab is added, and models its jobs serve join the model picker."""
    names = registry.names

    async def classify(text: str, name: str, text_pair: str | None = None, tuned: bool = True,
                       threshold: float = DEFAULT_THRESHOLD) -> tuple[Any, str]:
        """One text (or pair): the answer POST /predict gives, shown for the model's problem. A multi-label model
        uses its tuned thresholds unless `tuned` is off; then one `threshold` for every label."""
        served = served_model(registry, name)
        item = user_item(text, text_pair, served.pairs, settings)
        try:
            served, rows = await registry.classify(name, [item], pairs=served.pairs)
            override = None if tuned or served.problem is not MULTI_LABEL else float(threshold)
            (prediction,) = read_rows(rows, served.labels, served.problem, served.thresholds, override)
        except TpError as error:
            raise gr.Error(str(error)) from None
        return shown_prediction(prediction.model_dump(), served)

    async def explain(text: str, name: str, method: str, text_pair: str | None = None) -> tuple[Any, ...]:
        served = served_model(registry, name)
        item = user_item(text, text_pair, served.pairs, settings)
        try:
            served.check_kind(False, served.pairs)
            result = await served.explain(item, method, 16, None)
        except TpError as error:
            raise gr.Error(str(error)) from None
        tokens = [[t["index"], t["token"], t["id"], t["special"], round(t["attribution"], 4)]
                  for t in result["tokens"]]
        logits = [[i, served.labels[i], round(logit, 4), round(p, 4)]
                  for i, (logit, p) in enumerate(zip(result["logits"], result["probabilities"], strict=True))]
        texts = list(item) if served.pairs else [item]
        return explain_summary(result, method, served.problem), highlighted(texts, result["tokens"]), tokens, logits

    def adapt(name: str) -> tuple[Any, ...]:
        return input_updates(registry, name)

    def examples_of(name: str) -> tuple[Any, ...]:
        return 2 * example_updates(registry, name)  # the Classify tab's two sets, then the pipeline tab's

    def card(name: str) -> tuple[str, Any]:
        return model_card(registry, name)

    def baselines(name: str) -> str:
        return model_baselines(registry, name)

    image_models = image_model_names(registry)
    text_models = [name for name in names if name not in image_models]
    first = text_models[0] if text_models else registry.default  # the text tabs' model
    shown = registry.models.get(first)  # what the text tabs take and show at first; `adapt` follows the picker
    pairs = bool(shown and shown.pairs)
    multi = bool(shown and shown.problem is MULTI_LABEL)
    title = "tp: text and image classification" if image_models else "tp: text classification"
    with gr.Blocks(title=title, analytics_enabled=False) as demo:
        gr.Markdown(f"# {title}\n" + INTRO + (IMAGE_INTRO if image_models else ""))
        # with training on, a served job's model joins the choices (the registry checks every name it is given)
        model = gr.Dropdown(names, value=first, label="Model", visible=len(names) > 1,
                            allow_custom_value=jobs is not None)
        with gr.Tab("Classify", visible=bool(text_models)):
            text = gr.Textbox(lines=6, label="Text", placeholder="Paste a news article...")
            text_pair = gr.Textbox(lines=3, label="Second text (text_pair)", visible=pairs,
                                   placeholder="The text the first one is compared with...")
            with gr.Row(equal_height=True):
                tuned = gr.Checkbox(True, label="Use the run's tuned thresholds (one per label)", visible=multi)
                threshold = gr.Slider(0, 1, value=DEFAULT_THRESHOLD, step=0.01, visible=multi,
                                      label="Threshold for every label (moving it turns the tuned ones off)")
            run = gr.Button("Classify", variant="primary")
            label = gr.Label(num_top_classes=10, label="Scores")
            note = gr.Markdown(elem_id="classify-note")
            # the picked model's examples, a pair in two fields (they follow the picker, as the boxes do)
            examples = example_sets(registry, first, text, text_pair, "classify")
            asked = [text, model, text_pair, tuned, threshold]
            run.click(classify, asked, [label, note], api_name="classify", concurrency_limit=None)
            text.submit(classify, asked, [label, note], api_name="classify_submit", concurrency_limit=None)
            # moving the slider means "use this threshold": the tuned ones go off, and the answer follows
            threshold.release(lambda: False, None, [tuned], api_name="threshold_override").then(
                classify, asked, [label, note], api_name="classify_threshold", concurrency_limit=None)
        with gr.Tab("Behind the pipeline", visible=bool(text_models)):
            gr.Markdown("Tokenizer -> token ids -> model -> logits -> softmax (multi-label: a sigmoid per label; "
                        "regression: the value itself) -> prediction. The attribution of a token says how much it "
                        "pushed the explained logit.")
            explain_text = gr.Textbox(lines=4, label="Text")
            explain_pair = gr.Textbox(lines=2, label="Second text (text_pair)", visible=pairs)
            method = gr.Radio(list(TEXT.explain_methods), value=TEXT.default_explain_method,
                              label="Attribution method")
            explain_button = gr.Button("Explain", variant="primary")
            examples += example_sets(registry, first, explain_text, explain_pair, "explain")
            summary = gr.Markdown()
            marked = gr.HighlightedText(label="Tokens coloured by attribution", show_legend=False)
            with gr.Row():
                token_table = gr.Dataframe(headers=TOKEN_HEADERS, label="Tokens", interactive=False)
                logit_table = gr.Dataframe(headers=LOGIT_HEADERS, label="Logits and softmax", interactive=False)
            explain_button.click(explain, [explain_text, model, method, explain_pair],
                                 [summary, marked, token_table, logit_table], api_name="explain",
                                 concurrency_limit=None)
        image_model = image_tab(registry, settings, image_models, jobs is not None) if image_models else None
        with gr.Tab("Model card"):
            skill = gr.Markdown()  # first: a model that learned nothing says so before anything else
            matrix = gr.Image(label="Confusion matrix (test split)", type="pil", interactive=False)
            card_text = gr.Markdown()
        if jobs is not None:
            from tp.serving.gradio_train import train_tab

            pickers = [(model, lambda: list(registry.names))]  # the text tabs' and the card's picker: every model
            if image_model is not None:  # without an image model at start there is no Image tab to join
                pickers.append((image_model, lambda: image_model_names(registry)))
            train_tab(jobs, demo, pickers)
        adapted = [text_pair, tuned, threshold, label, explain_pair]
        demo.load(adapt, [model], adapted, api_name="model_inputs")
        model.change(adapt, [model], adapted, api_name="model_inputs_change")
        # their own events, so /model_inputs answers its five updates as it always did
        demo.load(examples_of, [model], examples, api_name="model_examples")
        model.change(examples_of, [model], examples, api_name="model_examples_change")
        demo.load(card, [model], [card_text, matrix], api_name="model_card")
        model.change(card, [model], [card_text, matrix], api_name="model_card_change")
        # its own events, so /model_card answers (card, matrix) as it always did
        demo.load(baselines, [model], [skill], api_name="model_baselines")
        model.change(baselines, [model], [skill], api_name="model_baselines_change")
    return demo

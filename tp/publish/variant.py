"""Assemble the Hub repository of one compressed variant (`RUN_DIR/variants/<name>/`), gate first.

A variant's repository holds the variant folder as it is (variant.json with the gate's verdict and the
measurements, tp.json, the weights in the method's format, the tokenizer), the run's metrics and recipe,
and a card whose model-index reports the *variant's* scores on the run's test split. Its report image is
drawn from the variant's own measurements (confusion matrix, per-label scores); a regression variant has none
(the lab keeps no predictions, and the run's predicted-against-true plot shows fp32), so its card links none.
A variant that the gate rejected is refused unless forced; forced, its card says so at the top.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tp.errors import PublishError
from tp.publish.card_problems import METRICS, REPORT_IMAGES, pipeline_options, problem_of
from tp.publish.run import RUN_FILES, check_skill, compression_section, read_run, validate_card
from tp.tasks import IMAGE, MULTI_LABEL, SINGLE_LABEL

ONNX_USAGE = """The variant is an ONNX graph (int8 weights) with its tokenizer: stock ONNX Runtime and transformers
run it, no tp needed (`pip install onnxruntime transformers huggingface_hub`):

```python
import numpy as np
import onnxruntime
from huggingface_hub import snapshot_download
from transformers import AutoConfig, AutoTokenizer

folder = snapshot_download("{repo}")
tokenizer = AutoTokenizer.from_pretrained(folder)
session = onnxruntime.InferenceSession(f"{{folder}}/model.onnx", providers=["CPUExecutionProvider"])
batch = tokenizer([{example!r}], truncation=True, max_length={max_length}, return_tensors="np")
wanted = {{graph_input.name for graph_input in session.get_inputs()}}
logits = session.run(None, {{name: value for name, value in batch.items() if name in wanted}})[0]
print(AutoConfig.from_pretrained(folder).id2label[int(np.argmax(logits[0]))])
```
{cut}
The full-precision model this variant was made from loads with stock `transformers.pipeline`."""

PIPELINE_USAGE = """This variant ({method}) is a plain transformers model of the original architecture (fewer layers, or
a shorter input): stock `pipeline` loads it, no tp needed:

```python
from transformers import pipeline

classifier = pipeline("{task}", model="{repo}"{options})
print(classifier({inputs}{cut}))
```"""
PLAIN_METHODS = ("distill", "prune-layers", "max-length")  # variants saved as ordinary transformers folders

TP_USAGE = """This variant is stored in tp's own format (`variant.json`: {method}), which only tp loads. tp is not on
PyPI: install it from its source repository (in a clone, `pip install -r requirements.txt -e .`), then:

```python
{pil}from huggingface_hub import snapshot_download
from tp.models.loading import load_classifier

classifier = load_classifier(snapshot_download("{repo}"))
print(classifier.predict({inputs}))
```

The full-precision model this variant was made from loads with stock `transformers.pipeline`, no tp needed."""


def usage_example(info: dict[str, Any]) -> Any:
    """The card's example input: a text's first words, or a pair `{"text", "text_pair"}` of them."""
    example = (info.get("examples") or ["An example text."])[0]
    if isinstance(example, list):
        return {"text": example[0][:120], "text_pair": example[1][:120]}
    return example[:120].rsplit(" ", 1)[0]


def usage_section(method: str, repo: str, example: Any, info: dict[str, Any]) -> str:
    """How a Hub user runs this variant: stock ONNX Runtime for a text model's ONNX graph (one label per text;
    the snippet reads the top label), stock pipeline for a plain folder, else tp."""
    max_length, truncation = int(info.get("max_length") or 256), info.get("truncation", "head")
    one_text = problem_of(info) is SINGLE_LABEL and not info.get("text_pair")
    if method == "onnx-int8" and info.get("task") != IMAGE.name and one_text:
        cut = ("\nThe model was trained on long texts cut to their first and last tokens (head_tail); the tokenizer "
               "call above keeps the first ones only: tp cuts them as training did.\n" if truncation == "head_tail"
               else "")
        return ONNX_USAGE.format(repo=repo, example=example, max_length=max_length, cut=cut)
    image = info.get("task") == IMAGE.name
    if method in PLAIN_METHODS:
        return PIPELINE_USAGE.format(method=method, task=info.get("task", "text-classification"),
                                     repo=repo, inputs=f"{example!r}", options=pipeline_options(info),
                                     cut="" if image else f", truncation=True, max_length={max_length}")
    if isinstance(example, dict):  # a pair model's classifier takes (text, text_pair) tuples
        inputs = f"[{(example['text'], example['text_pair'])!r}]"
    else:
        inputs = f"[Image.open({example!r})]" if image else f"[{example!r}]"
    return TP_USAGE.format(repo=repo, method=method, pil="from PIL import Image\n" if image else "", inputs=inputs)


def variant_folder(run_dir: Path, name: str) -> Path:
    """`RUN_DIR/variants/<name>`, or a PublishError listing the variants the run has."""
    from tp.compression.variants import is_variant_folder

    folder = Path(run_dir) / "variants" / name
    if not is_variant_folder(folder):
        built = sorted(p.name for p in (Path(run_dir) / "variants").glob("*") if is_variant_folder(p))
        hint = f"its variants are: {', '.join(built)}" if built else "it has none: run tp optimize first"
        raise PublishError(f"{run_dir} has no variant {name!r}; {hint}.")
    return folder


def _measured(record: dict[str, Any], labels: list[str], problem_type: str) -> dict[str, Any]:
    """The variant's test metrics: rebuilt from its confusion matrix (one label), else as the lab measured them."""
    from tp.evaluation.metrics import classification_metrics

    measured = record["measurements"]
    if "confusion_matrix" in measured:
        matrix = measured["confusion_matrix"]
        y_true = [i for i, row in enumerate(matrix) for j, count in enumerate(row) for _ in range(count)]
        y_pred = [j for row in matrix for j, count in enumerate(row) for _ in range(count)]
        return classification_metrics(y_true, y_pred, labels)
    missing = [key for key, *_ in METRICS[problem_type] if key not in measured]
    if missing:
        raise PublishError(f"The variant's measurements lack {', '.join(missing)}: re-run tp optimize on its run.")
    keys = [key for key, *_ in METRICS[problem_type]] + ["per_class"] * ("per_class" in measured)
    return {f"test_{key}": measured[key] for key in keys} | {"test_size": measured.get("test_size")}


def variant_metrics(run_metrics: dict[str, Any], record: dict[str, Any], labels: list[str]) -> dict[str, Any]:
    """The run's metrics with the test figures replaced by the variant's (one label: rebuilt from its confusion
    matrix), and the variant judged against the run's baselines in its own right."""
    from tp.evaluation.skill_check import skill_warnings

    problem_type = run_metrics.get("problem_type") or SINGLE_LABEL.name
    metrics = {**run_metrics, **_measured(record, labels, problem_type)}
    if metrics.get("baselines"):
        metrics["warnings"] = skill_warnings(metrics, metrics["baselines"], labels)
    return metrics


def _own_report_image(metrics: dict[str, Any], info: dict[str, Any], staging: Path, variant: str) -> bool:
    """Draw the variant's own report image where its measurements allow; whether the card may link it."""
    from tp.evaluation.reports import plot_confusion_matrix, plot_label_scores

    reports = staging / "reports"
    if "test_confusion_matrix" in metrics:
        plot_confusion_matrix(metrics["test_confusion_matrix"], list(info["labels"]),
                              reports / "confusion_matrix.png", f"{variant}: test split")
    elif problem_of(info) is MULTI_LABEL and "test_per_class" in metrics:
        plot_label_scores(metrics["test_per_class"], reports / "label_scores.png",
                          f"{variant}: test micro-F1 {metrics['test_micro_f1']:.3f}")
    return (staging / REPORT_IMAGES[problem_of(info).name][1]).is_file()


def _section(record: dict[str, Any], run_name: str) -> str:
    from tp.compression.gate_metric import metric_named

    gate, m = record.get("gate") or {}, record["measurements"]
    metric = metric_named(gate.get("metric"))
    drop, allowed = gate.get("drop", gate.get("accuracy_drop_points", "?")), \
        gate.get("max_drop", gate.get("max_drop_points", "?"))
    unit = "%" if metric.relative else " points"
    warning = ""
    if record.get("status") != "accepted":
        lost = f"its test {metric.title} grew {drop}%" if metric.relative else f"it lost {drop} {metric.title} points"
        warning = (f"\n> **Warning: tp's accuracy gate {record.get('status')} this variant**: {lost} against its "
                   f"fp32 baseline (allowed: {allowed}{unit}). It was published with --force.\n")
    baseline = gate.get("baseline", gate.get("baseline_accuracy", float("nan")))
    size = f"{m['size_bytes'] / 1e6:.1f} MB" if m.get("size_bytes") else "?"
    details = "; ".join(f"{key}: {value}" for key, value in (record.get("details") or {}).items()) or "-"
    return f"""
## Compressed variant `{record['label']}`
{warning}
This repository holds the `{record['method']}` variant of `{run_name}`, made by `tp optimize`
and measured on the same test texts as its fp32 baseline:

| | this variant | fp32 baseline |
|---|---|---|
| test {metric.title} | {m[metric.key]:.4f} | {baseline:.4f} |
| accuracy gate | {record.get('status')} (drop {drop}{unit}, allowed {allowed}{unit}) | |
| weights | {size} | |
| batch-1 latency p50 (CPU) | {m.get('latency_p50_ms', '?')} ms | |

Method details: {details}.
"""


def assemble_variant_repo(run_dir: Path, variant: str, dest: Path, repo_id: str | None = None,
                          license: str = "apache-2.0", force: bool = False) -> list[str]:
    """Write the files of variant `variant` of `run_dir` into `dest` (atomically); returns their paths.

    Raises RejectedVariantError when its gate did not accept it and `force` is False.
    """
    from tp.compression.variants import check_variant
    from tp.files import staged_folder, write_json
    from tp.publish.card import render_card

    run_dir = Path(run_dir)
    run_metrics, info = read_run(run_dir)
    folder = variant_folder(run_dir, variant)
    record = check_variant(folder, force)  # the gate, before anything is written
    if "measurements" not in record:
        raise PublishError(f"Variant {variant} has no measurements: re-run tp optimize on {run_dir}.")
    metrics = variant_metrics(run_metrics, record, list(info["labels"]))
    check_skill(metrics, folder, force)
    with staged_folder(Path(dest)) as staging:
        shutil.copytree(folder, staging, dirs_exist_ok=True)
        for name in RUN_FILES:
            if name != "tp.json" and (run_dir / name).is_file():  # the variant's tp.json names the variant
                shutil.copy2(run_dir / name, staging / name)
        write_json(staging / "metrics.json", metrics)
        for report in ("compression.md", "compression.png", "training_curves.png", "search.png"):
            if (run_dir / "reports" / report).is_file():
                (staging / "reports").mkdir(exist_ok=True)
                shutil.copy2(run_dir / "reports" / report, staging / "reports" / report)
        own_image = _own_report_image(metrics, info, staging, variant)
        card_info = {**info, "name": f"{info['name']}-{variant}", "license": license,
                     "tags": ["compressed", record["method"]] + ([] if record.get("status") == "accepted"
                                                                 else ["rejected-by-accuracy-gate"])}
        usage = usage_section(record["method"], repo_id or "OWNER/NAME", usage_example(info), info)
        compared = compression_section(run_dir, "All variants measured")
        card = render_card(metrics, card_info, repo_id=repo_id, usage=usage, report_image=own_image,
                           extra_sections=_section(record, info["name"]) + compared)
        validate_card(card, metrics)
        (staging / "README.md").write_text(card, encoding="utf-8")
    return sorted(str(p.relative_to(dest)) for p in Path(dest).rglob("*") if p.is_file())

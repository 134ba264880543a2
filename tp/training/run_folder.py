"""Write a run folder atomically: everything goes to a temporary folder, renamed at the end.

Layout: adapter/ (LoRA), model/ (merged safetensors + tokenizer or image processor, loadable by stock
`pipeline`), examples/ (image runs: one test image per label),
tp.json (what tp needs to reload it), metrics.json, config.yaml, data_split.json,
reports/confusion_matrix.png, reports/training_curves.png and README.md (the model card).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tp.evaluation.reports import (
    plot_confusion_matrix,
    plot_label_scores,
    plot_regression_scatter,
    plot_training_curves,
)
from tp.files import write_json
from tp.models.classifier import RUN_FILE, merge_adapter
from tp.publish.card import render_card
from tp.tasks import IMAGE, MULTI_LABEL, REGRESSION


def make_portable(adapter_dir: Path, base_name: str) -> None:
    """peft records the base as the absolute path it was loaded from; record the portable name."""
    path = adapter_dir / "adapter_config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = base_name
    write_json(path, config)
    (adapter_dir / "README.md").unlink(missing_ok=True)  # peft's empty template, naming the local path


def save_trained_model(out: Path, model: Any, tokenizer: Any, info: dict[str, Any]) -> Any:
    """Save adapter/ (LoRA) and model/ (merged, fp32) with the tokenizer or image processor; return the merged model."""
    if info["method"] == "lora":
        model.save_pretrained(out / "adapter")
        make_portable(out / "adapter", info["base_model"])
        # merge onto a fresh fp32 base: works for 8-bit bases too, and proves the head was saved
        merged = merge_adapter(out / "adapter", info["base_model"], info["labels"],
                               image=info["task"] == IMAGE.name, problem_type=info.get("problem_type"))
    else:
        merged = model
    merged.name_or_path = info["base_model"]
    merged.save_pretrained(out / "model")
    tokenizer.save_pretrained(out / "model")
    return merged


def merge_parity(trained: Any, merged: Any, batch: dict[str, Any]) -> float:
    """Largest logit difference between the trained model and the saved merged one on `batch` (model inputs)."""
    import torch

    trained.eval()
    merged.eval()
    with torch.inference_mode():
        device = next(trained.parameters()).device
        a = trained(**{k: v.to(device) for k, v in batch.items()}).logits.float().cpu()
        b = merged(**batch).logits.float()
    return float((a - b).abs().max())


def plot_test_results(out: Path, metrics: dict[str, Any], info: dict[str, Any], outputs: dict[str, Any]) -> Path:
    """The test split's picture for the problem: confusion matrix, per-label scores, or predicted against true."""
    problem = info.get("problem_type")
    if problem == MULTI_LABEL.name:
        return plot_label_scores(metrics["test_per_class"], out / "reports" / "label_scores.png",
                                 f"{info['name']}: test micro-F1 {metrics['test_micro_f1']:.3f}")
    if problem == REGRESSION.name:
        return plot_regression_scatter(list(outputs["true"]), outputs["logits"].reshape(-1).tolist(),
                                       out / "reports" / "predicted_vs_true.png",
                                       f"{info['name']}: test RMSE {metrics['test_rmse']:.3f}, "
                                       f"Spearman {metrics['test_spearman']:.3f}")
    return plot_confusion_matrix(metrics["test_confusion_matrix"], info["labels"],
                                 out / "reports" / "confusion_matrix.png",
                                 f"{info['name']}: test accuracy {metrics['test_accuracy']:.3f}")


def write_reports_and_card(out: Path, metrics: dict[str, Any], info: dict[str, Any],
                           log_history: list[dict[str, Any]], outputs: dict[str, Any] | None = None) -> None:
    """metrics.json, tp.json, the report images and README.md."""
    write_json(out / "metrics.json", metrics)
    write_json(out / RUN_FILE, info)
    plot_test_results(out, metrics, info, outputs or {})
    if log_history:
        write_json(out / "reports" / "training_log.json", log_history)
        plot_training_curves(log_history, out / "reports" / "training_curves.png")
    (out / "README.md").write_text(render_card(metrics, info), encoding="utf-8")


def write_recipe(out: Path, recipe: dict[str, Any], data_record: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    write_json(out / "data_split.json", data_record)

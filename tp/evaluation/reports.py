"""Report images: the confusion matrix (multi-label: per-label scores; regression: predicted against true) and
the training curves (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only; never open a window
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path) -> Path:
    """Lay `fig` out, write it to `path` (its folder made if need be) as a PNG, and free it."""
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    pyplot().close(fig)
    return path


def plot_confusion_matrix(matrix: list[list[int]], labels: list[str], path: Path, title: str) -> Path:
    """A labelled confusion matrix with counts in each cell."""
    plt = pyplot()
    size = max(4.0, 0.6 * len(labels) + 2.5)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    peak = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            ax.text(j, i, str(count), ha="center", va="center",
                    color="white" if count > peak / 2 else "black")
    return save_figure(fig, path)


def plot_training_curves(log_history: list[dict[str, Any]], path: Path) -> Path:
    """Training loss per logged step, validation loss, accuracy and macro-F1 per evaluation."""
    plt = pyplot()
    train = [(e["step"], e["loss"]) for e in log_history if "loss" in e]
    evals = [(e["step"], e["eval_loss"], e.get("eval_accuracy")) for e in log_history if "eval_loss" in e]
    f1 = [(e["step"], e["eval_macro_f1"]) for e in log_history if "eval_macro_f1" in e]
    if not any(e.get("eval_accuracy") is not None for e in log_history):  # regression: its correlation instead
        evals = [(e["step"], e["eval_loss"], e.get("eval_spearman")) for e in log_history if "eval_loss" in e]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    if train:
        left.plot(*zip(*train, strict=True), label="train loss")
    if evals:
        left.plot([s for s, _, _ in evals], [v for _, v, _ in evals], "o-", label="validation loss")
        right.plot([s for s, _, _ in evals], [a for _, _, a in evals], "o-", color="green", label="accuracy")
    if f1:
        right.plot(*zip(*f1, strict=True), "s-", color="purple", label="macro-F1")
        right.legend()
    left.set_xlabel("step")
    left.set_title("loss")
    left.legend()
    right.set_xlabel("step")
    right.set_title("validation accuracy and macro-F1")
    return save_figure(fig, path)


def plot_label_scores(per_label: dict[str, dict[str, float]], path: Path, title: str) -> Path:
    """Per label: precision, recall and F1 as grouped bars, with each label's test support in its name."""
    import numpy as np

    plt = pyplot()
    names = list(per_label)
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(names) + 2), 4.5))
    for offset, key in zip((-0.27, 0, 0.27), ("precision", "recall", "f1"), strict=True):
        ax.bar(x + offset, [per_label[name][key] for name in names], width=0.27, label=key)
    ax.set_xticks(x, [f"{name} ({per_label[name]['support']})" for name in names], rotation=60, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("score on the test split")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)


def plot_regression_scatter(true: list[float], predicted: list[float], path: Path, title: str) -> Path:
    """Predicted against true values, with the diagonal a perfect model would lie on."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(true, predicted, s=8, alpha=0.5)
    low, high = min(min(true), min(predicted)), max(max(true), max(predicted))
    ax.plot([low, high], [low, high], "k--", linewidth=1, label="predicted = true")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)

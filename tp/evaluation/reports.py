"""Report images: the confusion matrix and the training curves (matplotlib, no display needed)."""

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

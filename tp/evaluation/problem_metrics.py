"""Scores for every problem, from logits: single-label, multi-label (per-label thresholds) and regression.

`score_outputs` is the one entry point: training, `tp evaluate`, the compression lab and the baselines' report
all turn a model's outputs into metrics through it, named `<prefix>_<metric>` as metrics.json records them.
- multi-label: micro- and macro-F1, per-label precision/recall/F1/support, subset accuracy (`accuracy`: every
  label of a row right) and Hamming loss;
- regression: MAE, RMSE, R², Pearson and Spearman correlations.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tp.models.outputs import DEFAULT_THRESHOLD, sigmoid
from tp.tasks import MULTI_LABEL, REGRESSION, Problem


def multi_label_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str],
                        prefix: str = "test") -> dict[str, Any]:
    """Micro/macro-F1, subset accuracy, Hamming loss and per-label scores of multi-hot predictions."""
    from sklearn.metrics import accuracy_score, f1_score, hamming_loss, precision_recall_fscore_support

    y_true, y_pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    return {
        f"{prefix}_micro_f1": float(f1_score(y_true, y_pred, average="micro", zero_division=0)),
        f"{prefix}_macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        f"{prefix}_accuracy": float(accuracy_score(y_true, y_pred)),  # subset accuracy: the whole label set right
        f"{prefix}_hamming_loss": float(hamming_loss(y_true, y_pred)),
        f"{prefix}_size": len(y_true),
        f"{prefix}_per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i]), "predicted": int(y_pred[:, i].sum())} for i, name in enumerate(labels)},
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, prefix: str = "test") -> dict[str, Any]:
    """MAE, RMSE, R², Pearson and Spearman of predicted numbers (correlations are 0 for a constant)."""
    from scipy.stats import pearsonr, spearmanr
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    y_true, y_pred = np.asarray(y_true, dtype=float).ravel(), np.asarray(y_pred, dtype=float).ravel()
    constant = np.ptp(y_pred) == 0 or np.ptp(y_true) == 0
    return {
        f"{prefix}_mae": float(mean_absolute_error(y_true, y_pred)),
        f"{prefix}_rmse": float(np.sqrt(mean_squared_error(y_true, y_pred))),
        f"{prefix}_r2": float(r2_score(y_true, y_pred)) if len(y_true) > 1 else 0.0,
        f"{prefix}_pearson": 0.0 if constant else float(pearsonr(y_true, y_pred)[0]),
        f"{prefix}_spearman": 0.0 if constant else float(spearmanr(y_true, y_pred)[0]),
        f"{prefix}_prediction_std": float(y_pred.std()), f"{prefix}_target_std": float(y_true.std()),
        f"{prefix}_size": len(y_true),
    }


def multi_hot(logits: np.ndarray, thresholds: list[float] | None) -> np.ndarray:
    """Which labels each row predicts: its sigmoid score at or above the label's threshold."""
    limits = np.asarray(thresholds if thresholds is not None else [DEFAULT_THRESHOLD] * logits.shape[1])
    return (sigmoid(logits) >= limits).astype(int)


def score_outputs(problem: Problem, y_true: list[Any], logits: np.ndarray, labels: list[str],
                  thresholds: list[float] | None = None, prefix: str = "test") -> dict[str, Any]:
    """The metrics of `problem` for model outputs (logits; regression: values in the targets' units)."""
    from tp.evaluation.metrics import classification_metrics

    logits = np.asarray(logits, dtype=float)
    if problem is MULTI_LABEL:
        return multi_label_metrics(np.asarray(y_true), multi_hot(logits, thresholds), labels, prefix)
    if problem is REGRESSION:
        return regression_metrics(np.asarray(y_true), logits.reshape(len(logits), -1)[:, 0], prefix)
    return classification_metrics(list(y_true), logits.argmax(-1).tolist(), labels, prefix)


def tune_thresholds(y_true: np.ndarray, logits: np.ndarray) -> list[float]:
    """Per label, the decision threshold that maximises its F1 on these (validation) rows; 0.5 when it never occurs.

    Candidates are 0.05 ... 0.95; ties go to the threshold closest to 0.5, so a label rarely seen keeps a
    cautious default.
    """
    from sklearn.metrics import f1_score

    y_true, scores = np.asarray(y_true, dtype=int), sigmoid(np.asarray(logits, dtype=float))
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2)
    chosen = []
    for j in range(y_true.shape[1]):
        if not y_true[:, j].any():
            chosen.append(DEFAULT_THRESHOLD)
            continue
        f1s = [f1_score(y_true[:, j], scores[:, j] >= t, zero_division=0) for t in grid]
        best = max(f1s)
        chosen.append(float(min((t for t, f in zip(grid, f1s, strict=True) if f == best),
                                key=lambda t: abs(t - DEFAULT_THRESHOLD))))
    return chosen


def main_score(metrics: dict[str, Any], problem: Problem, prefix: str = "test") -> float:
    """The problem's main metric (macro-F1, micro-F1 or RMSE) from a metrics mapping."""
    return float(metrics[f"{prefix}_{problem.main_metric}"])

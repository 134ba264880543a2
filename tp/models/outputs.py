"""Logits -> what a user reads, per problem: one label with probabilities, the labels above their thresholds with
every label's sigmoid score, or a number. Every classifier, the batcher and `tp predict` read outputs here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tp.tasks import MULTI_LABEL, REGRESSION, Problem

if TYPE_CHECKING:
    import numpy as np

DEFAULT_THRESHOLD = 0.5


def sigmoid(logits: np.ndarray) -> np.ndarray:
    import numpy as np

    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


def ranked_scores(logits: np.ndarray, labels: list[str]) -> list[dict[str, Any]]:
    """Per row of logits: the top label, its probability and all labels with probabilities, best first."""
    import numpy as np

    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    results = []
    for row in probs:
        ranked = sorted(zip(labels, row.tolist(), strict=True), key=lambda p: -p[1])
        results.append({"label": ranked[0][0], "score": ranked[0][1],
                        "scores": [{"label": name, "score": score} for name, score in ranked]})
    return results


def multi_label_scores(logits: np.ndarray, labels: list[str], thresholds: list[float] | None = None,
                       threshold: float | None = None) -> list[dict[str, Any]]:
    """Per row: the labels whose sigmoid score reaches their threshold (`threshold` overrides every label's),
    every label's score and threshold best first, and the top label with its score."""
    scores = sigmoid(logits)
    limits = [threshold] * len(labels) if threshold is not None else (thresholds or [DEFAULT_THRESHOLD] * len(labels))
    results = []
    for row in scores.tolist():
        ranked = sorted(zip(labels, row, limits, strict=True), key=lambda p: -p[1])
        results.append({"labels": [name for name, score, limit in ranked if score >= limit],
                        "label": ranked[0][0], "score": ranked[0][1],
                        "scores": [{"label": name, "score": score, "threshold": limit}
                                   for name, score, limit in ranked]})
    return results


def read_outputs(logits: np.ndarray, labels: list[str], problem: Problem, thresholds: list[float] | None = None,
                 threshold: float | None = None) -> list[dict[str, Any]]:
    """The answer for each row of logits, in the problem's shape."""
    if problem is MULTI_LABEL:
        return multi_label_scores(logits, labels, thresholds, threshold)
    if problem is REGRESSION:
        return [{"value": float(row[0])} for row in logits.reshape(len(logits), -1).tolist()]
    return ranked_scores(logits, labels)

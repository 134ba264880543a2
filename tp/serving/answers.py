"""A served model's rows of scores -> what POST /predict answers, in its problem's shape.

The batcher returns each input's logits; the request's own options (`top_k`, multi-label `threshold`) are applied
here, per request, after the shared forward pass: one request's threshold never reaches another's rows. Logits are
read by tp.models.outputs.read_outputs, as `load_classifier(...).predict` and `tp predict` read them, whether torch
or ONNX Runtime computed them.
"""

from __future__ import annotations

from typing import Any

from tp.errors import InputError
from tp.serving.inference import Scores, ranked_labels
from tp.serving.prediction_schemas import (
    LabelScore,
    LabelThresholdScore,
    MultiLabelPrediction,
    Prediction,
    RegressionPrediction,
)
from tp.tasks import MULTI_LABEL, REGRESSION, SINGLE_LABEL, Problem


def check_options(name: str, problem: Problem, threshold: float | None, top_k: int | None) -> None:
    """InputError when a request asks a model for an option its problem does not have."""
    if threshold is not None and problem is not MULTI_LABEL:
        raise InputError(f"`threshold` is for multi-label models; model {name!r} is {problem.name}: leave "
                         "`threshold` out (GET /api/v1/models gives each model's problem_type).")
    if top_k is not None and problem is REGRESSION:
        raise InputError(f"`top_k` is for classifiers; model {name!r} is a regression model and answers one "
                         "`value`: leave `top_k` out.")


def single_label(labels: list[str], scores: Scores, top_k: int | None) -> Prediction:
    ranked = ranked_labels(labels, scores.probabilities, top_k)
    return Prediction(label=ranked[0][0], score=ranked[0][1], truncated=scores.truncated,
                      scores=[LabelScore(label=label, score=score) for label, score in ranked])


def read_rows(rows: list[Scores], labels: list[str], problem: Problem, thresholds: list[float] | None = None,
              threshold: float | None = None, top_k: int | None = None) -> list[Any]:
    """One Prediction, MultiLabelPrediction or RegressionPrediction per row, as `problem` reads logits."""
    if problem is SINGLE_LABEL:  # the probabilities the forward pass computed, as before (byte for byte)
        return [single_label(labels, row, top_k) for row in rows]
    import numpy as np

    from tp.models.outputs import read_outputs

    outputs = read_outputs(np.asarray([row.logits for row in rows], dtype=np.float32), labels, problem,
                           thresholds, threshold)
    if problem is REGRESSION:
        return [RegressionPrediction(value=out["value"], truncated=row.truncated) for out, row in zip(
            outputs, rows, strict=True)]
    return [MultiLabelPrediction(labels=out["labels"], label=out["label"], score=out["score"],
                                 scores=[LabelThresholdScore(**item) for item in out["scores"][:top_k]],
                                 truncated=row.truncated)
            for out, row in zip(outputs, rows, strict=True)]

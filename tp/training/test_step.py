"""After training: score the kept checkpoint on the test split, the way the problem reads its outputs.

Multi-label runs tune one decision threshold per label on the validation split first (never on test); regression
runs are scored in the targets' own units, and their head is then rescaled so that the saved model outputs them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tp.evaluation.problem_metrics import score_outputs, tune_thresholds
from tp.tasks import MULTI_LABEL
from tp.training.objectives import fold_target_scale, standardized


def training_splits(data: Any, scale: dict[str, float] | None) -> dict[str, dict[str, list]]:
    """The splits Trainer sees: regression targets standardised with the training scale, others as they are."""
    return standardized(data.splits, scale) if scale else data.splits


def test_metrics(trainer: Any, tokenized: dict[str, Any], data: Any,
                 scale: dict[str, float] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(test metrics with the test loss and problem type, the outputs the reports plot and tp.json records)."""
    problem = data.problem
    output = trainer.predict(tokenized["test"], metric_key_prefix="test")
    logits = np.asarray(output.predictions, dtype=float)
    outputs: dict[str, Any] = {"problem_type": problem.name, "true": data.splits["test"]["label"]}
    thresholds = None
    if problem is MULTI_LABEL:  # every process takes part in predict (DDP); only the main one writes
        validation = trainer.predict(tokenized["validation"], metric_key_prefix="validation")
        thresholds = tune_thresholds(np.asarray(validation.label_ids), np.asarray(validation.predictions))
        outputs["thresholds"] = thresholds
    if scale:
        logits = logits * scale["std"] + scale["mean"]
    outputs["logits"] = logits
    metrics = score_outputs(problem, data.splits["test"]["label"], logits, data.labels, thresholds)
    metrics.update(problem_type=problem.name, eval_loss=float(output.metrics["test_loss"]))
    if thresholds is not None:
        metrics["thresholds"] = dict(zip(data.labels, thresholds, strict=True))
    return metrics, outputs


def fold_and_describe(model: Any, outputs: dict[str, Any], scale: dict[str, float] | None) -> dict[str, Any]:
    """What tp.json adds for the problem (thresholds; the target scale, folded into the head now)."""
    if scale:
        fold_target_scale(model, scale)
        return {"target_scale": {key: round(value, 6) for key, value in scale.items()}}
    if "thresholds" in outputs:
        return {"thresholds": outputs["thresholds"]}
    return {}

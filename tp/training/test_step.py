"""After training: score the kept checkpoint on the test split, the way the problem reads its outputs.

Multi-label runs tune one decision threshold per label on the validation split first (never on test); regression
runs are scored in the targets' own units, and their head is then rescaled so that the saved model outputs them.
"""

from __future__ import annotations

from pathlib import Path
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


def selection_record(trainer: Any, metric: str, scale: dict[str, float] | None = None) -> dict[str, Any]:
    """Which checkpoint was kept: the validation metric it was chosen by, its value and its step (an error of a
    regression run in the targets' units: training saw them standardised)."""
    best = trainer.state.best_model_checkpoint
    value = trainer.state.best_metric
    if value is not None and scale and metric in ("rmse", "mae"):
        value *= scale["std"]
    return {"metric": f"validation {metric}", "value": None if value is None else round(float(value), 4),
            "step": int(Path(best).name.split("-")[1]) if best else trainer.state.global_step,
            "of_steps": trainer.state.global_step}

"""What training optimises and watches, per problem: the loss, the validation metrics, the targets' scale.

- single-label: cross-entropy, class-weighted when classes are uneven (tp.training.defaults);
- multi-label: binary cross-entropy per label, with positive weights (negatives / positives, capped) when a
  label is rare; decision thresholds are tuned per label on the validation split after training;
- regression: mean squared error on standardised targets (mean 0, std 1: one learning rate fits every unit);
  the scale is folded back into the head before saving, so the saved model outputs the original units and the
  stock pipeline (function_to_apply="none") reads them as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tp.tasks import MULTI_LABEL, REGRESSION, SINGLE_LABEL, Problem

RARE_LABEL_RATIO = 1.5  # negatives / positives from which `auto` weights a label's positives
MAX_POSITIVE_WEIGHT = 20.0  # a label seen 3 times in 3,000 rows must not swamp the loss


def positive_weights(setting: str, targets: list[list[float]], labels: list[str]) -> tuple[list[float] | None, str]:
    """(per-label positive weights or None, why) for multi-label targets and `training.class_weights`."""
    hot = np.asarray(targets, dtype=float)
    positives = hot.sum(axis=0)
    ratios = (len(hot) - positives) / np.maximum(positives, 1.0)
    absent = [name for name, count in zip(labels, positives, strict=True) if not count]
    unseen = (f"; no training row carries {', '.join(map(repr, absent))}: the model cannot learn "
              f"{'it' if len(absent) == 1 else 'them'}") if absent else ""
    weights, why = _positive_weights(setting, positives, ratios, len(hot), labels)
    return weights, why + unseen


def _positive_weights(setting: str, positives: np.ndarray, ratios: np.ndarray, rows: int,
                      labels: list[str]) -> tuple[list[float] | None, str]:
    if setting == "none":
        return None, "class_weights=none: plain binary cross-entropy"
    if setting == "auto" and ratios.max() < RARE_LABEL_RATIO:
        return None, f"no label is rare (negatives/positives at most {ratios.max():.2f}): plain binary cross-entropy"
    weights = np.clip(ratios, 1.0, MAX_POSITIVE_WEIGHT).round(4).tolist()
    seen = np.where(positives > 0, ratios, -1.0)  # the rarest label the training rows do carry
    rarest = int(seen.argmax())
    return weights, (f"positive weights per label (negatives/positives, capped at {MAX_POSITIVE_WEIGHT:g}; rarest "
                     f"{labels[rarest]!r}: {int(positives[rarest])} of {rows} rows)")


def target_scale(targets: list[float]) -> dict[str, float]:
    """Mean and standard deviation of the training targets (std 1 when they are all equal)."""
    values = np.asarray(targets, dtype=float)
    std = float(values.std())
    return {"mean": float(values.mean()), "std": std if std > 0 else 1.0}


def standardized(splits: dict[str, dict[str, list]], scale: dict[str, float]) -> dict[str, dict[str, list]]:
    """The splits with regression targets as z-scores (the inputs untouched)."""
    return {name: {**split, "label": [(y - scale["mean"]) / scale["std"] for y in split["label"]]}
            for name, split in splits.items()}


def binary_cross_entropy(weights: list[float] | None) -> Any:
    """A Trainer `compute_loss_func`: per-label BCE with logits, positives weighted, a mean over all labels."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    table = None if weights is None else torch.tensor(weights, dtype=torch.float32)

    def compute_loss(outputs: Any, labels: Any, num_items_in_batch: Any = None) -> Any:
        logits = outputs["logits"].float()
        pos_weight = None if table is None else table.to(logits.device)
        losses = F.binary_cross_entropy_with_logits(logits, labels.to(logits).float(), pos_weight=pos_weight,
                                                    reduction="none")
        # Trainer counts every label cell of the accumulated micro-batches: dividing by it keeps accumulation exact
        return losses.sum() / (num_items_in_batch if num_items_in_batch is not None else losses.numel())

    return compute_loss


def loss_for(problem: Problem, setting: str, train_targets: list[Any],
             labels: list[str]) -> tuple[Any | None, list[float] | None, str]:
    """(compute_loss_func or None for the model's own loss, the weights, why) for `training.class_weights`."""
    from tp.training.defaults import class_weights_for, weighted_cross_entropy

    if problem is REGRESSION:
        return None, None, "mean squared error on standardised targets (mean 0, std 1)"
    if problem is MULTI_LABEL:
        weights, why = positive_weights(setting, train_targets, labels)
        return binary_cross_entropy(weights), weights, why
    weights, why = class_weights_for(setting, train_targets, len(labels))
    return (weighted_cross_entropy(weights) if weights else None), weights, why


def validation_metrics(problem: Problem, labels: list[str]) -> Any:
    """Trainer's `compute_metrics` for the problem: every metric checkpoint selection may watch.

    Multi-label checkpoints are scored at thresholds tuned on these validation rows, as the kept model will be
    used: at 0.5 a checkpoint whose scores are shifted (positive weights shift them up) would look worse than it is.
    """
    from tp.evaluation.problem_metrics import score_outputs, tune_thresholds

    def compute(eval_pred: Any) -> dict[str, float]:
        thresholds = tune_thresholds(eval_pred.label_ids, eval_pred.predictions) if problem is MULTI_LABEL else None
        scored = score_outputs(problem, eval_pred.label_ids, eval_pred.predictions, labels, thresholds, prefix="eval")
        return {key[len("eval_"):]: float(value) for key, value in scored.items()
                if isinstance(value, int | float) and not key.endswith("_size")}

    return compute


def selection_metric(setting: str, problem: Problem) -> tuple[str, bool]:
    """(metric, greater is better) for `training.metric_for_best_model`; `auto` is the problem's main metric."""
    metric = problem.main_metric if setting == "auto" else setting
    allowed = {SINGLE_LABEL.name: ("macro_f1", "accuracy"), MULTI_LABEL.name: ("micro_f1", "macro_f1", "accuracy"),
               REGRESSION.name: ("rmse", "mae", "spearman")}[problem.name]
    if metric not in (*allowed, "loss"):
        from tp.errors import ConfigError

        raise ConfigError(f"`training.metric_for_best_model` is {metric!r}, which a {problem.recipe} run does not "
                          f"measure: use auto, {', '.join(allowed)} or loss.")
    return metric, metric not in ("loss", "rmse", "mae")


def head_modules(model: Any) -> list[Any]:
    """The final Linear layers that produce the logits (a peft model's trained copy, not its frozen original)."""
    import torch

    found = []
    for name, module in model.named_modules():
        if (isinstance(module, torch.nn.Linear) and name.split(".")[-1] in ("classifier", "default", "out_proj")
                and "classifier" in name and "original_module" not in name and "lora_" not in name):
            found.append(module)
    return found


def fold_target_scale(model: Any, scale: dict[str, float]) -> None:
    """Make a regression head output original units: W' = std W, b' = std b + mean (in place)."""
    import torch

    heads = [m for m in head_modules(model) if m.out_features == 1]
    if not heads:
        raise RuntimeError("No one-output classification head found to fold the target scale into.")
    with torch.no_grad():
        for head in heads:
            head.weight.mul_(scale["std"])
            head.bias.mul_(scale["std"]).add_(scale["mean"])

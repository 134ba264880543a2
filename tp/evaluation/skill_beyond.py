"""Did a multi-label or regression model learn anything? The same verdicts as for single-label runs.

Multi-label: micro-F1 must clear the majority label set, chance and the most frequent labels on every row by the
margin; a model that predicts no label at all is flagged; below TF-IDF + one-vs-rest logistic regression is a
softer warning.
Regression: R² must clear the training mean's by the margin; predictions nearly constant (their spread under
5% of the targets') are flagged; an RMSE above TF-IDF + ridge is a softer warning.
"""

from __future__ import annotations

from typing import Any

CONSTANT_SPREAD = 0.05  # predictions whose standard deviation is under this share of the targets' are constant


def _margin(metrics: dict[str, Any], prefix: str) -> float:
    from tp.evaluation.margins import skill_margin

    return skill_margin(metrics[f"{prefix}_size"])


def _warning(code: str, severity: str, message: str) -> dict[str, str]:
    return {"code": code, "severity": severity, "message": message}


def multi_label_warnings(metrics: dict[str, Any], baselines: dict[str, dict[str, Any]],
                         prefix: str = "test") -> list[dict[str, str]]:
    found = []
    f1, margin = metrics[f"{prefix}_micro_f1"], _margin(metrics, prefix)
    floor_name, floor = max(((name, baselines[name]["micro_f1"]) for name in ("majority", "chance", "frequent")
                             if name in baselines), key=lambda pair: pair[1], default=("majority", 0.0))
    if f1 < floor + margin:
        found.append(_warning("no_skill", "error", (
            f"micro-F1 {f1:.3f} does not beat the {floor_name} baseline ({floor:.3f}) by a clear margin "
            f"({margin:.2f}): this model has not learned the labels. Try more steps, another learning rate "
            "(tp train --search), and more or cleaner data.")))
    per_label = metrics.get(f"{prefix}_per_class", {})
    if per_label and not any(scores.get("predicted", 0) for scores in per_label.values()):
        found.append(_warning("one_class", "error", (
            "predicts no label for any test row: every score is under its threshold (positive weights, "
            "training.class_weights=balanced, usually help with rare labels).")))
    learned = baselines.get("tfidf_logreg")
    if learned and round(f1, 4) < learned["micro_f1"]:
        found.append(_warning("below_baseline", "warning", (
            f"micro-F1 {f1:.3f} is below the tfidf_logreg baseline's {learned['micro_f1']:.3f} on the same split: "
            "a linear model does better here.")))
    return found


def regression_warnings(metrics: dict[str, Any], baselines: dict[str, dict[str, Any]],
                        prefix: str = "test") -> list[dict[str, str]]:
    found = []
    r2, margin = metrics[f"{prefix}_r2"], _margin(metrics, prefix)
    floor = baselines.get("mean", {}).get("r2", 0.0)
    if r2 < floor + margin:
        found.append(_warning("no_skill", "error", (
            f"R² {r2:.3f} does not beat the mean baseline ({floor:.3f}) by a clear margin ({margin:.2f}): this "
            "model predicts no better than the training mean. Try more steps, another learning rate "
            "(tp train --search), and more or cleaner data.")))
    spread, target = metrics.get(f"{prefix}_prediction_std"), metrics.get(f"{prefix}_target_std")
    if spread is not None and target and spread < CONSTANT_SPREAD * target:
        found.append(_warning("one_class", "error", (
            f"predicts nearly one value for every row (spread {spread:.3g} against the targets' {target:.3g}): it "
            "has collapsed onto the mean.")))
    learned = baselines.get("tfidf_ridge")
    if learned and round(metrics[f"{prefix}_rmse"], 4) > learned["rmse"]:
        found.append(_warning("below_baseline", "warning", (
            f"RMSE {metrics[f'{prefix}_rmse']:.3f} is above the tfidf_ridge baseline's {learned['rmse']:.3f} on the "
            "same split: a linear model does better here.")))
    return found

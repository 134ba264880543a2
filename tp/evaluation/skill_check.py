"""Did the model learn anything? Flags a run that is no better than the majority class or chance, or that
predicts one class for nearly every row, and (more softly) one below the linear baseline.

A warning is `{"code", "severity", "message"}`; severity `error` (no skill: push refuses it without --force,
the card opens with a banner, the app logs it) or `warning` (below the TF-IDF / pixel baseline).
"""

from __future__ import annotations

from typing import Any

from tp.evaluation.baselines import compute_baselines, strongest_learned
from tp.evaluation.margins import skill_margin
from tp.tasks import MULTI_LABEL, REGRESSION, SINGLE_LABEL, Problem, problem_named

ONE_CLASS_SHARE = 0.9  # predicting one class for this share of the test rows...
SKEWED_SHARE = 0.8  # ...is no skill unless that class really is this frequent in the test set


def prediction_shares(confusion: list[list[int]]) -> tuple[list[float], list[float]]:
    """(share of test rows per predicted label, share per true label), from a confusion matrix."""
    total = sum(map(sum, confusion)) or 1
    predicted = [sum(row[j] for row in confusion) / total for j in range(len(confusion))]
    true = [sum(row) / total for row in confusion]
    return predicted, true


def skill_warnings(metrics: dict[str, Any], baselines: dict[str, dict[str, Any]], labels: list[str],
                   prefix: str = "test", problem: Problem | None = None) -> list[dict[str, str]]:
    """The warnings a run's test metrics earn against its baselines (empty when it clearly learned).

    The problem defaults to the one metrics.json records (`problem_type`; single-label when absent).
    """
    from tp.evaluation import skill_beyond

    problem = problem or problem_named(metrics.get("problem_type"))
    if problem is MULTI_LABEL:
        return skill_beyond.multi_label_warnings(metrics, baselines, prefix)
    if problem is REGRESSION:
        return skill_beyond.regression_warnings(metrics, baselines, prefix)
    found: list[dict[str, str]] = []
    f1, size = metrics[f"{prefix}_macro_f1"], metrics[f"{prefix}_size"]
    margin = skill_margin(size)
    floor_name, floor = max(((name, baselines[name]["macro_f1"]) for name in ("majority", "chance")
                             if name in baselines), key=lambda pair: pair[1], default=("majority", 0.0))
    if f1 < floor + margin:
        found.append({"code": "no_skill", "severity": "error", "message": (
            f"macro-F1 {f1:.3f} does not beat the {floor_name} baseline ({floor:.3f}) by a clear margin "
            f"({margin:.2f}): this model has not learned the task. Try class weights, more steps, another learning "
            "rate or method (tp train --search), and more or cleaner data.")})
    predicted, true = prediction_shares(metrics[f"{prefix}_confusion_matrix"])
    top = max(range(len(predicted)), key=predicted.__getitem__)
    if predicted[top] >= ONE_CLASS_SHARE and true[top] < SKEWED_SHARE:
        found.append({"code": "one_class", "severity": "error", "message": (
            f"predicts {labels[top]!r} for {predicted[top]:.0%} of the test rows, which are {true[top]:.0%} "
            f"{labels[top]!r}: it has collapsed onto one class (class weights, training.class_weights=balanced, "
            "usually help).")})
    learned = strongest_learned(baselines)
    if learned and round(f1, 4) < learned[1]["macro_f1"]:  # baselines are recorded to 4 places
        name, scores = learned
        found.append({"code": "below_baseline", "severity": "warning", "message": (
            f"macro-F1 {f1:.3f} is below the {name} baseline's {scores['macro_f1']:.3f} on the same split: "
            "a linear model does better here.")})
    return found


def judge_run(metrics: dict[str, Any], splits: dict[str, dict[str, list]], labels: list[str],
              problem: Problem = SINGLE_LABEL) -> None:
    """Add `baselines` (fitted on the train split, scored on the test split) and `warnings` to test metrics."""
    metrics["baselines"] = compute_baselines(splits, labels, problem)
    metrics["warnings"] = skill_warnings(metrics, metrics["baselines"], labels, problem=problem)


def is_flagged(warnings: list[dict[str, str]] | None) -> bool:
    """True when a warning says the model learned nothing (severity `error`)."""
    return any(w.get("severity") == "error" for w in warnings or [])


def warning_lines(warnings: list[dict[str, str]] | None) -> list[str]:
    """One line per warning, loudest first, for consoles and logs."""
    ordered = sorted(warnings or [], key=lambda w: w.get("severity") != "error")
    return [f"{'NO SKILL' if w['severity'] == 'error' else 'WARNING'}: {w['message']}" for w in ordered]


SUMMARY_COLUMNS = {SINGLE_LABEL.name: ("accuracy", "macro_f1"),
                   MULTI_LABEL.name: ("micro_f1", "macro_f1", "accuracy", "hamming_loss"),
                   REGRESSION.name: ("rmse", "mae", "r2", "spearman")}


def format_summary(metrics: dict[str, Any]) -> str:
    """The end-of-training summary: the model's test scores beside each baseline's, then any warnings."""
    columns = SUMMARY_COLUMNS[problem_named(metrics.get("problem_type")).name]
    rows = [("this model", [metrics[f"test_{key}"] for key in columns])]
    rows += [(name, [b.get(key, float("nan")) for key in columns]) for name, b in metrics.get("baselines", {}).items()]
    width = max(len(name) for name, _ in rows)
    header = "  ".join(f"{key.replace('_', '-'):>12}" for key in columns)
    lines = [f"test split ({metrics['test_size']} rows){' ' * max(1, width - 8)}{header}"]
    lines += [f"  {name:<{width}}{' ' * 12}" + "  ".join(f"{value:12.3f}" for value in values)
              for name, values in rows]
    return "\n".join(lines + warning_lines(metrics.get("warnings")))

"""What the lab's gate compares, per problem, and how much worse a variant may be.

- one label per text: test accuracy, a drop in points (as the gate always did: 0.912 -> 0.905 is 0.7 points);
- multi-label: micro-F1 (the problem's main metric), a drop in points alike;
- regression: RMSE, where lower is better and the scale is the targets' own: the drop is RMSE's growth in
  percent of the fp32 RMSE (1.20 -> 1.23 is a 2.5 % drop), so `--max-drop 1` allows 1 % more error.
A variant is accepted when its drop is at most --max-drop. The searches (tp.compression.search, onnx_search)
decide on validation with the same rule. Every measurement comes from
tp.evaluation.problem_metrics.score_outputs, so the lab's numbers are those `tp evaluate` and training report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tp.tasks import MULTI_LABEL, REGRESSION, SINGLE_LABEL, Problem

if TYPE_CHECKING:
    import numpy as np
    import torch


@dataclass(frozen=True)
class GateMetric:
    key: str  # the measurement the gate compares (measurements[key], validation_<key> in a search's trials)
    title: str  # for reports: "accuracy", "micro-F1", "RMSE"
    relative: bool  # True: the drop is the growth in % of the baseline (an error in the targets' units)
    secondary: str  # a second measurement the reports show beside it

    @property
    def unit(self) -> str:
        return "%" if self.relative else "points"

    def drop(self, baseline: float, value: float) -> float:
        """How much worse `value` is than `baseline`: accuracy points, or % more error (negative: better)."""
        if self.relative:
            return round((value - baseline) / max(abs(baseline), 1e-12) * 100, 2)
        return round((baseline - value) * 100, 2)

    def show(self, value: float) -> str:
        return f"{value:.4f}" if self.relative else f"{value:.2%}"

    @property
    def drop_name(self) -> str:
        """The drop's name among a served variant's metrics: `accuracy_drop_points`, `rmse_growth_percent`."""
        return f"{self.key}_growth_percent" if self.relative else f"{self.key}_drop_points"

    def compared(self, value: float, baseline: float) -> str:
        """`accuracy 97.60% against fp32's 98.00%`, `RMSE 0.6100 against fp32's 0.6000 (+1.67%)`."""
        growth = f" ({self.drop(baseline, value):+.2f}%)" if self.relative else ""
        return f"{self.title} {self.show(value)} against fp32's {self.show(baseline)}{growth}"

    def worse(self, drop: float) -> str:
        """A variant's drop in words: `lost 2.50 accuracy points`, `raised the RMSE by 3.10%`."""
        if self.relative:
            return f"raised the {self.title} by {drop:.2f}%"
        return f"lost {drop:.2f} {self.title} points"

    def rule(self, max_drop: float) -> str:
        """The gate in words: `loses more than 1 accuracy point`, `raises RMSE by more than 1%`."""
        if self.relative:
            return f"raises the test {self.title} by more than {max_drop:g}% of fp32's"
        return f"loses more than {max_drop:g} {self.title} point{'' if max_drop == 1 else 's'}"


ACCURACY = GateMetric("accuracy", "accuracy", False, "macro_f1")
GATE_METRICS = {SINGLE_LABEL.name: ACCURACY, MULTI_LABEL.name: GateMetric("micro_f1", "micro-F1", False, "macro_f1"),
                REGRESSION.name: GateMetric("rmse", "RMSE", True, "pearson")}


def metric_named(key: str | None) -> GateMetric:
    """The GateMetric a lab summary names (`gate_metric`; summaries before it: accuracy)."""
    return next((metric for metric in GATE_METRICS.values() if metric.key == key), ACCURACY)


def gate_metric(problem_type: str | None) -> GateMetric:
    """The gate's metric for a problem (none recorded: one label per input, accuracy)."""
    return GATE_METRICS.get(problem_type or SINGLE_LABEL.name, ACCURACY)


# what the lab measures beside the scores (tp.compression.measure): speed, size and memory
SPEED_AND_SIZE = frozenset({"test_size", "throughput_texts_per_s", "latency_p50_ms", "latency_p95_ms",
                            "latency_mean_ms", "latency_texts", "size_bytes", "runtime_rss_bytes",
                            "loaded_rss_bytes", "peak_rss_bytes"})


def measured_scores(measurements: dict[str, Any]) -> dict[str, float]:
    """A variant's test scores among its lab measurements, named as a run's metrics.json names them
    (`test_accuracy`, `test_macro_f1`; `test_micro_f1`...; `test_rmse`, `test_pearson`...)."""
    return {f"test_{key}": value for key, value in measurements.items()
            if isinstance(value, int | float) and not isinstance(value, bool) and key not in SPEED_AND_SIZE}


@dataclass(frozen=True)
class Scorer:
    """Scores a model's outputs on a split the way its problem is scored: every measurement, the gate's value,
    and how far one set of outputs moved from another (the searches' sensitivity)."""

    problem: Problem = SINGLE_LABEL
    labels: tuple[str, ...] = ()
    thresholds: tuple[float, ...] | None = None

    @property
    def metric(self) -> GateMetric:
        return gate_metric(self.problem.name)

    def measurements(self, targets: list[Any], logits: np.ndarray) -> dict[str, Any]:
        """Every scalar metric of the problem (no prefix), plus a single-label confusion matrix or the multi-label
        per-label scores."""
        from tp.evaluation.problem_metrics import score_outputs

        labels = list(self.labels) or [str(i) for i in range(logits.shape[1])]
        metrics = score_outputs(self.problem, targets, logits, labels, self.limits, prefix="test")
        kept = {key.removeprefix("test_"): value for key, value in metrics.items()
                if isinstance(value, float | int) and not key.endswith("_size")}
        if "test_confusion_matrix" in metrics:
            kept["confusion_matrix"] = metrics["test_confusion_matrix"]
        elif "test_per_class" in metrics:  # multi-label: what a variant's card shows per label
            kept["per_class"] = metrics["test_per_class"]
        return kept

    @property
    def limits(self) -> list[float] | None:
        return list(self.thresholds) if self.thresholds is not None else None

    def value(self, targets: list[Any], logits: np.ndarray) -> float:
        """The gate's metric of these outputs."""
        return float(self.measurements(targets, logits)[self.metric.key])

    def divergence(self, changed: torch.Tensor, reference: torch.Tensor) -> float:
        """How far `changed` outputs are from `reference` ones: KL of the softmax (one label), mean squared
        difference of the sigmoid scores (multi-label) or of the values (regression)."""
        import torch

        if self.problem is SINGLE_LABEL:
            return float(torch.nn.functional.kl_div(torch.log_softmax(changed, -1), torch.log_softmax(reference, -1),
                                                    log_target=True, reduction="batchmean"))
        if self.problem is MULTI_LABEL:
            changed, reference = torch.sigmoid(changed), torch.sigmoid(reference)
        return float(((changed - reference) ** 2).mean())


def scorer_of(classifier: Any) -> Scorer:
    """The Scorer of a loaded classifier (its problem, labels and thresholds; images: one label)."""
    thresholds = getattr(classifier, "thresholds", None)
    return Scorer(getattr(classifier, "problem", SINGLE_LABEL), tuple(classifier.labels),
                  tuple(thresholds) if thresholds is not None else None)

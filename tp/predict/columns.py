"""The columns `tp predict` adds to each row, per problem (tp.tasks.Problem), computed from a part's logits.

- one label per text: `label` and `score` (the top label's softmax probability); with all_scores one
  `score_<label>` probability per label (they sum to 1);
- multi-label: `labels`, the labels whose sigmoid score reaches their threshold (the run's, tuned on validation,
  or `threshold` for every label): a list in JSONL and Parquet, the names joined by `separator` in CSV (an empty
  cell when none); with all_scores one `score_<label>` sigmoid score per label (independent: they need not sum
  to 1);
- regression: `value`, the predicted number in the targets' units.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tp.models.outputs import DEFAULT_THRESHOLD, sigmoid
from tp.tasks import MULTI_LABEL, REGRESSION, Problem

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass(frozen=True)
class PredictionColumns:
    """How one job names and fills its added columns."""

    problem: Problem
    labels: list[str]
    prefix: str = ""
    all_scores: bool = False
    thresholds: list[float] | None = None  # multi-label: the run's per-label thresholds
    threshold: float | None = None  # multi-label: overrides every label's threshold
    separator: str | None = None  # multi-label in CSV: joins the names; None: a list (JSONL, Parquet)

    def names(self) -> list[str]:
        """The added columns, in order."""
        scores = [f"{self.prefix}score_{label}" for label in self.labels] if self.all_scores else []
        if self.problem is REGRESSION:
            return [f"{self.prefix}value"]
        if self.problem is MULTI_LABEL:
            return [f"{self.prefix}labels", *scores]
        return [f"{self.prefix}label", f"{self.prefix}score", *scores]

    def limits(self) -> list[float]:
        if self.threshold is not None:
            return [self.threshold] * len(self.labels)
        return list(self.thresholds or [DEFAULT_THRESHOLD] * len(self.labels))

    def values(self, logits: np.ndarray) -> dict[str, Any]:
        """Column name -> values, for a part's logits (rows in the part's order)."""
        import numpy as np

        if self.problem is REGRESSION:
            return {f"{self.prefix}value": logits.reshape(len(logits), -1)[:, 0].astype(np.float64)}
        if self.problem is MULTI_LABEL:
            scores = sigmoid(logits.astype(np.float64)).astype(np.float32)
            hot = scores >= np.asarray(self.limits(), dtype=np.float32)
            chosen = [[self.labels[j] for j in np.flatnonzero(row)] for row in hot]
            added: dict[str, Any] = {f"{self.prefix}labels": [self.separator.join(names) for names in chosen]
                                     if self.separator is not None else chosen}
        else:
            scores = softmax(logits)
            top = scores.argmax(axis=1)
            added = {f"{self.prefix}label": np.asarray(self.labels, dtype=object)[top],
                     f"{self.prefix}score": scores[np.arange(len(scores)), top]}
        if self.all_scores:
            added.update({f"{self.prefix}score_{label}": scores[:, j] for j, label in enumerate(self.labels)})
        return added

    def added_to(self, frame: pd.DataFrame, logits: np.ndarray) -> pd.DataFrame:
        """The part's own columns, then the added ones."""
        import pandas as pd

        return pd.concat([frame.reset_index(drop=True), pd.DataFrame(self.values(logits))], axis=1)


def softmax(logits: np.ndarray) -> np.ndarray:
    import numpy as np

    shifted = np.exp(logits.astype(np.float64) - logits.max(axis=1, keepdims=True))
    return (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)

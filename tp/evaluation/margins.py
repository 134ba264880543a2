"""How far above the no-skill baselines a model must score to count as having learned its task."""

from __future__ import annotations

import math

MIN_MARGIN = 0.05  # points of the main metric (macro-F1, micro-F1, R²) above majority / chance / the mean


def skill_margin(test_size: int) -> float:
    """How far above the no-skill baselines counts as clear: 0.05, more on small test sets (1/sqrt(n))."""
    return round(max(MIN_MARGIN, 1 / math.sqrt(max(test_size, 1))), 3)

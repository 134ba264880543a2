"""What a label is, per problem: one class, a set of classes (multi-label) or a number (regression).

The problem comes from the recipe (`data.task`) or from the data when it cannot be mistaken: rows holding lists,
or `data.label_separator`, are multi-label. A numeric column with many distinct values is never guessed to be
either classes or a regression target: the user says which. Encoded labels are an int (single-label), a multi-hot
list of floats (multi-label, in the order of the sorted label set) or a float (regression).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from tp.config import DataConfig
from tp.errors import DataError
from tp.tasks import MULTI_LABEL, REGRESSION, SINGLE_LABEL, Problem, problem_named

MAX_GUESSED_CLASSES = 30  # integer labels with more distinct values than this: classes or a score? ask


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple | np.ndarray)


def choose_problem(labels: pd.Series, cfg: DataConfig, known: list[str] | None) -> Problem:
    """The problem `cfg.task` names, or the one the label column shows beyond doubt (else a DataError)."""
    if cfg.task != "auto":
        return problem_named(cfg.task)
    present = labels.dropna()
    if cfg.label_separator is not None or any(_is_list(value) for value in present.head(100)):
        return MULTI_LABEL
    if known or not pd.api.types.is_numeric_dtype(present):
        return SINGLE_LABEL
    distinct = present.nunique()
    integral = bool(np.all(np.mod(present.to_numpy(dtype=float), 1) == 0))
    if not integral or distinct > MAX_GUESSED_CLASSES:
        kind = "integers" if integral else "decimal numbers"
        raise DataError(f"Column {cfg.label_column!r} (data.label_column) holds {kind} with {distinct} distinct "
                        "values: is each a class or a score? Set data.task: regression to predict the number, or "
                        "data.task: single_label to treat each value as a class.")
    return SINGLE_LABEL


def label_list(value: Any, separator: str | None) -> list[str]:
    """One multi-label row as its label names: a list, a JSON list, a delimited string or one label; none is []."""
    if _is_list(value):
        return sorted({str(item).strip() for item in value if str(item).strip()})
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return label_list(parsed, None)
    parts = text.split(separator) if separator else [text]
    return sorted({part.strip() for part in parts if part.strip()})


def regression_values(labels: pd.Series, split: str, column: str) -> list[float]:
    """The targets as floats; the first value that is not a finite number is named, with its row."""
    numbers = pd.to_numeric(labels, errors="coerce")
    bad = numbers.isna() | ~np.isfinite(numbers.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"Row {row} of the {split} data has {labels.iloc[row]!r} in {column!r} (data.label_column), "
                        f"which is not a number ({int(bad.sum())} such rows): data.task regression needs a number "
                        "in every row; fix or remove them.")
    return [float(v) for v in numbers]


def label_names(frames: dict[str, pd.DataFrame], problem: Problem, cfg: DataConfig) -> list[str]:
    """The sorted label set of a multi-label source (refused when no row has a label); the column for regression."""
    if problem is REGRESSION:
        return [cfg.label_column]
    names = sorted({name for frame in frames.values() for row in frame["label"]
                    for name in label_list(row, cfg.label_separator)})
    if not names:
        raise DataError(f"No row has a label in {cfg.label_column!r} (data.label_column): every label list is empty. "
                        "Check the column, and data.label_separator if labels are delimited strings.")
    if len(names) == 1:
        raise DataError(f"Every labelled row has the one label {names[0]!r}: multi-label needs at least two labels "
                        "(for a yes/no question, use data.task: single_label with the answer as the label).")
    return names


def encode_targets(frame: pd.DataFrame, problem: Problem, labels: list[str], cfg: DataConfig,
                   split: str) -> list[Any]:
    """A frame's labels as training targets: multi-hot float lists (multi-label) or floats (regression)."""
    if problem is REGRESSION:
        return regression_values(frame["label"], split, cfg.label_column)
    index = {name: i for i, name in enumerate(labels)}
    targets = []
    for row in frame["label"]:
        names = label_list(row, cfg.label_separator)
        for name in names:
            if name not in index:
                raise DataError(f"Label {name!r} of the {split} data is not among the training labels "
                                f"({', '.join(labels)}).")
        targets.append(multi_hot((index[name] for name in names), len(labels)))
    return targets


def multi_hot(indices: Iterable[int], size: int) -> list[float]:
    """A multi-label target: 1.0 at each of `indices`, 0.0 elsewhere."""
    hot = [0.0] * size
    for i in indices:
        hot[i] = 1.0
    return hot


def target_counts(targets: list[Any], labels: list[str], problem: Problem) -> dict[str, Any]:
    """What a split holds: rows per label (positives per label for multi-label), or the targets' summary."""
    if problem is REGRESSION:
        values = np.asarray(targets, dtype=float)
        if not len(values):
            return {"mean": 0.0, "std": 0.0, "min": 0.0, "max": 0.0}
        return {"mean": round(float(values.mean()), 4), "std": round(float(values.std()), 4),
                "min": round(float(values.min()), 4), "max": round(float(values.max()), 4)}
    if problem is MULTI_LABEL:
        hot = np.asarray(targets, dtype=float).reshape(-1, len(labels))
        return {name: int(hot[:, i].sum()) for i, name in enumerate(labels)}
    counts = np.bincount(np.asarray(targets, dtype=int), minlength=len(labels)) if targets else [0] * len(labels)
    return {name: int(counts[i]) for i, name in enumerate(labels)}


def format_label_counts(counts: dict[str, dict[str, Any]], sizes: dict[str, int] | None = None) -> str:
    """A small table of rows per label and split with each label's share, or the regression targets' summary.

    `sizes` (rows per split) makes shares of rows, for multi-label counts, where a row carries several labels.
    """
    splits = list(counts)
    first = next(iter(counts.values()))
    if set(first) == {"mean", "std", "min", "max"}:
        lines = ["targets:       " + "  ".join(f"{split:>10}" for split in splits)]
        lines += [f"  {stat:<12} " + "  ".join(f"{counts[split][stat]:>10.4g}" for split in splits)
                  for stat in ("mean", "std", "min", "max")]
        return "\n".join(lines)
    width = max(len(name) for name in first)
    title = "rows carrying each label:" if sizes else "label distribution: "
    lines = [title + "  ".join(f"{split:>14}" for split in splits)]
    for label in first:
        cells = []
        for split in splits:
            total = (sizes[split] if sizes else sum(counts[split].values())) or 1
            cells.append(f"{counts[split][label]:>6} ({counts[split][label] / total:4.0%})")
        lines.append(f"  {label:<{width}}  " + "  ".join(f"{cell:>14}" for cell in cells))
    return "\n".join(lines)


def _shorten(text: str, max_chars: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= max_chars else text[:max_chars].rsplit(" ", 1)[0] + " ..."


def examples_per_label(split: dict[str, list], labels: list[str], max_chars: int = 300) -> list[Any]:
    """One short example per label (first of each class; a few rows for regression), for demos and cards.

    A pair's example is `[text, text_pair]`.
    """
    rows = list(range(len(split["label"])))
    if labels and split["label"] and not isinstance(split["label"][0], float):
        hot = [y if isinstance(y, list) else [float(i == y) for i in range(len(labels))] for y in split["label"]]
        rows = [next((r for r in rows if hot[r][index]), None) for index in range(len(labels))]
    examples = []
    for row in [r for r in rows if r is not None][:max(len(labels), 3)]:
        text = _shorten(split["text"][row], max_chars)
        examples.append([text, _shorten(split["text_pair"][row], max_chars)] if "text_pair" in split else text)
    return examples

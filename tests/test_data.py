from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from tp.config import DataConfig
from tp.data.prepare import prepare_data
from tp.errors import DataError


def test_builtin_bbc_news_split_is_stratified_and_recorded() -> None:
    data = prepare_data(DataConfig(source="builtin:bbc-news"))
    assert data.labels == ["business", "entertainment", "politics", "sports", "tech"]
    assert sum(data.record["sizes"].values()) == 2225
    assert data.record["sizes"]["test"] == 445
    test_share = Counter(data.splits["test"]["label"])
    train_share = Counter(data.splits["train"]["label"])
    for label in range(5):  # stratified: each class keeps its share within a point
        assert abs(test_share[label] / 445 - train_share[label] / data.size("train")) < 0.01
    again = prepare_data(DataConfig(source="builtin:bbc-news"))
    assert again.record["test_fingerprint"] == data.record["test_fingerprint"]
    other_seed = prepare_data(DataConfig(source="builtin:bbc-news", split_seed=7))
    assert other_seed.record["test_fingerprint"] != data.record["test_fingerprint"]


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".jsonl", ".json", ".parquet"])
def test_local_files_with_string_labels(tmp_path: Path, bbc_frame: pd.DataFrame, suffix: str) -> None:
    frame = bbc_frame.rename(columns={"text": "article", "label": "topic"})
    path = tmp_path / f"news{suffix}"
    if suffix in (".csv", ".tsv"):
        frame.to_csv(path, sep="\t" if suffix == ".tsv" else ",", index=False)
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif suffix == ".json":
        frame.to_json(path, orient="records")
    else:
        frame.to_parquet(path)
    data = prepare_data(DataConfig(source=str(path), text_column="article", label_column="topic"))
    assert data.labels == sorted(frame["topic"].unique())
    assert sum(data.record["sizes"].values()) == len(frame)
    first = data.splits["train"]
    assert frame.loc[frame["article"] == first["text"][0], "topic"].item() == data.labels[first["label"][0]]


def test_integer_labels_keep_their_values(tmp_path: Path) -> None:
    path = tmp_path / "ints.csv"
    pd.DataFrame({"text": [f"text number {i}" for i in range(40)], "label": [i % 2 for i in range(40)]}).to_csv(
        path, index=False)
    data = prepare_data(DataConfig(source=str(path)))
    assert data.labels == ["0", "1"]
    assert data.splits["train"]["label"][0] == int(data.splits["train"]["text"][0].split()[-1]) % 2


def test_star_ratings_with_gaps_keep_numeric_order(tmp_path: Path) -> None:
    path = tmp_path / "stars.csv"
    stars = [1, 2, 10] * 10 + [None]
    pd.DataFrame({"text": [f"review {i}" for i in range(31)], "label": stars}).to_csv(path, index=False)
    data = prepare_data(DataConfig(source=str(path)))
    assert data.labels == ["1", "2", "10"]
    assert data.record["dropped"]["missing_label"] == 1
    text, label = data.splits["train"]["text"][0], data.splits["train"]["label"][0]
    assert stars[int(text.split()[-1])] == int(data.labels[label])


def test_folder_with_train_and_test_files_uses_them(tmp_path: Path, bbc_frame: pd.DataFrame) -> None:
    bbc_frame.iloc[:100].to_csv(tmp_path / "train.csv", index=False)
    bbc_frame.iloc[100:].to_csv(tmp_path / "test.csv", index=False)
    data = prepare_data(DataConfig(source=str(tmp_path)))
    assert data.record["sizes"]["test"] == 20
    assert data.record["how"]["test"] == "source split test"
    assert data.record["sizes"]["train"] + data.record["sizes"]["validation"] == 100


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        prepare_data(DataConfig(source=str(tmp_path / "missing.csv")))


def test_unknown_column_lists_existing_columns(tmp_path: Path, bbc_frame: pd.DataFrame) -> None:
    path = tmp_path / "news.csv"
    bbc_frame.to_csv(path, index=False)
    with pytest.raises(DataError) as error:
        prepare_data(DataConfig(source=str(path), label_column="category"))
    assert "'category'" in str(error.value) and "text, label" in str(error.value)


def test_empty_file_and_header_only_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        prepare_data(DataConfig(source=str(empty)))
    header = tmp_path / "header.csv"
    header.write_text("text,label\n")
    with pytest.raises(DataError, match="empty"):
        prepare_data(DataConfig(source=str(header)))


def test_single_class_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    pd.DataFrame({"text": ["a b", "c d", "e f"], "label": ["x", "x", "x"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="single class"):
        prepare_data(DataConfig(source=str(path)))


def test_empty_texts_are_dropped_and_counted_or_refused(tmp_path: Path, bbc_frame: pd.DataFrame) -> None:
    frame = bbc_frame.copy()
    frame.loc[[0, 5, 9], "text"] = ["", "   ", None]
    frame.loc[12, "label"] = None
    path = tmp_path / "holes.csv"
    frame.to_csv(path, index=False)
    data = prepare_data(DataConfig(source=str(path)))
    assert data.record["dropped"] == {"empty_text": 3, "missing_label": 1}
    assert sum(data.record["sizes"].values()) == len(frame) - 4
    with pytest.raises(DataError, match="3 empty or missing texts"):
        prepare_data(DataConfig(source=str(path), empty_texts="error"))


def test_unreadable_encoding_says_how_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    rows = "text,label\n" + "".join(f"café crème numéro {i},{'ab'[i % 2]}\n" for i in range(20))
    path.write_bytes(rows.encode("latin-1"))
    with pytest.raises(DataError, match="not valid utf-8.*data.encoding"):
        prepare_data(DataConfig(source=str(path)))
    data = prepare_data(DataConfig(source=str(path), encoding="latin-1"))
    assert "café" in data.splits["train"]["text"][0]


def test_unknown_split_and_offline_hub_dataset(tmp_path: Path, bbc_frame: pd.DataFrame) -> None:
    bbc_frame.to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match="source's splits are: train"):
        prepare_data(DataConfig(source=str(tmp_path), test_split="heldout"))
    with pytest.raises(DataError, match="HF_HUB_OFFLINE=1 forbids downloading"):
        prepare_data(DataConfig(source="someone/some-dataset-that-is-not-cached"))


def test_a_dozen_rows_split_without_stratifying_where_a_class_cannot_be_on_both_sides(tmp_path: Path) -> None:
    path = tmp_path / "tiny.csv"
    path.write_text("text,label\n" + "".join(f"row {i},{'ab'[i % 2]}\n" for i in range(12)))
    data = prepare_data(DataConfig(source=str(path)))  # 10% of 9 training rows is one row: two classes do not fit
    assert sum(data.record["sizes"].values()) == 12 and data.record["sizes"]["validation"] == 1
    assert data.record["how"]["validation"] == "10% of train" and data.record["how"]["test"].startswith("stratified")

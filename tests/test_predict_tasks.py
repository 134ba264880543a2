"""`tp predict` and `tp evaluate` beyond one label per text: multi-label (labels, sigmoid scores, thresholds),
regression (a value) and text pairs (a second column), on the tiny runs of tests/tiny_tasks.py (real data).

Tiny models learn nothing: these tests check that every row gets what tp's own classifier says, in the right
columns, and that every wrong option or input is refused with a message naming the fix.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tiny_tasks import MULTI_LABEL_DATA, PAIRS_DATA

from tp.cli.main import main
from tp.config import DataConfig
from tp.errors import ConfigError, DataError
from tp.evaluation.evaluate import evaluate_model
from tp.models.loading import load_classifier
from tp.predict.run import PredictConfig, predict


@pytest.fixture(scope="module")
def messages() -> pd.DataFrame:
    """30 real disaster messages with an id column."""
    frame = pd.read_json(MULTI_LABEL_DATA, lines=True).head(30)
    return pd.DataFrame({"id": range(len(frame)), "text": frame["text"], "truth": frame["labels"].map(",".join)})


@pytest.fixture(scope="module")
def pairs() -> pd.DataFrame:
    """25 real STS-B sentence pairs, in the columns the run was trained on."""
    return pd.read_csv(PAIRS_DATA, sep="\t").head(25)


def run_predict(model: Path, *args: str | Path) -> int:
    return main(["predict", str(model), "--no-progress", *map(str, args)])


def test_multi_label_csv_joins_the_labels_above_the_threshold(multi_label_run, messages, tmp_path) -> None:
    data, output = tmp_path / "messages.csv", tmp_path / "out.csv"
    messages.to_csv(data, index=False)
    assert run_predict(multi_label_run, "--data", data, "--output", output, "--backend", "torch", "--all-scores",
                       "--threshold", "0.4", "--part-size", "12", "--label-separator", ";") == 0
    result = pd.read_csv(output, keep_default_na=False)
    classifier = load_classifier(multi_label_run)
    score_columns = [f"score_{label}" for label in classifier.labels]
    assert list(result.columns) == ["id", "text", "truth", "labels", *score_columns]
    expected = classifier.predict(messages["text"].tolist(), threshold=0.4)
    for row, answer in zip(result.itertuples(), expected, strict=True):
        assert sorted(filter(None, row.labels.split(";"))) == sorted(answer["labels"])
    scores = {item["label"]: item["score"] for item in expected[0]["scores"]}
    np.testing.assert_allclose(result.loc[0, score_columns].to_numpy(float),
                               [scores[label] for label in classifier.labels], atol=1e-5)


def test_multi_label_parquet_holds_lists_at_the_runs_thresholds(multi_label_run, messages, tmp_path) -> None:
    data, output = tmp_path / "messages.jsonl", tmp_path / "out.parquet"
    messages.to_json(data, orient="records", lines=True)
    assert run_predict(multi_label_run, "--data", data, "--output", output, "--backend", "torch",
                       "--part-size", "10") == 0
    result = pd.read_parquet(output)
    assert list(result.columns) == ["id", "text", "truth", "labels"]  # no label/score: a row has a set of labels
    expected = load_classifier(multi_label_run).predict(messages["text"].tolist())  # the run's own thresholds
    assert [sorted(labels) for labels in result["labels"]] == [sorted(a["labels"]) for a in expected]


def test_pair_regression_reads_the_recorded_columns_and_writes_value(pair_regression_run, pairs, tmp_path) -> None:
    data = tmp_path / "pairs.csv"
    pairs.drop(columns="score").to_csv(data, index=False)
    classifier = load_classifier(pair_regression_run)
    expected = [a["value"] for a in classifier.predict(list(zip(pairs["sentence1"], pairs["sentence2"],
                                                                strict=True)))]
    for backend in ("torch", "onnx"):  # the ONNX graph takes token_type_ids: pairs run there as on torch
        output = tmp_path / f"{backend}.jsonl"
        assert run_predict(pair_regression_run, "--data", data, "--output", output, "--backend", backend) == 0
        result = pd.read_json(output, lines=True)
        assert list(result.columns) == ["sentence1", "sentence2", "value"]
        np.testing.assert_allclose(result["value"], expected, atol=1e-3)


def test_a_pair_model_names_the_missing_second_column(pair_regression_run, pairs, tmp_path) -> None:
    data = tmp_path / "firsts.csv"
    pairs[["sentence1"]].to_csv(data, index=False)
    with pytest.raises(DataError, match=r"no column 'sentence2'.*--text-pair-column"):
        predict(PredictConfig(str(pair_regression_run), data, tmp_path / "out.csv", backend="torch"))
    renamed = tmp_path / "renamed.csv"
    pairs.rename(columns={"sentence2": "second"}).to_csv(renamed, index=False)
    cfg = PredictConfig(str(pair_regression_run), renamed, tmp_path / "out.csv", backend="torch",
                        text_pair_column="second", progress=False)
    assert predict(cfg).rows_written == len(pairs)


@pytest.mark.parametrize("options, message", [
    ({"threshold": 0.5}, "drop --threshold"),  # a regression model has no labels to threshold
    ({"threshold": 1.5}, "between 0 and 1"),
    ({"text_pair_column": "sentence1", "text_column": "sentence1"}, "both 'sentence1'"),
    ({"label_separator": ""}, "--label-separator is empty"),
])
def test_options_that_do_not_fit_are_refused(pair_regression_run, pairs, tmp_path, options, message) -> None:
    data = tmp_path / "pairs.csv"
    pairs.to_csv(data, index=False)
    with pytest.raises(ConfigError, match=message):
        predict(PredictConfig(str(pair_regression_run), data, tmp_path / "out.csv", backend="torch", **options))


def test_a_single_text_model_refuses_a_pair_column(multi_label_run, messages, tmp_path) -> None:
    data = tmp_path / "messages.csv"
    messages.to_csv(data, index=False)
    with pytest.raises(ConfigError, match="reads single texts.*drop --text-pair-column"):
        predict(PredictConfig(str(multi_label_run), data, tmp_path / "out.csv", text_pair_column="truth"))


def test_evaluate_on_the_recorded_split_repeats_training(multi_label_run, pair_regression_run) -> None:
    for run, key in ((multi_label_run, "test_micro_f1"), (pair_regression_run, "test_rmse")):
        trained = json.loads((run / "metrics.json").read_text())
        metrics = evaluate_model(run)
        assert metrics["same_split_as_training"] is True and metrics["problem_type"] == trained["problem_type"]
        assert metrics[key] == pytest.approx(trained[key], abs=1e-4)
    assert "test_accuracy" not in metrics and "test_macro_f1" not in metrics  # regression has neither


def test_evaluate_a_file_of_delimited_labels_and_one_of_pairs(multi_label_run, pair_regression_run, messages, pairs,
                                                               tmp_path) -> None:
    labelled = tmp_path / "labelled.csv"
    messages.to_csv(labelled, index=False)
    assert main(["evaluate", str(multi_label_run), "--data", str(labelled), "--label-column", "truth",
                 "--label-separator", ",", "--output", str(tmp_path / "eval")]) == 0
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert metrics["test_size"] == 30 and 0 <= metrics["test_micro_f1"] <= 1 and "test_hamming_loss" in metrics
    assert not (tmp_path / "eval" / "confusion_matrix.png").exists()
    scored = tmp_path / "pairs.csv"
    pairs.to_csv(scored, index=False)  # sentence2, the recorded second column, is found without an option
    metrics = evaluate_model(pair_regression_run, DataConfig(source=str(scored), text_column="sentence1",
                                                             label_column="score"))
    assert metrics["test_size"] == 25 and metrics["test_rmse"] > 0


def test_evaluate_names_unknown_labels_and_a_missing_pair_column(multi_label_run, pair_regression_run, messages,
                                                                  pairs, tmp_path) -> None:
    odd = messages.head(5).assign(truth="food,volcano")
    odd.to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(DataError, match="volcano"):
        evaluate_model(multi_label_run, DataConfig(source=str(tmp_path / "odd.csv"), label_column="truth",
                                                   label_separator=","))
    pairs.drop(columns="sentence2").to_csv(tmp_path / "firsts.csv", index=False)
    with pytest.raises(DataError, match="sentence2"):
        evaluate_model(pair_regression_run, DataConfig(source=str(tmp_path / "firsts.csv"),
                                                       text_column="sentence1", label_column="score"))

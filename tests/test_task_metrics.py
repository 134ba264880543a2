"""Metrics, thresholds, baselines and the no-skill verdicts of multi-label and regression runs."""

from pathlib import Path

import numpy as np
import pytest
from tiny_tasks import MULTI_LABEL_DATA, PAIRS_DATA

from tp.config import DataConfig
from tp.data.prepare import prepare_data
from tp.evaluation.baselines import compute_baselines
from tp.evaluation.problem_metrics import regression_metrics, score_outputs, tune_thresholds
from tp.evaluation.skill_check import format_summary, skill_warnings
from tp.tasks import MULTI_LABEL, REGRESSION


def test_thresholds_are_tuned_per_label_to_where_its_f1_peaks() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, size=(400, 2))
    # label 0 scores ~0.8 when on, ~0.6 when off (a threshold of 0.5 says yes to everything); label 1 is calibrated
    probabilities = np.where(truth == 1, [0.8, 0.7], [0.6, 0.3]) + rng.normal(0, 0.03, size=(400, 2))
    logits = np.log(probabilities / (1 - probabilities))
    thresholds = tune_thresholds(truth, logits)
    assert 0.6 < thresholds[0] < 0.8 and 0.3 < thresholds[1] < 0.7
    tuned = score_outputs(MULTI_LABEL, truth, logits, ["a", "b"], thresholds)
    plain = score_outputs(MULTI_LABEL, truth, logits, ["a", "b"])
    assert tuned["test_micro_f1"] > plain["test_micro_f1"] and tuned["test_micro_f1"] > 0.95


def test_a_rare_label_is_not_given_a_threshold_that_floods_the_other_rows() -> None:
    rng = np.random.default_rng(0)
    common = rng.integers(0, 2, 500)
    rare = np.zeros(500, dtype=int)
    rare[7] = 1
    truth = np.stack([common, rare], axis=1)
    scores = np.stack([np.where(common == 1, 0.9, 0.1), rng.uniform(0.2, 0.3, 500)], axis=1)
    scores[7, 1] = 0.29  # the one positive scores like the negatives around it
    thresholds = tune_thresholds(truth, np.log(scores / (1 - scores)))
    # tuned on its own F1, the rare label would get 0.25 or so and be predicted for ~40% of the rows
    assert thresholds[1] > 0.3 and (scores[:, 1] >= thresholds[1]).sum() == 0
    assert score_outputs(MULTI_LABEL, truth, np.log(scores / (1 - scores)), ["a", "b"], thresholds)[
        "test_micro_f1"] == pytest.approx(2 * 250 / (2 * 250 + 1), abs=0.02)


def test_regression_metrics_of_a_perfect_and_a_constant_prediction() -> None:
    truth = np.linspace(0, 5, 50)
    perfect = regression_metrics(truth, truth)
    assert perfect["test_rmse"] == 0 and perfect["test_spearman"] == pytest.approx(1.0)
    constant = regression_metrics(truth, np.full(50, truth.mean()))
    assert constant["test_pearson"] == 0.0 and constant["test_r2"] == pytest.approx(0.0)


@pytest.fixture(scope="module")
def multi_label_data():
    return prepare_data(DataConfig(source=str(MULTI_LABEL_DATA), label_column="labels"))


@pytest.fixture(scope="module")
def pair_data():
    return prepare_data(DataConfig(source=str(PAIRS_DATA), text_column="sentence1", text_pair_column="sentence2",
                                   label_column="score", task="regression"))


def test_multi_label_baselines_on_real_messages(multi_label_data) -> None:
    found = compute_baselines(multi_label_data.splits, multi_label_data.labels, MULTI_LABEL)
    assert set(found) == {"majority", "chance", "frequent", "tfidf_logreg"}
    assert found["majority"]["predicts"] == []  # most messages carry no aid category
    assert found["tfidf_logreg"]["micro_f1"] > found["chance"]["micro_f1"] + 0.1  # the words do tell


def test_the_chance_baseline_is_the_expectation_of_guessing_at_the_training_rates(multi_label_data) -> None:
    from tp.evaluation.problem_metrics import multi_label_metrics

    found = compute_baselines(multi_label_data.splits, multi_label_data.labels, MULTI_LABEL)["chance"]
    train = np.asarray(multi_label_data.splits["train"]["label"])
    test = np.asarray(multi_label_data.splits["test"]["label"], dtype=int)
    rng = np.random.default_rng(0)
    draws = [multi_label_metrics(test, (rng.random(test.shape) < train.mean(axis=0)).astype(int), ["x"] * 33)
             for _ in range(200)]
    assert found["hamming_loss"] == pytest.approx(np.mean([d["test_hamming_loss"] for d in draws]), abs=0.005)
    # micro-F1's expectation is a ratio of expectations: close to the simulated mean, not equal to it
    assert found["micro_f1"] == pytest.approx(np.mean([d["test_micro_f1"] for d in draws]), abs=0.02)


def test_regression_baselines_on_real_pairs(pair_data) -> None:
    found = compute_baselines(pair_data.splits, pair_data.labels, REGRESSION)
    assert found["mean"]["spearman"] == 0.0 and abs(found["mean"]["r2"]) < 0.1
    assert found["tfidf_ridge"]["spearman"] > 0.1  # word overlap of the two sentences says something
    assert "element-wise product" in found["tfidf_ridge"]["description"]


def test_a_constant_regression_model_is_flagged_and_a_good_one_is_not(pair_data) -> None:
    baselines = compute_baselines(pair_data.splits, pair_data.labels, REGRESSION)
    truth = np.asarray(pair_data.splits["test"]["label"])
    constant = {**regression_metrics(truth, np.full(len(truth), 2.5)), "problem_type": REGRESSION.name}
    codes = {w["code"] for w in skill_warnings(constant, baselines, ["score"])}
    assert codes == {"no_skill", "one_class", "below_baseline"}
    close = truth + np.random.default_rng(0).normal(0, 0.3, len(truth))
    good = {**regression_metrics(truth, close), "problem_type": REGRESSION.name}
    assert skill_warnings(good, baselines, ["score"]) == []
    assert "spearman" in format_summary({**good, "baselines": baselines})


def test_a_multi_label_model_that_predicts_nothing_is_flagged(multi_label_data) -> None:
    labels = multi_label_data.labels
    baselines = compute_baselines(multi_label_data.splits, labels, MULTI_LABEL)
    truth = np.asarray(multi_label_data.splits["test"]["label"], dtype=int)
    silent = {**score_outputs(MULTI_LABEL, truth, np.full(truth.shape, -5.0), labels), "problem_type": MULTI_LABEL.name}
    assert {w["code"] for w in skill_warnings(silent, baselines, labels)} >= {"no_skill", "one_class"}
    oracle = {**score_outputs(MULTI_LABEL, truth, np.where(truth == 1, 5.0, -5.0), labels),
              "problem_type": MULTI_LABEL.name}
    assert skill_warnings(oracle, baselines, labels) == []


def test_positive_weights_for_rare_labels_and_a_label_no_training_row_carries() -> None:
    from tp.training.objectives import MAX_POSITIVE_WEIGHT, positive_weights

    rows = [[1, 0, 0]] * 40 + [[0, 1, 0]] * 2 + [[0, 0, 0]] * 8
    weights, why = positive_weights("auto", rows, ["common", "rare", "never"])
    assert weights[0] == 1.0  # 10 negatives / 40 positives, raised to 1: a common label is never down-weighted
    assert weights[1] == MAX_POSITIVE_WEIGHT  # 48 negatives / 2 positives = 24, capped
    assert "rarest 'rare': 2 of 50 rows" in why and "no training row carries 'never'" in why
    assert positive_weights("none", rows, ["common", "rare", "never"])[0] is None
    assert positive_weights("auto", [[1, 0], [0, 1]], ["a", "b"])[0] is None  # even labels: plain BCE


def test_the_frequent_labels_baseline_is_the_best_constant_set_and_a_floor_for_skill(multi_label_data) -> None:
    from tp.evaluation.baselines_beyond import frequent_labels

    assert frequent_labels(np.array([[1, 1, 0], [1, 0, 0], [1, 1, 0], [0, 0, 1]])) == [0, 1]
    labels = multi_label_data.labels
    baselines = compute_baselines(multi_label_data.splits, labels, MULTI_LABEL)
    truth = np.asarray(multi_label_data.splits["test"]["label"], dtype=int)
    # a model that learned nothing but whose thresholds put the common labels on every row
    constant = np.where(np.isin(np.arange(len(labels)), [labels.index(n) for n in baselines["frequent"]["predicts"]]),
                        5.0, -5.0)
    scored = {**score_outputs(MULTI_LABEL, truth, np.tile(constant, (len(truth), 1)), labels),
              "problem_type": MULTI_LABEL.name}
    assert scored["test_micro_f1"] > baselines["chance"]["micro_f1"]  # it would pass a floor of chance alone
    assert "no_skill" in {w["code"] for w in skill_warnings(scored, baselines, labels)}


def test_multi_label_full_fine_tuning_defaults_to_a_higher_learning_rate(tmp_path: Path) -> None:
    from transformers import BertConfig

    from tp.config import load_recipe
    from tp.training.defaults import resolve_recipe

    recipe = load_recipe(None, ["method.name=full"])
    multi, choices = resolve_recipe(recipe, 4000, 34, problem_type="multi_label_classification")
    assert multi.training.learning_rate == 3e-4 and "multi-label head on a 23 M-parameter base" in " ".join(choices)
    BertConfig().save_pretrained(tmp_path)  # BERT-base's shape: 110 M parameters, over the small-base bound
    large = load_recipe(None, ["method.name=full", f"model.source={tmp_path}"])
    multi, choices = resolve_recipe(large, 4000, 34, problem_type="multi_label_classification")
    assert multi.training.learning_rate == 1e-4 and "110 M-parameter base (over 40 M" in " ".join(choices)
    assert resolve_recipe(recipe, 4000, 34)[0].training.learning_rate == 5e-5
    assert resolve_recipe(load_recipe(None, ["method.name=lora"]), 4000, 34,
                          problem_type="multi_label_classification")[0].training.learning_rate == 1e-3

"""Training, saving and reloading multi-label and pair-regression runs (tiny BERTs, real data): the run folder,
reload parity with thresholds and scale kept, the stock pipeline, the card's model-index, every method."""

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_tasks import MULTI_LABEL_SETTINGS, PAIR_REGRESSION_SETTINGS, train_tiny

from tp.config import DataConfig
from tp.data.prepare import prepare_data
from tp.models.loading import load_classifier


def _read(run: Path, name: str) -> dict:
    return json.loads((run / name).read_text())


def test_a_multi_label_run_records_thresholds_metrics_and_its_report(multi_label_run: Path) -> None:
    info, metrics = _read(multi_label_run, "tp.json"), _read(multi_label_run, "metrics.json")
    assert info["problem_type"] == metrics["problem_type"] == "multi_label_classification"
    assert len(info["thresholds"]) == len(info["labels"]) == 33
    assert all(0.05 <= t <= 0.95 for t in info["thresholds"])
    for key in ("test_micro_f1", "test_macro_f1", "test_accuracy", "test_hamming_loss", "test_per_class"):
        assert key in metrics, key
    assert set(metrics["baselines"]) == {"majority", "chance", "frequent", "tfidf_logreg"}
    assert (multi_label_run / "reports/label_scores.png").is_file()
    assert not (multi_label_run / "reports/confusion_matrix.png").exists()
    config = _read(multi_label_run, "model/config.json")
    assert config["problem_type"] == "multi_label_classification" and len(config["id2label"]) == 33


def test_a_pair_regression_run_records_its_scale_and_scores_in_original_units(pair_regression_run: Path) -> None:
    info, metrics = _read(pair_regression_run, "tp.json"), _read(pair_regression_run, "metrics.json")
    assert info["problem_type"] == "regression" and info["text_pair"] is True and info["labels"] == ["score"]
    assert set(info["target_scale"]) == {"mean", "std"} and 0 < info["target_scale"]["mean"] < 5
    for key in ("test_mae", "test_rmse", "test_r2", "test_pearson", "test_spearman"):
        assert key in metrics, key
    assert "test_accuracy" not in metrics
    assert set(metrics["baselines"]) == {"mean", "tfidf_ridge"}
    assert (pair_regression_run / "reports/predicted_vs_true.png").is_file()
    config = _read(pair_regression_run, "model/config.json")
    assert config["problem_type"] == "regression" and len(config["id2label"]) == 1
    # the recorded test metrics are reproduced by the reloaded model on the recorded split, in the targets' units
    data = prepare_data(DataConfig(source=info["data"]["source"], text_column="sentence1",
                                   text_pair_column="sentence2", label_column="score", task="regression"))
    classifier = load_classifier(pair_regression_run)
    test = data.splits["test"]
    values = [p["value"] for p in classifier.predict(list(zip(test["text"], test["text_pair"], strict=True)))]
    rmse = float(np.sqrt(np.mean((np.asarray(values) - np.asarray(test["label"])) ** 2)))
    assert rmse == pytest.approx(metrics["test_rmse"], abs=1e-4)


def test_reloaded_multi_label_model_keeps_thresholds_and_matches_the_stock_pipeline(multi_label_run: Path) -> None:
    from transformers import pipeline

    classifier = load_classifier(multi_label_run)
    info = _read(multi_label_run, "tp.json")
    assert classifier.thresholds == info["thresholds"] and classifier.problem.name == "multi_label_classification"
    texts = info["examples"][:3]
    ours = classifier.predict(texts)
    stock = pipeline("text-classification", model=str(multi_label_run / "model"), top_k=None,
                     function_to_apply="sigmoid")(texts)
    for mine, theirs in zip(ours, stock, strict=True):
        scores = {s["label"]: s["score"] for s in mine["scores"]}
        assert {s["label"]: pytest.approx(scores[s["label"]], abs=1e-5) for s in theirs} == scores
        above = [s["label"] for s in mine["scores"] if s["score"] >= s["threshold"]]
        assert mine["labels"] == above
    # one threshold for every label, asked for per call: all labels at 0, none at 1
    assert len(classifier.predict(texts[:1], threshold=0.0)[0]["labels"]) == len(info["labels"])
    assert classifier.predict(texts[:1], threshold=1.0)[0]["labels"] == []


def test_reloaded_pair_model_matches_the_stock_pipeline_on_pairs(pair_regression_run: Path) -> None:
    from transformers import pipeline

    classifier = load_classifier(pair_regression_run)
    pairs = [example for example in _read(pair_regression_run, "tp.json")["examples"]][:3]
    ours = classifier.predict(classifier.open([{"text": a, "text_pair": b} for a, b in pairs]))
    stock = pipeline("text-classification", model=str(pair_regression_run / "model"), function_to_apply="none")
    for (a, b), mine in zip(pairs, ours, strict=True):
        assert stock({"text": a, "text_pair": b})["score"] == pytest.approx(mine["value"], abs=1e-4)
    swapped = classifier.predict([(b, a) for a, b in pairs])  # the order of a pair matters to the encoder
    assert any(abs(x["value"] - y["value"]) > 1e-6 for x, y in zip(ours, swapped, strict=True))


@pytest.mark.parametrize("run_fixture", ["multi_label_run", "pair_regression_run"])
def test_the_card_carries_the_problems_metrics_in_a_model_index_the_hub_parses(
        run_fixture: str, request: pytest.FixtureRequest) -> None:
    from huggingface_hub import ModelCard

    run = request.getfixturevalue(run_fixture)
    metrics = _read(run, "metrics.json")
    card = ModelCard.load(run / "README.md")
    kinds = {(r.metric_type, r.metric_name): r.metric_value for r in card.data.eval_results}
    if run_fixture == "multi_label_run":
        assert kinds[("f1", "micro F1")] == round(metrics["test_micro_f1"], 4)
        assert ("hamming_loss", "Hamming loss") in kinds and 'function_to_apply="sigmoid"' in card.text
        assert card.data.to_dict().get("widget")
    else:
        assert kinds[("rmse", "RMSE")] == round(metrics["test_rmse"], 4)
        assert ("spearmanr", "Spearman ρ") in kinds and 'function_to_apply="none"' in card.text
        assert "'text_pair'" in card.text and not card.data.to_dict().get("widget")  # the Hub's widget takes one text
    assert card.data.pipeline_tag == "text-classification"


@pytest.mark.parametrize("method", ["full", "head", "freeze"])
def test_every_method_trains_both_problems_and_saves_a_model_that_reloads(method: str, tiny_bert_dir: Path,
                                                                          tmp_path: Path) -> None:
    multi = train_tiny(tiny_bert_dir, tmp_path, f"multi-{method}", MULTI_LABEL_SETTINGS, method)
    pairs = train_tiny(tiny_bert_dir, tmp_path, f"pairs-{method}", PAIR_REGRESSION_SETTINGS, method)
    for run in (multi, pairs):
        assert _read(run, "metrics.json")["merge_max_logit_diff"] < 1e-4
        assert load_classifier(run).predict(load_classifier(run).open(_read(run, "tp.json")["examples"][:1]))


def test_tp_train_flags_name_the_task_and_a_search_of_a_regression_is_refused(tiny_bert_dir: Path, tmp_path: Path,
                                                                              capsys: pytest.CaptureFixture) -> None:
    from tiny_tasks import PAIRS_DATA, QUICK

    from tp.cli.main import main

    common = ["train", "--data", str(PAIRS_DATA), "--text-column", "sentence1", "--text-pair-column", "sentence2",
              "--label-column", "score", "--task", "regression", "--output", str(tmp_path), "--name", "cli",
              "--set", f"model.source={tiny_bert_dir}", *[arg for item in QUICK for arg in ("--set", item)]]
    assert main([*common, "--search", "2"]) == 2
    assert "regression run does not have" in capsys.readouterr().err
    assert main(common) == 0
    assert _read(tmp_path / "cli", "tp.json")["problem_type"] == "regression"

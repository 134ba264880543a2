"""Training that holds up on messy data: baselines, the no-skill check, class weights, model selection,
defaults chosen from the data, and the search. Tiny BERT (MiniLM's real tokenizer), real BBC texts."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tp.config import load_recipe
from tp.evaluation.skill_check import is_flagged, skill_warnings
from tp.training.train import train

TINY = ["model.max_length=32", "training.batch_size=16", "training.logging_steps=1"]


def _run(tiny_bert_dir: Path, csv: Path, output: Path, name: str, *overrides: str) -> Path:
    recipe = load_recipe(None, [f"model.source={tiny_bert_dir}", f"data.source={csv}", *TINY,
                                f"output_dir={output}", f"name={name}", *overrides])
    return train(recipe)


@pytest.fixture(scope="module")
def random_labels_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path) -> Path:
    """600 real BBC articles whose labels are coin flips: nothing to learn."""
    from tp.data.sources import read_bbc_news

    folder = tmp_path_factory.mktemp("random")
    frame = read_bbc_news().sample(600, random_state=0)
    frame["label"] = np.random.default_rng(0).choice(["heads", "tails"], len(frame))
    frame.to_csv(folder / "coins.csv", index=False)
    return _run(tiny_bert_dir, folder / "coins.csv", folder, "coins", "training.max_steps=12",
                "method.name=full", "training.learning_rate=0.001")


def test_random_labels_are_flagged_as_no_better_than_the_majority(random_labels_run: Path) -> None:
    metrics = json.loads((random_labels_run / "metrics.json").read_text())
    assert {"majority", "chance", "tfidf_logreg"} <= set(metrics["baselines"])
    assert is_flagged(metrics["warnings"]) and metrics["warnings"][0]["code"] in ("no_skill", "one_class")
    card = (random_labels_run / "README.md").read_text()
    assert "Warning: this model has not learned its task" in card.split("# coins")[1][:400]  # a banner on top
    assert "Compared with baselines on the same test split" in card and "tfidf_logreg" in card
    counts = json.loads((random_labels_run / "data_split.json").read_text())["label_counts"]
    assert set(counts) == {"train", "validation", "test"} and sum(counts["test"].values()) == metrics["test_size"]
    assert "Label distribution per split" in card


def test_push_refuses_a_flagged_run_unless_forced(random_labels_run: Path, tmp_path: Path, capsys) -> None:
    from tp.cli.main import main

    assert main(["push", str(random_labels_run), "--repo-id", "me/coins", "--dry-run", str(tmp_path / "a")]) == 2
    assert "learned nothing" in capsys.readouterr().err and not (tmp_path / "a").exists()
    assert main(["push", str(random_labels_run), "--repo-id", "me/coins", "--dry-run", str(tmp_path / "b"),
                             "--force"]) == 0
    assert "has not learned its task" in (tmp_path / "b" / "README.md").read_text()


def test_no_skill_check_on_known_confusion_matrices() -> None:
    baselines = {"majority": {"accuracy": 0.64, "macro_f1": 0.26}, "chance": {"accuracy": 0.48, "macro_f1": 0.333},
                 "tfidf_logreg": {"accuracy": 0.75, "macro_f1": 0.50}}
    collapsed = {"test_macro_f1": 0.26, "test_size": 300,
                 "test_confusion_matrix": [[192, 0, 0], [81, 0, 0], [27, 0, 0]]}
    codes = [w["code"] for w in skill_warnings(collapsed, baselines, ["a", "b", "c"])]
    assert codes == ["no_skill", "one_class", "below_baseline"]  # the measured user's case: 100% of a 64% class
    skewed = {**collapsed, "test_confusion_matrix": [[270, 0, 0], [20, 0, 0], [10, 0, 0]]}
    assert "one_class" not in [w["code"] for w in skill_warnings(skewed, baselines, ["a", "b", "c"])]  # 90% is 90%
    learned = {"test_macro_f1": 0.56, "test_size": 300,
               "test_confusion_matrix": [[170, 15, 7], [30, 45, 6], [8, 6, 13]]}
    assert skill_warnings(learned, baselines, ["a", "b", "c"]) == []
    weak = {**learned, "test_macro_f1": 0.45}
    assert [w["severity"] for w in skill_warnings(weak, baselines, ["a", "b", "c"])] == ["warning"]


@pytest.fixture(scope="module")
def imbalanced_csv(tmp_path_factory: pytest.TempPathFactory, bbc_frame: pd.DataFrame) -> Path:
    """Real BBC topics cut to 24 / 12 / 4 articles: a 6x imbalance."""
    parts = [bbc_frame[bbc_frame.label == name].head(n) for name, n in (("sports", 24), ("tech", 12), ("politics", 4))]
    path = tmp_path_factory.mktemp("imbalanced") / "news.csv"
    pd.concat(parts).sample(frac=1, random_state=0).to_csv(path, index=False)
    return path


def test_imbalanced_data_trains_with_balanced_class_weights(imbalanced_csv: Path, tiny_bert_dir: Path,
                                                            tmp_path: Path) -> None:
    run = _run(tiny_bert_dir, imbalanced_csv, tmp_path, "weighted", "training.max_steps=3", "method.name=full")
    metrics = json.loads((run / "metrics.json").read_text())
    split = json.loads((run / "data_split.json").read_text())["label_counts"]["train"]
    total = sum(split.values())
    assert metrics["class_weights"] == {name: pytest.approx(total / (len(split) * n), abs=1e-3)
                                       for name, n in split.items()}
    assert any("balanced class weights" in line for line in metrics["choices"])
    plain = _run(tiny_bert_dir, imbalanced_csv, tmp_path, "plain", "training.max_steps=3", "method.name=full",
                 "training.class_weights=none")
    assert json.loads((plain / "metrics.json").read_text())["class_weights"] is None


def test_the_best_checkpoint_by_validation_macro_f1_is_the_one_kept(bbc_frame: pd.DataFrame, tiny_bert_dir: Path,
                                                                    tmp_path: Path) -> None:
    bbc_frame.to_csv(tmp_path / "news.csv", index=False)
    run = _run(tiny_bert_dir, tmp_path / "news.csv", tmp_path, "best", "training.max_steps=8", "method.name=full",
               "training.learning_rate=0.003", "training.eval_strategy=steps", "training.eval_steps=1")
    log = json.loads((run / "reports" / "training_log.json").read_text())
    evals = [(e["eval_macro_f1"], e["step"]) for e in log if "eval_macro_f1" in e]
    best_f1 = max(f1 for f1, _ in evals)
    selection = json.loads((run / "metrics.json").read_text())["selection"]
    assert selection["value"] == pytest.approx(best_f1, abs=1e-4)
    assert selection["step"] == min(step for f1, step in evals if f1 == best_f1)  # the first at the best value
    # the saved model is that checkpoint: it scores the best value on the validation split again
    from tp.data.prepare import prepare_data
    from tp.evaluation.evaluate import evaluate_classifier, recorded_data_config
    from tp.models.loading import load_classifier

    data = prepare_data(recorded_data_config(run))
    scored = evaluate_classifier(load_classifier(run), data.splits["validation"]["text"],
                                 data.splits["validation"]["label"])
    assert scored["test_macro_f1"] == pytest.approx(best_f1, abs=1e-4)


def test_defaults_are_chosen_from_the_data_and_printed(tiny_bert_dir: Path, imbalanced_csv: Path, tmp_path: Path,
                                                       capsys) -> None:
    from tp.training.defaults import resolve_recipe

    recipe = load_recipe(None, [f"model.source={tiny_bert_dir}"])
    resolved, choices = resolve_recipe(recipe, train_rows=540, num_labels=3)
    assert resolved.method.name == "full" and resolved.training.learning_rate == 5e-5
    assert resolved.training.max_steps == 200  # 3 epochs of 34 steps would be 102: the floor wins
    assert resolved.training.eval_strategy == "steps" and resolved.training.eval_steps == 34  # every epoch
    assert any("method full" in line for line in choices) and any("200 optimizer steps" in line for line in choices)
    lora = load_recipe(None, [f"model.source={tiny_bert_dir}", "method.name=lora", "training.epochs=1"])
    resolved, _ = resolve_recipe(lora, train_rows=16_000, num_labels=3)
    assert resolved.training.learning_rate == 1e-3 and resolved.training.max_steps == -1  # 1000 steps: no floor
    assert resolved.training.eval_steps == 200  # at least 5 evaluations in a one-epoch run

    from tp.cli.main import main

    code = main(["train", "--data", str(imbalanced_csv), "--text-column", "text", "--label-column", "label",
                              "--output", str(tmp_path), "--name", "cli", "--max-steps", "2",
                              "--set", f"model.source={tiny_bert_dir}", "--set", "model.max_length=32"])
    out = capsys.readouterr().out
    assert code == 0 and "label distribution" in out and "tp chose method full" in out
    assert "tp chose balanced class weights" in out and "LOAD REPORT" not in out
    assert out.rstrip().splitlines()[-1].startswith(("NO SKILL", "WARNING", "run folder"))


def test_a_search_records_every_trial_and_keeps_the_best(bbc_frame: pd.DataFrame, tiny_bert_dir: Path,
                                                         tmp_path: Path) -> None:
    from tp.training.search import SearchConfig, search

    bbc_frame.to_csv(tmp_path / "news.csv", index=False)
    recipe = load_recipe(None, [f"model.source={tiny_bert_dir}", f"data.source={tmp_path / 'news.csv'}", *TINY,
                                f"output_dir={tmp_path}", "name=searched", "training.epochs=0.3",
                                "training.min_steps=0"])
    run = search(recipe, SearchConfig(trials=3, time_budget_minutes=10))
    report = json.loads((run / "reports" / "search.json").read_text())
    assert [row["trial"] for row in report["trials"]] == [1, 2, 3] and report["trials"][0]["defaults"]
    best = max(row["validation_macro_f1"] for row in report["trials"])
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["search"]["best_validation_macro_f1"] == best >= metrics["search"]["defaults_validation_macro_f1"]
    assert metrics["selection"]["value"] == pytest.approx(best)
    assert (run / "reports" / "search.png").is_file() and "reports/search.md" in (run / "README.md").read_text()
    assert not list(tmp_path.glob(".searched*"))  # the trials' work folder is gone

"""Integration: real MiniLM, real BBC News articles, a few LoRA steps, the whole run folder."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tp.config import load_recipe
from tp.errors import TrainingError
from tp.models.loading import load_classifier
from tp.training.train import train

QUICK = ["data.max_train_samples=48", "data.max_eval_samples=24", "model.max_length=64",
         "training.max_steps=4", "training.batch_size=8", "training.eval_strategy=steps", "training.eval_steps=2",
         "training.logging_steps=1"]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("runs")
    recipe = load_recipe(ROOT / "configs/bbc-minilm-lora.yaml", [*QUICK, f"output_dir={output}", "name=quick"])
    return train(recipe)


def test_run_folder_has_everything(lora_run: Path) -> None:
    for name in ("adapter/adapter_model.safetensors", "adapter/adapter_config.json", "model/model.safetensors",
                 "model/config.json", "model/tokenizer.json", "metrics.json", "config.yaml", "tp.json",
                 "data_split.json", "reports/confusion_matrix.png", "reports/training_curves.png", "README.md"):
        assert (lora_run / name).is_file(), name
    assert not list(lora_run.rglob("*.bin")) and not list(lora_run.rglob("*.pt"))  # safetensors only
    assert not (lora_run.parent / ".quick.partial").exists()  # the work folder is gone after the rename
    metrics = json.loads((lora_run / "metrics.json").read_text())
    for key in ("test_accuracy", "test_macro_f1", "test_per_class", "test_size", "eval_loss", "train_seconds",
                "trainable_params", "total_params", "peak_rss_bytes", "base_model", "dataset", "versions", "seed"):
        assert key in metrics, key
    assert metrics["trainable_params"] == 75_653 and metrics["test_size"] == 24
    assert metrics["merge_max_logit_diff"] < 1e-4
    adapter = json.loads((lora_run / "adapter/adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == "sentence-transformers/all-MiniLM-L6-v2"  # portable


def test_model_card_metadata_is_valid_for_the_hub(lora_run: Path) -> None:
    from huggingface_hub import ModelCard

    card = ModelCard.load(lora_run / "README.md")
    data = card.data.to_dict()
    assert data["base_model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert data["pipeline_tag"] == "text-classification" and data["library_name"] == "transformers"
    assert "datasets" not in data  # a built-in corpus is no Hub dataset id: no fake or local path
    metrics = json.loads((lora_run / "metrics.json").read_text())
    accuracy = card.data.eval_results[0]
    assert accuracy.metric_type == "accuracy" and accuracy.metric_value == round(metrics["test_accuracy"], 4)
    assert 'pipeline("text-classification"' in card.text


def test_stock_pipeline_gives_the_same_predictions_as_tp(lora_run: Path) -> None:
    from transformers import pipeline

    texts = json.loads((lora_run / "tp.json").read_text())["examples"]
    ours = load_classifier(lora_run).predict(texts)
    stock = pipeline("text-classification", model=str(lora_run / "model"), truncation=True, max_length=64)(texts)
    for mine, theirs in zip(ours, stock, strict=True):
        assert mine["label"] == theirs["label"]
        assert mine["score"] == pytest.approx(theirs["score"], abs=1e-4)


def test_adapter_alone_reloads_with_its_trained_head(lora_run: Path, tmp_path: Path) -> None:
    """The classic peft pitfall: a head that was not saved reloads random. Ours is restored."""
    adapter_only = tmp_path / "adapter-only"
    shutil.copytree(lora_run, adapter_only, ignore=shutil.ignore_patterns("model"))
    texts = json.loads((lora_run / "tp.json").read_text())["examples"]
    merged = load_classifier(lora_run).predict_logits(texts)
    from_adapter = load_classifier(adapter_only).predict_logits(texts)
    assert np.abs(merged - from_adapter).max() < 1e-4


def test_evaluate_script_reproduces_the_recorded_split(lora_run: Path, tmp_path: Path, capsys) -> None:
    from tp.cli.main import main

    assert main(["evaluate", str(lora_run), "--output", str(tmp_path / "eval")]) == 0
    result = json.loads((tmp_path / "eval/metrics.json").read_text())
    trained = json.loads((lora_run / "metrics.json").read_text())
    assert result["same_split_as_training"] is True
    assert result["test_accuracy"] == pytest.approx(trained["test_accuracy"])
    assert (tmp_path / "eval/confusion_matrix.png").is_file()


def test_existing_run_and_leftover_work_folder_are_not_clobbered(lora_run: Path) -> None:
    recipe = load_recipe(ROOT / "configs/bbc-minilm-lora.yaml", [*QUICK, f"output_dir={lora_run.parent}",
                                                                 "name=quick"])
    with pytest.raises(TrainingError, match="already exists: pass --overwrite"):
        train(recipe)
    leftover = lora_run.parent / ".other.partial"
    leftover.mkdir()
    other = load_recipe(None, [*QUICK, f"output_dir={lora_run.parent}", "name=other"])
    with pytest.raises(TrainingError, match="pass --resume to continue it"):
        train(other)


@pytest.mark.parametrize("method", ["full", "head", "freeze"])
def test_other_methods_on_a_csv_with_string_labels(method: str, tiny_bert_dir: Path, bbc_frame: pd.DataFrame,
                                                   tmp_path: Path) -> None:
    csv = tmp_path / "news.csv"
    bbc_frame.rename(columns={"label": "topic"}).to_csv(csv, index=False)
    recipe = load_recipe(None, [f"model.source={tiny_bert_dir}", f"data.source={csv}", "data.label_column=topic",
                                f"method.name={method}", "method.train_last_n_blocks=1", "model.max_length=32",
                                "training.max_steps=2", "training.batch_size=8", "training.learning_rate=0.0001",
                                f"output_dir={tmp_path}", f"name={method}"])
    run = train(recipe)
    info = json.loads((run / "tp.json").read_text())
    assert info["labels"] == ["business", "entertainment", "politics", "sports", "tech"]
    assert not (run / "adapter").exists()
    classifier = load_classifier(run)
    assert classifier.predict(["Shares fell sharply."])[0]["label"] in info["labels"]

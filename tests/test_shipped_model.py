"""The default model committed under models/bbc-news-minilm: small, accurate, and reproducible."""

import json
from pathlib import Path

import pytest
from shipped import as_cloned

from tp.evaluation.evaluate import evaluate_model
from tp.models.loading import load_classifier

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "bbc-news-minilm"


def test_shipped_folder_is_small_and_complete() -> None:
    for name in ("adapter/adapter_model.safetensors", "adapter/adapter_config.json", "tp.json", "metrics.json",
                 "config.yaml", "data_split.json", "README.md", "reports/confusion_matrix.png",
                 "reports/training_curves.png"):
        assert (SHIPPED / name).is_file(), name
    assert (SHIPPED / "adapter/adapter_model.safetensors").stat().st_size < 1_000_000
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.98 and metrics["test_size"] == 445


@pytest.fixture(scope="module")
def adapter_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a fresh clone has: no merged model/ folder (it is git-ignored)."""
    return as_cloned(SHIPPED, tmp_path_factory.mktemp("clone"))


def test_adapter_only_folder_classifies_one_example_of_each_topic(adapter_only: Path) -> None:
    classifier = load_classifier(adapter_only)
    info = json.loads((adapter_only / "tp.json").read_text())
    predicted = [p["label"] for p in classifier.predict(info["examples"])]
    assert predicted == info["labels"]  # the examples are the first test article of each topic, in order


def test_recorded_test_split_reproduces_the_recorded_accuracy(adapter_only: Path) -> None:
    result = evaluate_model(adapter_only)
    recorded = json.loads((adapter_only / "metrics.json").read_text())
    assert result["same_split_as_training"] is True
    assert result["test_size"] == 445
    assert result["test_accuracy"] == pytest.approx(recorded["test_accuracy"], abs=1 / 445)

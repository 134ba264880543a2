"""Loading and running an image classifier (tiny random ViT): shapes, label order, stock-pipeline parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tp.models.classifier import TextClassifier
from tp.models.image_classifier import ImageClassifier, is_image_model
from tp.models.loading import load_classifier


def _images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)),  # odd size: resized
            Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8), mode="L"),  # greyscale
            Image.fromarray(rng.integers(0, 256, (32, 32, 4), dtype=np.uint8), mode="RGBA")]


def test_is_image_model() -> None:
    assert is_image_model({"architectures": ["ViTForImageClassification"]})
    assert is_image_model({"model_type": "vit"})
    assert not is_image_model({"architectures": ["BertForSequenceClassification"], "model_type": "bert"})


def test_model_folder_loads_as_image_classifier(tiny_vit_dir: Path) -> None:
    classifier = load_classifier(tiny_vit_dir)
    assert isinstance(classifier, ImageClassifier)
    assert classifier.labels == ["cat", "dog", "bird"] and classifier.task == "image-classification"
    results = classifier.predict(_images(), batch_size=2)
    assert len(results) == 3
    for result in results:
        assert [s["label"] for s in result["scores"]] != [] and result["label"] == result["scores"][0]["label"]
        assert sum(s["score"] for s in result["scores"]) == pytest.approx(1.0, abs=1e-5)


def test_matches_stock_pipeline(tiny_vit_dir: Path) -> None:
    from transformers import pipeline

    classifier = load_classifier(tiny_vit_dir)
    stock = pipeline("image-classification", model=str(tiny_vit_dir), device="cpu")
    for image, ours in zip(_images(), classifier.predict(_images()), strict=True):
        theirs = stock(image.convert("RGB"), top_k=3)
        assert theirs[0]["label"] == ours["label"]
        assert theirs[0]["score"] == pytest.approx(ours["score"], abs=1e-5)


def test_text_model_still_loads_as_text(tiny_bert_dir: Path, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=2)
    model.save_pretrained(tmp_path)
    AutoTokenizer.from_pretrained(tiny_bert_dir).save_pretrained(tmp_path)
    assert isinstance(load_classifier(tmp_path), TextClassifier)


def test_fast_lora_merge_equals_peft_merge_on_the_shipped_adapter() -> None:
    """The peft-free merge used for serving gives the same model as peft's merge_and_unload."""
    import json

    import torch
    from transformers import AutoTokenizer

    from tp.models.classifier import merge_adapter
    from tp.sources import resolve_model_source

    run = Path(__file__).resolve().parents[1] / "models" / "bbc-news-minilm"
    info = json.loads((run / "tp.json").read_text())
    fast = merge_adapter(run / "adapter", info["base_model"], info["labels"]).eval()
    slow = merge_adapter(run / "adapter", info["base_model"], info["labels"], use_peft=True).eval()
    fast_state, slow_state = fast.state_dict(), slow.state_dict()
    assert fast_state.keys() == slow_state.keys()
    assert max((fast_state[k] - slow_state[k]).abs().max().item() for k in fast_state) < 1e-5
    tokenizer = AutoTokenizer.from_pretrained(resolve_model_source(info["base_model"]).path)
    batch = tokenizer(info["examples"], truncation=True, max_length=64, padding=True, return_tensors="pt")
    with torch.inference_mode():
        assert torch.allclose(fast(**batch).logits, slow(**batch).logits, atol=1e-4)

"""Shared fixtures. Every test runs offline: the Hub is never contacted."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"  # before any Hugging Face import: tests never touch the network
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# ONNX exports made by the servers under test go to a cache of this run, never the user's ~/.cache/tp
CACHE_DIR = tempfile.mkdtemp(prefix="tp-test-cache-")
os.environ["TP_CACHE_DIR"] = CACHE_DIR
atexit.register(shutil.rmtree, CACHE_DIR, ignore_errors=True)

import pytest  # noqa: E402


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from tp.sources import builtin_path

    return builtin_path("builtin:minilm")


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory: pytest.TempPathFactory, minilm_dir: Path) -> Path:
    """A 2-layer, 32-wide BERT with MiniLM's real tokenizer: for fast unit tests only."""
    from tiny_tasks import save_tiny_bert

    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), minilm_dir)


@pytest.fixture(scope="session")
def bbc_frame():
    """120 real BBC News articles (24 per topic), string labels."""
    from tp.data.sources import read_bbc_news

    frame = read_bbc_news()
    return frame.groupby("label", group_keys=False).head(24).reset_index(drop=True)


@pytest.fixture(scope="session")
def tiny_vit_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide ViT image classifier (3 labels, 32x32 images, random weights): unit tests only."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    folder = tmp_path_factory.mktemp("tiny-vit")
    labels = ["cat", "dog", "bird"]
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                       intermediate_size=64, num_labels=3, id2label=dict(enumerate(labels)),
                       label2id={name: i for i, name in enumerate(labels)})
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def multi_label_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path) -> Path:
    """A multi-label run folder (LoRA, 6 steps, tiny BERT) on 400 real disaster messages with 33 labels."""
    from tiny_tasks import MULTI_LABEL_SETTINGS, train_tiny

    return train_tiny(tiny_bert_dir, tmp_path_factory.mktemp("runs"), "multi", MULTI_LABEL_SETTINGS)


@pytest.fixture(scope="session")
def pair_regression_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path) -> Path:
    """A text-pair regression run folder (LoRA, 6 steps, tiny BERT) on 400 real STS-B pairs scored 0-5."""
    from tiny_tasks import PAIR_REGRESSION_SETTINGS, train_tiny

    return train_tiny(tiny_bert_dir, tmp_path_factory.mktemp("runs"), "pairs", PAIR_REGRESSION_SETTINGS)

"""TP_MAX_BATCH_TOKENS: no forward pass holds more padded tokens than the budget (a single input excepted),
for texts (on top of the length grouping) and images, with the same predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tp.serving.inference import ImageInference, TextInference, group_by_length


def padded(groups: list[list[int]], lengths: list[int]) -> list[int]:
    return [len(group) * max(lengths[i] for i in group) for group in groups]


def test_the_budget_bounds_every_pass_and_never_splits_a_text() -> None:
    assert group_by_length([256] * 32, max_rows=32) == [list(range(32))]  # no budget: one pass of 8,192 tokens
    budgeted = group_by_length([256] * 32, max_rows=32, max_tokens=4096)
    assert [len(group) for group in budgeted] == [16, 16]
    mixed = [512, 20, 30, 500, 12, 480, 25, 510] * 4
    groups = group_by_length(mixed, max_rows=32, max_tokens=2048)
    assert sorted(i for group in groups for i in group) == list(range(len(mixed)))
    assert max(padded(groups, mixed)) <= 2048
    assert group_by_length([600, 10], max_rows=32, max_tokens=256) == [[1], [0]]  # 600 > budget: alone, whole


def test_text_passes_follow_the_budget(tiny_bert_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_bert_dir)
    lengths = [128] * 20 + [16] * 12
    passes = TextInference(None, tokenizer, max_tokens=128, max_rows=32, max_batch_tokens=1024).passes(lengths)
    assert all(len(group) * length <= 1024 for group, length in passes)
    assert sum(len(group) for group, _ in passes) == 32 and len(passes) == 4  # 8 + 8 + 4 long, then 12 short


def test_image_passes_follow_the_budget(tiny_vit_dir: Path) -> None:
    import torch
    from transformers import ViTForImageClassification, ViTImageProcessor

    model = ViTForImageClassification.from_pretrained(tiny_vit_dir).eval()
    processor = ViTImageProcessor.from_pretrained(tiny_vit_dir)
    rng = np.random.default_rng(1)
    images = [Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in range(5)]
    passes: list[tuple[int, int]] = []
    budgeted = ImageInference(model, processor, on_forward=lambda rows, n: passes.append((rows, n)),
                              max_batch_tokens=40)(images)  # 17 tokens an image: 2 images a pass
    assert passes == [(2, 17), (2, 17), (1, 17)]
    with torch.inference_mode():
        whole = ImageInference(model, processor)(images)
    for got, want in zip(budgeted, whole, strict=True):
        assert got.probabilities == pytest.approx(want.probabilities, abs=1e-5) and got.tokens == 17

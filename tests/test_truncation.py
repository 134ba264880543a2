"""One truncation rule (head or head_tail) at training, evaluation, serving, ONNX serving and explanations.

A 2-layer BERT with MiniLM's real tokenizer; a long text's last tokens must reach the model under head_tail.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tp.models.classifier import TextClassifier
from tp.models.explain_text import explain_text
from tp.models.loading import load_classifier
from tp.models.text_encoding import encode_texts
from tp.serving.inference import TextInference

MAX = 32
SHORT = "Shares rose after the results."
LONG = " ".join(f"word{i}" for i in range(200)) + " the verdict comes at the very end"


@pytest.fixture(scope="module")
def tiny(tiny_bert_dir: Path) -> tuple[object, object]:
    """(2-label sequence classifier with random head, tokenizer)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert_dir, num_labels=2).eval()
    return model, AutoTokenizer.from_pretrained(tiny_bert_dir)


@pytest.fixture(scope="module")
def head_tail_run(tiny: tuple[object, object], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run-like folder (weights, tokenizer, tp.json) trained with head_tail."""
    model, tokenizer = tiny
    folder = tmp_path_factory.mktemp("head-tail-run")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    info = {"task": "text-classification", "labels": ["neg", "pos"], "base_model": "tiny", "max_length": MAX,
            "truncation": "head_tail"}
    (folder / "tp.json").write_text(json.dumps(info))
    return folder


def tail_ids(tokenizer: object, text: str, count: int) -> list[int]:
    """The last `count` token ids of `text`, then [SEP]."""
    return tokenizer(text, add_special_tokens=False)["input_ids"][-count:] + [tokenizer.sep_token_id]


def seen_ids(model: object) -> tuple[list, object]:
    """A list that each forward pass appends its input_ids to, and the hook's handle."""
    seen: list = []
    handle = model.register_forward_pre_hook(lambda module, args, kwargs: seen.append(kwargs["input_ids"]),
                                             with_kwargs=True)
    return seen, handle


def test_training_encoding_keeps_the_tail(tiny: tuple[object, object]) -> None:
    _, tokenizer = tiny
    head = encode_texts(tokenizer, [LONG], MAX, "head")["input_ids"][0]
    kept = encode_texts(tokenizer, [LONG], MAX, "head_tail")["input_ids"][0]
    assert len(head) == len(kept) == MAX
    assert kept[:1 + 7] == head[:1 + 7]  # [CLS] and the first quarter of the 30-token budget
    assert kept[-9:] == tail_ids(tokenizer, LONG, 8) and head[-9:] != kept[-9:]


def test_classifier_feeds_the_model_the_tail(head_tail_run: Path, tiny: tuple[object, object]) -> None:
    _, tokenizer = tiny
    classifier = load_classifier(head_tail_run)
    assert isinstance(classifier, TextClassifier) and classifier.truncation == "head_tail"
    seen, handle = seen_ids(classifier.model)
    try:
        classifier.predict_logits([LONG])
    finally:
        handle.remove()
    assert seen[0][0].tolist()[-9:] == tail_ids(tokenizer, LONG, 8)
    model, _ = tiny
    assert TextClassifier(model, tokenizer, ["neg", "pos"], MAX).truncation == "head"  # old runs: the default


def test_serving_cuts_the_same_way_and_flags_long_texts(tiny: tuple[object, object]) -> None:
    model, tokenizer = tiny
    inference = TextInference(model, tokenizer, MAX, max_rows=8, truncation="head_tail")
    ids, truncated = inference.encode([SHORT, LONG])
    assert truncated == [False, True]
    assert ids[0] == tokenizer(SHORT)["input_ids"]
    assert ids[1] == encode_texts(tokenizer, [LONG], MAX, "head_tail")["input_ids"][0]
    seen, handle = seen_ids(model)
    try:
        scores = inference([SHORT, LONG])
    finally:
        handle.remove()
    assert [score.truncated for score in scores] == [False, True]
    assert any(row[-9:] == tail_ids(tokenizer, LONG, 8) for batch in seen for row in batch.tolist())
    head_ids, head_flags = TextInference(model, tokenizer, MAX, max_rows=8).encode([SHORT, LONG])
    assert head_flags == [False, True] and head_ids[1] == tokenizer(LONG, truncation=True, max_length=MAX)["input_ids"]


def test_explanations_attribute_the_tokens_the_model_reads(tiny: tuple[object, object]) -> None:
    model, tokenizer = tiny
    result = explain_text(model, tokenizer, ["neg", "pos"], LONG, MAX, truncation="head_tail")
    tokens = result["tokens"]
    assert result["truncated"] and len(tokens) == MAX
    assert [token["id"] for token in tokens] == encode_texts(tokenizer, [LONG], MAX, "head_tail")["input_ids"][0]
    assert tokens[0]["special"] and tokens[-1]["special"]
    assert LONG[tokens[-2]["start"]:tokens[-2]["end"]] == "end"  # offsets still point into the text
    assert not explain_text(model, tokenizer, ["neg", "pos"], SHORT, MAX, truncation="head_tail")["truncated"]


def test_onnx_serving_keeps_head_tail(head_tail_run: Path, tmp_path: Path) -> None:
    from tp.serving.onnx_serving import META_FILE, load_onnx_classifier

    torch_classifier = load_classifier(head_tail_run)
    classifier, _ = load_onnx_classifier(head_tail_run, "none", tmp_path, lambda: load_classifier(head_tail_run))
    assert classifier.truncation == "head_tail"
    (folder,) = (tmp_path / "onnx").iterdir()
    assert json.loads((folder / META_FILE).read_text())["truncation"] == "head_tail"
    np.testing.assert_allclose(classifier.predict_logits([LONG, SHORT]), torch_classifier.predict_logits([LONG, SHORT]),
                               atol=1e-3)
    cached, _ = load_onnx_classifier(head_tail_run, "none", tmp_path, lambda: pytest.fail("export is cached"))
    assert cached.truncation == "head_tail"

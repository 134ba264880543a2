"""The gate that searches: int8 with the most sensitive layers kept in fp32, decided on validation."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tp.compression.search import fallback_sizes, search_keep, searched_int8, sensitivities

LABELS = ["business", "entertainment", "politics", "sports", "tech"]


def test_fallbacks_double_until_one_passes_or_the_budget_is_spent() -> None:
    ranked = ["a", "b", "c", "d", "e", "f"]
    assert fallback_sizes(6, 10) == [1, 2, 4] and fallback_sizes(6, 2) == [1, 2] and fallback_sizes(1, 4) == []
    tried: list[list[str]] = []

    def score(keep: list[str]) -> float:  # passes (0.98 against 0.98) once "c", the third most sensitive, is kept
        tried.append(keep)
        return 0.98 if "c" in keep else 0.90 + 0.01 * len(keep)

    found = search_keep(ranked, score, baseline=0.98, max_drop=1.0, trials=4)
    assert tried == [[], ["a"], ["a", "b"], ["a", "b", "c", "d"]]  # the order: none, then 1, 2, 4 most sensitive
    assert found["passed"] and found["keep"] == ["a", "b", "c", "d"]
    assert [t["passed"] for t in found["trials"]] == [False, False, False, True]
    spent = search_keep(ranked, score, baseline=0.98, max_drop=1.0, trials=2)  # the budget runs out first
    assert not spent["passed"] and spent["keep"] == ["a", "b"]  # the most accurate trial is kept anyway
    assert len(spent["trials"]) == 3


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert_dir)


def tiny_model() -> torch.nn.Module:
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=128, num_labels=5,
                        id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)})
    return BertForSequenceClassification(config).eval()


def test_a_layer_with_outlier_weights_ranks_most_sensitive(tokenizer, bbc_frame) -> None:
    """One input column of the pooler 1000x larger: per-row int8 scales then round every other weight of it to 0
    (the head is scaled up so that a random model's predictions are not all near uniform)."""
    model = tiny_model()
    with torch.no_grad():
        model.bert.pooler.dense.weight[:, 0] *= 1000
        model.classifier.weight *= 50
    texts = bbc_frame["text"].tolist()[:16]
    ranked = sensitivities(model, lambda batch: tokenizer(batch, truncation=True, max_length=64, padding=True,
                                                          return_tensors="pt"), texts)
    assert ranked[0][0] == "bert.pooler.dense" and ranked[0][1] > 10 * ranked[-1][1]
    assert "classifier" not in {name for name, _ in ranked}  # the head is never quantized anyway


def test_the_searched_model_keeps_its_fp32_layers_when_saved_and_loaded(tokenizer, bbc_frame, tmp_path: Path) -> None:
    from tp.compression.quantize import load_int8, quantize_model, save_int8

    model = tiny_model()
    texts, labels = bbc_frame["text"].tolist()[:24], [LABELS.index(y) for y in bbc_frame["label"][:24]]

    def encode(batch: list[str]) -> dict:
        return tokenizer(batch, truncation=True, max_length=64, padding=True, return_tensors="pt")

    # a drop no int8 model can meet: every trial runs, and the most accurate one is kept
    searched, record = searched_int8(model, encode, (texts, labels), max_drop=-100.0, trials=2)
    assert [t["fp32_layers"] for t in record["trials"]] == [0, 1, 2] and record["passed"] is False
    best = max(record["trials"], key=lambda t: t["validation_accuracy"])
    assert sorted(getattr(searched.config, "tp_fp32_layers", None) or []) == sorted(record["keep"])
    assert len(record["keep"]) == best["fp32_layers"]
    assert record["keep"] == [name for name, _ in record["most_sensitive"][:len(record["keep"])]]
    # what a kept layer becomes on disk: fp32 after loading too, the same logits
    keep = ["bert.pooler.dense", "bert.encoder.layer.0.attention.self.query"]
    quantized = quantize_model(tiny_model(), keep=keep)
    save_int8(quantized, tmp_path)
    reloaded = load_int8(tmp_path)
    assert reloaded.config.tp_fp32_layers == sorted(keep)
    batch = encode(texts[:4])
    with torch.inference_mode():
        assert torch.allclose(reloaded(**batch).logits, quantized(**batch).logits, atol=1e-5)
    for name in keep:
        assert type(reloaded.get_submodule(name)) is torch.nn.Linear
    assert type(reloaded.get_submodule("bert.encoder.layer.0.attention.self.key")) is not torch.nn.Linear
    # a gate int8 meets at once: no search, and every Linear but the head quantized
    plain, record = searched_int8(model, encode, (texts, labels), max_drop=100.0, trials=2)
    assert len(record["trials"]) == 1 and not getattr(plain.config, "tp_fp32_layers", None)


def test_onnx_search_excludes_the_most_sensitive_nodes_and_the_graph_keeps_them_fp32(tokenizer, bbc_frame,
                                                                                    tmp_path: Path) -> None:
    """onnx-int8's search: a MatMul with outlier weights ranks first; excluded nodes are the graph's only fp32
    weights; a gate int8 meets at once needs no search."""
    from tp.compression.onnx_export import OnnxClassifierModel, build_onnx_int8
    from tp.compression.onnx_search import onnx_sensitivities, quantizable_nodes, searched_onnx_int8

    model = tiny_model()
    with torch.no_grad():  # one input column 1000x larger: per-tensor activation scales then drown the rest
        model.bert.encoder.layer[1].output.dense.weight[:, 0] *= 1000
        model.classifier.weight *= 50
    texts, labels = bbc_frame["text"].tolist()[:24], [LABELS.index(y) for y in bbc_frame["label"][:24]]

    def encode(batch: list[str]) -> dict:
        return tokenizer(batch, truncation=True, max_length=64, padding=True, return_tensors="pt")

    quantize = searched_onnx_int8(model, encode, (texts, labels), max_drop=-100.0, trials=2)  # never passes
    (tmp_path / "searched").mkdir()
    (tmp_path / "plain").mkdir()
    details = build_onnx_int8(model, tokenizer, tmp_path / "searched", texts[:4], 64, quantize=quantize)
    search = details["search"]
    assert [t["fp32_layers"] for t in search["trials"]] == [0, 1, 2] and search["passed"] is False
    best = max(search["trials"], key=lambda t: t["validation_accuracy"])
    assert len(details["fp32_nodes"]) == best["fp32_layers"] and details["fp32_nodes"] == search["keep"]
    assert search["keep"] == [name for name, _ in search["most_sensitive"][:len(search["keep"])]]
    saved = tmp_path / "searched" / "model.onnx"
    assert quantizable_nodes(saved) == details["fp32_nodes"]  # exactly the excluded ones keep fp32 weights
    assert OnnxClassifierModel(saved)(**encode(texts[:2])).logits.shape == (2, 5)
    ranked = onnx_sensitivities(_fp32_export(model, tokenizer, tmp_path), encode, texts[:12], tmp_path)
    assert len(ranked) == 15  # 12 MatMuls by a weight + 3 embedding Gathers; the pooler and head are Gemm
    assert ranked[0][0] == "/bert/encoder/layer.1/output/dense/MatMul" and ranked[0][1] > 10 * ranked[-1][1]
    quick = searched_onnx_int8(model, encode, (texts, labels), max_drop=100.0, trials=2)
    plain = build_onnx_int8(model, tokenizer, tmp_path / "plain", texts[:4], 64, quantize=quick)
    assert len(plain["search"]["trials"]) == 1 and plain["fp32_nodes"] == []
    assert quantizable_nodes(tmp_path / "plain" / "model.onnx") == []


def _fp32_export(model: torch.nn.Module, tokenizer, folder: Path) -> Path:
    from tp.compression.onnx_export import export_onnx

    export_onnx(model, tokenizer, folder / "fp32.onnx", 64)
    return folder / "fp32.onnx"

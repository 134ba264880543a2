"""Each compression method on a tiny BERT: shapes, sizes, save/load round trips and the accuracy gate."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch

from tp.compression.config import CompressionConfig, MethodSpec, parse_methods
from tp.compression.measure import weights_bytes
from tp.compression.variants import (
    check_variant,
    gate,
    load_variant,
    read_variant,
    record_verdict,
    write_variant,
)
from tp.errors import ConfigError, RejectedVariantError
from tp.models.loading import load_classifier

LABELS = ["business", "entertainment", "politics", "sports", "tech"]
TEXTS = ["Shares rose on the stock market.", "A new film opens this week in cinemas across the country.",
         "The minister spoke.", "The team won the cup final after extra time."]


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert_dir)


def tiny_classifier(vocab_size: int = 30522) -> torch.nn.Module:
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=128, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)})
    return BertForSequenceClassification(config).eval()


@pytest.fixture()
def model() -> torch.nn.Module:
    return tiny_classifier()


def logits(model: torch.nn.Module, tokenizer, texts: list[str] = TEXTS) -> torch.Tensor:
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    batch["input_ids"] %= model.config.vocab_size  # the small-vocabulary model reads other token ids
    with torch.inference_mode():
        return model(**batch).logits


def fp32_bytes(model: torch.nn.Module, folder: Path) -> int:
    model.save_pretrained(folder)
    return weights_bytes(folder)


def test_method_specs_parse_and_refuse_bad_values() -> None:
    specs = parse_methods("int8-dynamic, prune-heads:0.25,prune-magnitude")
    assert [s.name for s in specs] == ["int8-dynamic", "prune-heads-0.25", "prune-magnitude-0.5"]
    for bad in ("int8", "prune-heads:1.5", "int8-dynamic:0.3", "prune-heads:x", "int8-dynamic,int8-dynamic", ""):
        with pytest.raises(ConfigError):
            parse_methods(bad)
    with pytest.raises(ConfigError, match="max_drop"):
        CompressionConfig(methods=[MethodSpec("int8-dynamic")], max_drop=-1)


def test_int8_dynamic_quantizes_linears_and_embeddings_and_reloads(model, tokenizer, tmp_path: Path) -> None:
    from tp.compression.int8_linear import Int8Linear
    from tp.compression.quantize import Int8Embedding, load_int8, quantize_model, save_int8

    expected = logits(model, tokenizer)
    quantized = quantize_model(copy.deepcopy(model))
    assert isinstance(quantized.bert.encoder.layer[0].attention.self.query, Int8Linear)
    assert isinstance(quantized.get_input_embeddings(), Int8Embedding)
    assert isinstance(quantized.classifier, torch.nn.Linear)  # the head stays fp32
    save_int8(quantized, tmp_path)
    reloaded = load_int8(tmp_path)
    assert torch.allclose(logits(reloaded, tokenizer), logits(quantized, tokenizer), atol=1e-6)
    assert (logits(reloaded, tokenizer) - expected).abs().max() < 0.05
    assert weights_bytes(tmp_path) < 0.35 * fp32_bytes(model, tmp_path / "fp32")


def test_int8_linear_is_close_to_fp32_at_any_shape_and_warns_nothing(model) -> None:
    import warnings

    from tp.compression.int8_linear import Int8Linear
    from tp.compression.quantize import quantize_model

    torch.manual_seed(0)
    for features, shape in ((16, (0, 16)), (37, (1, 37)), (64, (3, 5, 64))):  # odd, 3-d, empty batch
        linear = torch.nn.Linear(features, 11)
        int8 = Int8Linear.from_float(linear)
        x = torch.randn(*shape)
        with torch.inference_mode():
            expected, got = linear(x), int8(x)
        assert got.shape == expected.shape and got.dtype == torch.float32
        if not x.numel():
            continue
        # per-channel weights and per-token activations: the error is a few steps of 1/127 of the ranges
        bound = 4 * features * (x.abs().max() / 127) * (linear.weight.abs().max() / 127) + 2e-2 * expected.abs().max()
        assert (got - expected).abs().max() <= bound
        weight = linear.weight.detach()
        assert torch.allclose(int8.dequantized_weight(), weight, atol=float(weight.abs().max()) / 127)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # torch.ao's eager API warned here
        quantize_model(copy.deepcopy(model))


def test_int8_embedding_lookup_is_close_to_the_fp32_rows() -> None:
    from tp.compression.quantize import Int8Embedding

    table = torch.nn.Embedding(100, 16)
    ids = torch.tensor([[1, 5, 99], [0, 0, 7]])
    error = (Int8Embedding.from_float(table)(ids) - table(ids)).abs().max()
    assert error <= table.weight.abs().max() / 127


def test_head_importance_pruning_shrinks_the_model_and_reloads(model, tokenizer, tmp_path: Path) -> None:
    from tp.compression.prune_heads import head_importance, heads_to_prune, load_pruned, prune_heads, save_pruned

    batch = {**tokenizer(TEXTS, padding=True, return_tensors="pt"), "labels": torch.tensor([0, 1, 2, 3])}
    importance = head_importance(model, [batch])
    assert importance.shape == (2, 4) and (importance >= 0).all() and importance.sum() > 0
    assert all(p.requires_grad for p in model.parameters())  # restored after scoring
    pruned = heads_to_prune(importance, 0.5)
    assert sum(map(len, pruned.values())) == 4
    before = sum(p.numel() for p in model.parameters())
    prune_heads(model, pruned)
    for layer, heads in pruned.items():
        attention = model.bert.encoder.layer[layer].attention
        assert attention.self.query.out_features == (4 - len(heads)) * 8
        assert attention.output.dense.in_features == (4 - len(heads)) * 8
    assert sum(p.numel() for p in model.parameters()) < before
    save_pruned(model, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["pruned_heads"]
    assert torch.allclose(logits(load_pruned(tmp_path), tokenizer), logits(model, tokenizer), atol=1e-6)


def test_heads_to_prune_never_empties_a_layer() -> None:
    from tp.compression.prune_heads import heads_to_prune

    importance = torch.tensor([[0.0, 0.1, 0.2, 0.3], [1.0, 1.0, 1.0, 1.0]])
    assert heads_to_prune(importance, 0.5) == {0: [0, 1, 2], 1: [0]}


def test_magnitude_pruning_is_stored_sparsely_and_reloads_exactly(tokenizer, tmp_path: Path) -> None:
    from tp.compression.prune_magnitude import apply_masks, load_sparse, magnitude_masks, save_sparse, sparsity

    model = tiny_classifier(vocab_size=200)  # a small vocabulary, so Linear layers dominate the file
    masks = magnitude_masks(model, 0.5)
    apply_masks(model, masks)
    stats = sparsity(model)
    assert stats["prunable_sparsity"] == pytest.approx(0.5, abs=0.01)
    assert "bert.pooler.dense.weight" not in masks and "classifier.weight" not in masks
    save_sparse(model, tmp_path)
    reloaded = load_sparse(tmp_path)
    for name, mask in masks.items():
        assert torch.equal(reloaded.get_parameter(name) == 0, ~mask | (model.get_parameter(name) == 0))
    assert torch.allclose(logits(reloaded, tokenizer), logits(model, tokenizer), atol=1e-6)
    assert weights_bytes(tmp_path) < 0.8 * fp32_bytes(model, tmp_path / "fp32")


def test_onnx_int8_export_matches_torch_and_reloads(model, tokenizer, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from tp.compression.onnx_export import build_onnx_int8, load_onnx

    details = build_onnx_int8(model, tokenizer, tmp_path, TEXTS, max_length=64)
    assert details["fp32_export_max_logit_diff"] < 1e-4
    got = load_onnx(tmp_path)(**tokenizer(TEXTS[::-1], padding=True, return_tensors="pt")).logits
    assert got.shape == (4, 5)
    assert (got - logits(model, tokenizer, TEXTS[::-1])).abs().max() < 0.1


def test_bnb_8bit_saves_a_folder_stock_transformers_reloads(model, tokenizer, tmp_path: Path) -> None:
    pytest.importorskip("bitsandbytes")
    from tp.compression.bnb_8bit import build_bnb_8bit, load_bnb_8bit

    model.save_pretrained(tmp_path / "fp32")
    build_bnb_8bit(tmp_path / "fp32", tmp_path / "q")
    reloaded = load_bnb_8bit(tmp_path / "q")
    assert type(reloaded.bert.encoder.layer[0].attention.self.query).__name__ == "Linear8bitLt"
    assert (logits(reloaded, tokenizer) - logits(model, tokenizer)).abs().max() < 0.05


def test_gate_rejects_a_large_drop_and_load_variant_refuses_it_unless_forced(model, tokenizer, tmp_path) -> None:
    assert gate(0.98, 0.975, 1.0)["status"] == "accepted"
    assert gate(0.98, 0.96, 1.0)["status"] == "rejected"
    model.save_pretrained(tmp_path)
    write_variant(tmp_path, {"name": "fp32-copy", "method": "fp32", "label": "fp32"},
                  {"labels": LABELS, "max_length": 64}, tokenizer)
    with pytest.raises(RejectedVariantError, match="never measured"):
        load_variant(tmp_path)
    record_verdict(tmp_path, gate(0.98, 0.5, 1.0), {"accuracy": 0.5})
    with pytest.raises(RejectedVariantError, match="lost 48 accuracy points"):
        check_variant(tmp_path)
    with pytest.raises(RejectedVariantError):
        load_classifier(tmp_path)  # what the app calls: a variant folder goes through the gate too
    forced = load_variant(tmp_path, force=True)
    assert forced.labels == LABELS and forced.info["variant"]["status"] == "rejected"
    record_verdict(tmp_path, gate(0.98, 0.98, 1.0), {"accuracy": 0.98})
    assert read_variant(tmp_path)["status"] == "accepted"
    assert len(load_variant(tmp_path).predict(TEXTS)) == 4


def test_recovery_fine_tunes_every_weight_and_keeps_pruned_weights_zero(tokenizer) -> None:
    from tp.compression.prune_magnitude import apply_masks, magnitude_masks, sparsity
    from tp.compression.recovery import recover

    model = tiny_classifier()
    model.requires_grad_(False)  # as a model merged from a LoRA adapter comes back
    masks = magnitude_masks(model, 0.5)
    apply_masks(model, masks)
    before = model.bert.encoder.layer[0].intermediate.dense.weight.detach().clone()
    def encode(texts: list[str]) -> dict:
        return tokenizer(texts, truncation=True, max_length=32, padding=True, return_tensors="pt")

    done = recover(model, encode, TEXTS * 2, [0, 1, 2, 3] * 2, epochs=1.0, learning_rate=1e-3, batch_size=4,
                   after_step=lambda: apply_masks(model, masks))
    assert done["steps"] == 2 and not model.training
    assert not torch.equal(model.bert.encoder.layer[0].intermediate.dense.weight, before)
    assert sparsity(model)["prunable_sparsity"] == pytest.approx(0.5, abs=0.01)


@pytest.fixture()
def vit(tiny_vit_dir: Path) -> tuple[torch.nn.Module, object]:
    """The tiny random ViT (2 layers of 4 heads, 32x32 images in 8x8 patches) and its image processor."""
    from transformers import AutoImageProcessor, ViTForImageClassification

    model = ViTForImageClassification.from_pretrained(tiny_vit_dir).eval()
    return model, AutoImageProcessor.from_pretrained(tiny_vit_dir)


def images(count: int = 4) -> list:
    from PIL import Image

    generator = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (count, 20, 20, 3), generator=generator, dtype=torch.uint8).numpy()
    return [Image.fromarray(p) for p in pixels]


def image_logits(model: torch.nn.Module, processor, count: int = 4) -> torch.Tensor:
    with torch.inference_mode():
        return model(**processor(images=images(count), return_tensors="pt")).logits


def test_int8_dynamic_on_a_vit_keeps_the_patch_conv_fp32_and_reloads(vit, tmp_path: Path) -> None:
    from tp.compression.int8_linear import Int8Linear
    from tp.compression.quantize import load_int8, quantize_model, save_int8

    model, processor = vit
    quantized = quantize_model(copy.deepcopy(model))
    assert sum(isinstance(m, Int8Linear) for m in quantized.modules()) == 12  # 2 layers x (q, k, v, o, fc1, fc2)
    assert isinstance(quantized.vit.embeddings.patch_embeddings.projection, torch.nn.Conv2d)  # stays fp32
    assert isinstance(quantized.classifier, torch.nn.Linear)
    save_int8(quantized, tmp_path)
    reloaded = load_int8(tmp_path)
    assert torch.allclose(image_logits(reloaded, processor), image_logits(quantized, processor), atol=1e-6)
    assert (image_logits(reloaded, processor) - image_logits(model, processor)).abs().max() < 0.05


def test_head_pruning_on_a_vit_shrinks_it_and_reloads(vit, tmp_path: Path) -> None:
    from tp.compression.prune_heads import (
        attention_layers,
        head_importance,
        heads_to_prune,
        load_pruned,
        prune_heads,
        save_pruned,
    )

    model, processor = vit
    batch = {**processor(images=images(6), return_tensors="pt"), "labels": torch.tensor([0, 1, 2, 0, 1, 2])}
    importance = head_importance(model, [batch])
    assert importance.shape == (2, 4) and importance.sum() > 0
    pruned = heads_to_prune(importance, 0.25)
    before = sum(p.numel() for p in model.parameters())
    prune_heads(model, pruned)
    for layer, heads in pruned.items():
        assert attention_layers(model)[layer].out_projection.in_features == (4 - len(heads)) * 8
    assert sum(p.numel() for p in model.parameters()) < before
    save_pruned(model, tmp_path)
    assert torch.allclose(image_logits(load_pruned(tmp_path), processor), image_logits(model, processor), atol=1e-6)


def test_onnx_int8_export_of_a_vit_takes_pixel_values_and_matches_torch(vit, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    from tp.compression.onnx_export import build_onnx_int8, load_onnx

    model, processor = vit
    details = build_onnx_int8(model, processor, tmp_path, images(3))  # traced on 2, checked on 3
    assert details["onnx_inputs"] == ["pixel_values"] and details["fp32_export_max_logit_diff"] < 1e-4
    got = load_onnx(tmp_path)(**processor(images=images(5), return_tensors="pt")).logits
    assert got.shape == (5, 3) and (got - image_logits(model, processor, 5)).abs().max() < 0.1


def test_the_bitsandbytes_cpu_kernel_notice_is_muted() -> None:
    import subprocess
    import sys

    def stderr_of(code: str) -> str:
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stderr

    if "gemm_4bit_forward" not in stderr_of("import bitsandbytes"):
        pytest.skip("bitsandbytes prints no CPU-kernel notice on this CPU (it does on CPUs with AVX512-BF16)")
    muted = stderr_of("from tp.console import mute_bitsandbytes_cpu_notice; mute_bitsandbytes_cpu_notice(); "
                      "import bitsandbytes")
    assert "gemm_4bit_forward" not in muted

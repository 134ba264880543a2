from pathlib import Path

import pytest
import torch

from tp.config import MethodConfig, ModelConfig
from tp.errors import ConfigError, TrainingError
from tp.training.modeling import apply_method, count_parameters, load_base_classifier, quantization_config

LABELS = ["a", "b", "c"]


def _model(folder: Path):
    return load_base_classifier(ModelConfig(source=str(folder)), LABELS, str(folder))


def _trainable_names(model) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


def test_lora_trains_adapters_and_the_head_only(tiny_bert_dir: Path) -> None:
    model = apply_method(_model(tiny_bert_dir), MethodConfig(name="lora", lora_r=4))
    names = _trainable_names(model)
    assert names and all("lora_" in n or "classifier" in n for n in names)
    assert any("classifier" in n for n in names)  # the fresh head is trained and saved (modules_to_save)
    assert "classifier" in model.peft_config["default"].modules_to_save
    trainable, total = count_parameters(model)
    lora = 2 * 2 * 4 * (32 + 32)  # 2 layers x (query, value) x r x (in + out)
    head = 32 * 3 + 3
    assert trainable == lora + head
    assert total > trainable


def test_head_full_and_freeze_methods(tiny_bert_dir: Path) -> None:
    head = apply_method(_model(tiny_bert_dir), MethodConfig(name="head"))
    assert _trainable_names(head) == {"classifier.weight", "classifier.bias"}
    full = apply_method(_model(tiny_bert_dir), MethodConfig(name="full"))
    assert count_parameters(full)[0] == count_parameters(full)[1]
    frozen = apply_method(_model(tiny_bert_dir), MethodConfig(name="freeze", train_last_n_blocks=1))
    names = _trainable_names(frozen)
    assert any(n.startswith("bert.encoder.layer.1.") for n in names)
    assert not any(n.startswith(("bert.encoder.layer.0.", "bert.embeddings.")) for n in names)
    assert "classifier.weight" in names


def test_lora_forward_and_backward_reach_adapters(tiny_bert_dir: Path) -> None:
    model = apply_method(_model(tiny_bert_dir), MethodConfig(name="lora", lora_r=4))
    out = model(input_ids=torch.tensor([[101, 2023, 102]]), labels=torch.tensor([1]))
    out.loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if "lora_B" in n]
    assert all(g is not None for g in grads)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_4bit_is_refused_on_cpu() -> None:
    with pytest.raises(TrainingError, match="4-bit training needs a CUDA GPU"):
        quantization_config(ModelConfig(load_in_4bit=True), ("classifier",))


def test_8bit_config_keeps_the_head_in_full_precision() -> None:
    config = quantization_config(ModelConfig(load_in_8bit=True), ("pre_classifier", "classifier"))
    assert config.load_in_8bit and config.llm_int8_skip_modules == ["pre_classifier", "classifier"]


def test_full_training_of_an_8bit_base_is_refused(tiny_bert_dir: Path) -> None:
    with pytest.raises(ConfigError, match="cannot train 8/4-bit weights"):
        apply_method(_model(tiny_bert_dir), MethodConfig(name="full"), quantized=True)

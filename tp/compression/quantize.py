"""`int8-dynamic`: int8 Linear layers (`Int8Linear`: torch's int8 matmul) plus an int8 word table, saved as safetensors.

Linear weights are int8 with one scale per output channel; activations are quantized per token at run time
(tp.compression.int8_linear, which replaced torch.ao's deprecated eager `quantize_dynamic`: same speed within
~10% on a 2-core EPYC, ~10x smaller logit error on the shipped model). An fp32 embedding table would be half
of MiniLM (the 30,522 x 384 word table, 47 MB), so the table is quantized per row too (int8 + one fp32 scale
a row) and dequantized only for the rows a batch looks up. The classification head stays fp32: it is tiny,
and it is where a quantization error would flip predictions. A ViT has no word table: its patch embedding
is a Conv2d, which stays fp32.

On disk: `model.safetensors` holds `<linear>.weight_int8` / `.weight_scale` / `.bias`, `<embedding>.weight_int8`
/ `.weight_scale` and every other tensor in fp32 (the format of the eager API's variants too: they load as
`Int8Linear`); `config.json` rebuilds the architecture.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from tp.compression.int8_linear import Int8Linear, quantize_rows
from tp.errors import ModelSourceError

WEIGHTS_FILE = "model.safetensors"
KEEP_FP32 = ("classifier", "pre_classifier", "score")  # heads: tiny, and the most sensitive layers


class Int8Embedding(nn.Module):
    """An embedding table stored as int8 rows with one fp32 scale each, dequantized on lookup."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None) -> None:
        super().__init__()
        self.padding_idx = padding_idx
        self.register_buffer("weight_int8", torch.zeros(num_embeddings, embedding_dim, dtype=torch.int8))
        self.register_buffer("weight_scale", torch.ones(num_embeddings))

    @classmethod
    def from_float(cls, embedding: nn.Embedding) -> Int8Embedding:
        values, scale = quantize_rows(embedding.weight.detach().float())  # symmetric, per row
        module = cls(embedding.num_embeddings, embedding.embedding_dim, embedding.padding_idx)
        module.weight_int8.copy_(values)
        module.weight_scale.copy_(scale.squeeze(1))
        return module

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.weight_int8[input_ids].float() * self.weight_scale[input_ids].unsqueeze(-1)


def set_module(model: nn.Module, dotted: str, module: nn.Module) -> None:
    parent, _, name = dotted.rpartition(".")
    setattr(model.get_submodule(parent) if parent else model, name, module)


def quantizable_linears(model: nn.Module) -> list[str]:
    return [name for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and name.split(".")[-1] not in KEEP_FP32]


def _embedding_name(model: nn.Module) -> str | None:
    """The word table's module name; None when the input embedding is no table (a ViT's patch Conv2d)."""
    table = model.get_input_embeddings()
    if not isinstance(table, nn.Embedding):
        return None
    return next(name for name, module in model.named_modules() if module is table)


def quantize_model(model: nn.Module, keep: list[str] | None = None) -> nn.Module:
    """Quantize `model` in place: Linear layers (but the head, and the `keep` ones) to int8, a word table to int8
    rows. `keep` (the accuracy search's choice) is recorded in the config, so that loading rebuilds it."""
    keep = sorted(set(keep if keep is not None else getattr(model.config, "tp_fp32_layers", None) or []))
    if keep:
        model.config.tp_fp32_layers = keep
    for name in quantizable_linears(model):
        if name not in keep:
            set_module(model, name, Int8Linear.from_float(model.get_submodule(name)))
    embedding = _embedding_name(model)
    if embedding is not None:
        set_module(model, embedding, Int8Embedding.from_float(model.get_submodule(embedding)))
    return model


def save_int8(model: nn.Module, folder: Path) -> list[str]:
    """Write the quantized model's tensors (plain int8 and fp32: safetensors stores no quantized dtypes) and
    config; returns the weight files written."""
    from safetensors.torch import save_file

    tensors = {key: value.detach().contiguous() for key, value in model.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt", "tp": "int8-dynamic"})
    model.config.save_pretrained(folder)
    return [WEIGHTS_FILE]


def load_int8(folder: Path) -> nn.Module:
    """Rebuild the architecture from config.json, quantize its skeleton, then fill in the saved tensors."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from tp.compression.architecture import auto_model_class

    config = AutoConfig.from_pretrained(folder)
    model = quantize_model(auto_model_class(config).from_config(config))
    tensors = load_file(str(folder / WEIGHTS_FILE))
    expected = set(model.state_dict())
    if expected != set(tensors):
        missing, unexpected = sorted(expected - set(tensors))[:3], sorted(set(tensors) - expected)[:3]
        raise ModelSourceError(f"{folder / WEIGHTS_FILE} does not match its config: missing {missing}, "
                               f"unexpected {unexpected}.")
    model.load_state_dict(tensors)
    return model.eval()

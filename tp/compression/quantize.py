"""`int8-dynamic`: torch dynamic int8 Linear layers plus an int8 word-embedding table, saved as safetensors.

torch's `quantize_dynamic` leaves embeddings in fp32, and the 30,522 x 384 word table is half of MiniLM
(47 MB), so the state dict stays at 0.64x. Here the table is quantized per row (int8 + one fp32 scale a
row) and dequantized only for the rows a batch looks up. Linear weights are quantized per output channel
(more accurate than one scale a tensor at the same speed). The classification head stays fp32: it is
tiny, and it is where a quantization error would flip predictions. A ViT has no word table: its patch
embedding is a Conv2d, which torch's dynamic quantization has no kernel for, so it stays fp32.

On disk: `model.safetensors` holds `<linear>.weight_int8` / `.weight_scale` / `.bias`, `<embedding>.weight_int8`
/ `.weight_scale` and every other tensor in fp32; `config.json` rebuilds the architecture.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

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
        weight = embedding.weight.detach().float()
        scale = weight.abs().amax(dim=1).clamp(min=1e-12) / 127.0  # symmetric, per row
        module = cls(embedding.num_embeddings, embedding.embedding_dim, embedding.padding_idx)
        module.weight_int8.copy_(torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8))
        module.weight_scale.copy_(scale)
        return module

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.weight_int8[input_ids].float() * self.weight_scale[input_ids].unsqueeze(-1)


@contextmanager
def quiet_quantization() -> Iterator[None]:
    """torch.ao.quantization warns that it is deprecated (torchao replaces it); it still works in torch 2.x."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*")
        yield


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
    """Quantize `model` in place: Linear layers (but the head, and the `keep` ones) to dynamic int8, a word table to
    int8 rows. `keep` (the accuracy search's choice) is recorded in the config, so that loading rebuilds it."""
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    keep = sorted(set(keep if keep is not None else getattr(model.config, "tp_fp32_layers", None) or []))
    spec = {name: per_channel_dynamic_qconfig for name in quantizable_linears(model) if name not in keep}
    if keep:
        model.config.tp_fp32_layers = keep
    embedding = _embedding_name(model)
    with quiet_quantization():
        quantize_dynamic(model, spec, dtype=torch.qint8, inplace=True)
    if embedding is not None:
        set_module(model, embedding, Int8Embedding.from_float(model.get_submodule(embedding)))
    return model


def int8_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Plain tensors only (safetensors stores no quantized dtypes): int8 values and fp32 scales."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    tensors: dict[str, torch.Tensor] = {}
    quantized_prefixes = []
    for name, module in model.named_modules():
        if isinstance(module, DynamicLinear):
            weight, bias = module.weight(), module.bias()
            tensors[f"{name}.weight_int8"] = weight.int_repr().contiguous()
            tensors[f"{name}.weight_scale"] = weight.q_per_channel_scales().float().contiguous()
            if bias is not None:
                tensors[f"{name}.bias"] = bias.detach().contiguous()
            quantized_prefixes.append(f"{name}.")
    for key, value in model.state_dict().items():
        if isinstance(value, torch.Tensor) and not key.startswith(tuple(quantized_prefixes)):
            tensors[key] = value.detach().contiguous()
    return tensors


def save_int8(model: nn.Module, folder: Path) -> list[str]:
    """Write the quantized model's tensors and config; returns the weight files written."""
    from safetensors.torch import save_file

    save_file(int8_state_dict(model), str(folder / WEIGHTS_FILE), metadata={"format": "pt", "tp": "int8-dynamic"})
    model.config.save_pretrained(folder)
    return [WEIGHTS_FILE]


def _rebuild_linear(tensors: dict[str, torch.Tensor], name: str, module: Any) -> None:
    values, scale = tensors.pop(f"{name}.weight_int8"), tensors.pop(f"{name}.weight_scale")
    zero_points = torch.zeros_like(scale, dtype=torch.long)  # symmetric
    weight = torch._make_per_channel_quantized_tensor(values, scale.double(), zero_points, 0)
    module.set_weight_bias(weight, tensors.pop(f"{name}.bias", None))


def load_int8(folder: Path) -> nn.Module:
    """Rebuild the architecture from config.json, quantize its skeleton, then fill in the saved tensors."""
    from safetensors.torch import load_file
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    from transformers import AutoConfig

    from tp.compression.architecture import auto_model_class

    config = AutoConfig.from_pretrained(folder)
    model = quantize_model(auto_model_class(config).from_config(config))
    tensors = load_file(str(folder / WEIGHTS_FILE))
    for name, module in model.named_modules():
        if isinstance(module, DynamicLinear):
            _rebuild_linear(tensors, name, module)
    # the quantized Linear layers are filled; the rest are plain parameters and (persistent) buffers
    own = dict(model.named_parameters()) | dict(model.named_buffers())
    expected = {key for key in model.state_dict() if key in own}
    if expected != set(tensors):
        missing, unexpected = sorted(expected - set(tensors))[:3], sorted(set(tensors) - expected)[:3]
        raise ModelSourceError(f"{folder / WEIGHTS_FILE} does not match its config: missing {missing}, "
                               f"unexpected {unexpected}.")
    with torch.no_grad():
        for key in expected:
            own[key].copy_(tensors[key])
    return model.eval()

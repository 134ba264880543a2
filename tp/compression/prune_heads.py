"""`prune-heads:F`: remove the fraction F of attention heads that matter least, so the model really shrinks.

Importance is measured as in Michel et al. (2019), "Are Sixteen Heads Really Better than One?": a mask
of ones multiplies every head's output, and a head's score is the mean |d loss / d mask| over validation
batches, normalised per layer. The least important heads are then cut out of the query/key/value
projections (output rows) and the attention output projection (input columns), which makes every
matmul smaller. transformers 5 dropped `prune_heads` and `head_mask`, but its BERT-style, DistilBERT and
ViT attention infer the head count from the tensors' shapes, so sliced layers run unchanged. ViT comes in
two layouts: `attention.attention.{query,key,value}` + `attention.output.dense` (BERT's, older transformers)
and `attention.{q_proj,k_proj,v_proj,o_proj}` with `head_dim` (transformers 5).

On disk: `model.safetensors` (the smaller weights) and `config.json`, whose `pruned_heads` ({layer: [heads]},
original numbering) tells `load_pruned` how to shape the architecture before loading them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tp.errors import ModelSourceError

WEIGHTS_FILE = "model.safetensors"


@dataclass
class AttentionHeads:
    """Where one layer's heads live: q/k/v projections (head = block of rows) and the output projection."""

    owner: nn.Module  # holds the q, k and v Linear layers
    qkv: tuple[str, str, str]
    out_owner: nn.Module
    out: str
    head_size: int

    @property
    def num_heads(self) -> int:
        return getattr(self.owner, self.qkv[0]).out_features // self.head_size

    @property
    def out_projection(self) -> nn.Linear:
        return getattr(self.out_owner, self.out)


def _has_linears(module: nn.Module, names: tuple[str, ...]) -> bool:
    return all(isinstance(getattr(module, n, None), nn.Linear) for n in names)


def attention_layers(model: nn.Module) -> list[AttentionHeads]:
    """The self-attention blocks of a BERT-style (query/key/value), DistilBERT-style (q_lin...) or
    q_proj-style (ViT in transformers 5) model."""
    found = []
    for name, module in model.named_modules():
        size = getattr(module, "attention_head_size", None)
        if _has_linears(module, ("query", "key", "value")):
            parent = model.get_submodule(name.rpartition(".")[0])
            output = getattr(parent, "output", None)
            if isinstance(getattr(output, "dense", None), nn.Linear) and size:
                found.append(AttentionHeads(module, ("query", "key", "value"), output, "dense", size))
        elif _has_linears(module, ("q_lin", "k_lin", "v_lin", "out_lin")):
            found.append(AttentionHeads(module, ("q_lin", "k_lin", "v_lin"), module, "out_lin", size))
        elif _has_linears(module, ("q_proj", "k_proj", "v_proj", "o_proj")) and getattr(module, "head_dim", None):
            found.append(AttentionHeads(module, ("q_proj", "k_proj", "v_proj"), module, "o_proj", module.head_dim))
    if not found:
        raise ModelSourceError(f"prune-heads knows BERT-style (query/key/value + output.dense), DistilBERT-style "
                               f"(q_lin/k_lin/v_lin/out_lin) and ViT-style (q_proj/k_proj/v_proj/o_proj + head_dim) "
                               f"attention; {type(model).__name__} has none of them.")
    return found


def _mask_hook(mask: torch.Tensor, head_size: int) -> Any:
    """Multiply each head's slice of the output projection's input by its mask value."""
    def hook(module: nn.Module, args: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        x = args[0]
        heads = x.shape[-1] // head_size
        masked = (x.view(*x.shape[:-1], heads, head_size) * mask.view(heads, 1)).view(x.shape)
        return (masked, *args[1:])
    return hook


def head_importance(model: nn.Module, batches: list[dict[str, torch.Tensor]]) -> torch.Tensor:
    """[layers, heads] importance: mean |gradient of the loss w.r.t. a head mask|, L2-normalised per layer.

    Each batch carries `labels` (model indices). The weights are frozen meanwhile: only the mask needs gradients.
    """
    layers = attention_layers(model)
    masks = [torch.ones(layer.num_heads, requires_grad=True) for layer in layers]
    handles = [layer.out_projection.register_forward_pre_hook(_mask_hook(mask, layer.head_size))
               for layer, mask in zip(layers, masks, strict=True)]
    trainable = {p: p.requires_grad for p in model.parameters()}
    scores = torch.zeros(len(layers), max(layer.num_heads for layer in layers))
    was_training = model.training
    model.eval()  # no dropout: the scores measure the model that will be served
    try:
        for param in trainable:
            param.requires_grad_(False)
        for batch in batches:
            model(**batch).loss.backward()
            for i, mask in enumerate(masks):
                scores[i, :mask.numel()] += mask.grad.abs()
                mask.grad = None
    finally:
        for handle in handles:
            handle.remove()
        for param, flag in trainable.items():
            param.requires_grad_(flag)
        model.train(was_training)
    scores /= max(len(batches), 1)
    return scores / scores.norm(dim=1, keepdim=True).clamp(min=1e-20)  # Michel et al.: per-layer L2 norm


def heads_to_prune(importance: torch.Tensor, fraction: float) -> dict[int, list[int]]:
    """The round(fraction x heads) least important heads overall, never the last head of a layer."""
    layers, heads = importance.shape
    wanted = round(fraction * layers * heads)
    remaining = [heads] * layers
    chosen: dict[int, list[int]] = {}
    for flat in importance.flatten().argsort().tolist():
        if sum(len(v) for v in chosen.values()) == wanted:
            break
        layer, head = divmod(flat, heads)
        if remaining[layer] > 1:  # an empty attention layer would break the forward pass
            chosen.setdefault(layer, []).append(head)
            remaining[layer] -= 1
    return {layer: sorted(v) for layer, v in sorted(chosen.items())}


def prune_heads(model: nn.Module, pruned: dict[int, list[int]]) -> nn.Module:
    """Cut the listed heads (original numbering) out of `model` in place and record them in its config."""
    from transformers.pytorch_utils import prune_linear_layer

    layers = attention_layers(model)
    for layer_index, heads in pruned.items():
        layer = layers[int(layer_index)]
        keep = [h for h in range(layer.num_heads) if h not in set(heads)]
        index = torch.cat([torch.arange(h * layer.head_size, (h + 1) * layer.head_size) for h in keep])
        for name in layer.qkv:
            setattr(layer.owner, name, prune_linear_layer(getattr(layer.owner, name), index, dim=0))
        setattr(layer.out_owner, layer.out, prune_linear_layer(layer.out_projection, index, dim=1))
        for attribute in ("num_attention_heads", "n_heads"):  # for readers of the module; forward uses shapes
            if hasattr(layer.owner, attribute):
                setattr(layer.owner, attribute, len(keep))
        if hasattr(layer.owner, "all_head_size"):
            layer.owner.all_head_size = len(keep) * layer.head_size
    model.config.pruned_heads = {str(k): list(v) for k, v in pruned.items()}
    return model


def save_pruned(model: nn.Module, folder: Path) -> list[str]:
    """The pruned weights (safetensors) and a config.json that records which heads are gone."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / WEIGHTS_FILE), metadata={"format": "pt", "tp": "prune-heads"})
    model.config.save_pretrained(folder)
    return [WEIGHTS_FILE]


def load_pruned(folder: Path) -> nn.Module:
    """Build the full architecture from config.json, cut the recorded heads, then load the weights strictly."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from tp.compression.architecture import auto_model_class

    config = AutoConfig.from_pretrained(folder)
    pruned = {int(k): v for k, v in (getattr(config, "pruned_heads", None) or {}).items()}
    model = auto_model_class(config).from_config(config)
    prune_heads(model, pruned)
    model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)), strict=True)
    return model.eval()

"""`prune-magnitude:F`: zero the fraction F of smallest weights of every encoder Linear layer, stored sparsely.

Zeros alone change nothing: a dense file of zeros is as large as before and dense matmuls cost the same
(seed 003's pruned ViTs kept their 343 MB and their speed). So each pruned matrix is stored as a packed
bit mask (1 bit a weight) plus its surviving values, which is what makes the file smaller: at F = 0.5 a
Linear weight costs 1/8 + 0.5 x 4 bytes instead of 4. In memory the model is dense again, so latency
does not improve on a CPU; the report says so. Embeddings, the pooler and the classification head are
not pruned (nor a ViT's patch embedding, a Conv2d). Each layer gets its own threshold: one global
threshold zeroed all of MiniLM's pooler (its weights are 5x smaller than the encoder's) and the model fell
to chance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

WEIGHTS_FILE = "model.safetensors"
KEEP_DENSE = ("classifier", "pre_classifier", "score", "pooler")  # the head and the path into it


def prunable_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """Weights of the encoder's Linear layers (head and pooler excluded: small, and they decide the label)."""
    return {f"{name}.weight": module.weight for name, module in model.named_modules()
            if isinstance(module, nn.Linear) and not set(name.split(".")) & set(KEEP_DENSE)}


def magnitude_masks(model: nn.Module, fraction: float) -> dict[str, torch.Tensor]:
    """Boolean keep-masks: in every prunable matrix, the `fraction` of smallest |weights| is dropped."""
    masks = {}
    for name, weight in prunable_weights(model).items():
        magnitudes = weight.detach().abs().flatten()
        keep = torch.ones_like(magnitudes, dtype=torch.bool)
        keep[magnitudes.argsort()[:int(fraction * magnitudes.numel())]] = False  # exactly F, ties or not
        masks[name] = keep.view_as(weight)
    return masks


def apply_masks(model: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    """Zero the pruned weights in place (also after each recovery step, so they stay pruned)."""
    weights = prunable_weights(model)
    with torch.no_grad():
        for name, mask in masks.items():
            weights[name].mul_(mask)


def sparsity(model: nn.Module) -> dict[str, float | int]:
    """Zeros among the prunable weights and among all parameters, as measured on the tensors."""
    prunable = prunable_weights(model).values()
    zero_prunable = sum(int((w == 0).sum()) for w in prunable)
    n_prunable = sum(w.numel() for w in prunable)
    total = sum(p.numel() for p in model.parameters())
    zero_total = sum(int((p == 0).sum()) for p in model.parameters())
    return {"prunable_weights": n_prunable, "prunable_sparsity": zero_prunable / max(n_prunable, 1),
            "parameters": total, "nonzero_parameters": total - zero_total, "overall_sparsity": zero_total / total}


def sparse_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """Pruned weights become `<name>.mask_bits` (uint8, packed) + `<name>.values` (fp32 non-zeros)."""
    tensors: dict[str, torch.Tensor] = {}
    prunable = set(prunable_weights(model))
    for key, value in model.state_dict().items():
        value = value.detach()
        if key in prunable:
            keep = (value != 0).flatten().numpy()
            tensors[f"{key}.mask_bits"] = torch.from_numpy(np.packbits(keep))
            tensors[f"{key}.values"] = value.flatten()[torch.from_numpy(keep)].contiguous()
        else:
            tensors[key] = value.contiguous()
    return tensors


def save_sparse(model: nn.Module, folder: Path) -> list[str]:
    from safetensors.torch import save_file

    save_file(sparse_state_dict(model), str(folder / WEIGHTS_FILE), metadata={"format": "pt", "tp": "prune-magnitude"})
    model.config.save_pretrained(folder)
    return [WEIGHTS_FILE]


def load_sparse(folder: Path) -> nn.Module:
    """Rebuild the dense model: unpack each mask and scatter the stored values into zeros."""
    from safetensors.torch import load_file
    from transformers import AutoConfig

    from tp.compression.architecture import auto_model_class

    config = AutoConfig.from_pretrained(folder)
    model = auto_model_class(config).from_config(config)
    tensors = load_file(str(folder / WEIGHTS_FILE))
    state = {}
    for key, reference in model.state_dict().items():
        if f"{key}.mask_bits" in tensors:
            keep = np.unpackbits(tensors[f"{key}.mask_bits"].numpy(), count=reference.numel()).astype(bool)
            dense = torch.zeros(reference.numel(), dtype=reference.dtype)
            dense[torch.from_numpy(keep)] = tensors[f"{key}.values"]
            state[key] = dense.view_as(reference)
        elif key in tensors:
            state[key] = tensors[key]
    model.load_state_dict(state, strict=True)
    return model.eval()

"""Fewer encoder layers: find a model's stack of transformer blocks and keep some of them.

Both `prune-layers:L` and `distill:L` start here. The result is the teacher's own architecture with
`num_hidden_layers = L` (`n_layers` for DistilBERT), so `save_pretrained` writes a plain transformers
folder that stock `AutoModelForSequenceClassification` and `pipeline()` load, with no tp code.

Which layers: `prune-layers` keeps the bottom L (Sajjad et al. 2020, "On the effect of dropping layers of
pre-trained transformer models": dropping the top layers lost least); `distill` takes every k-th layer,
as DistilBERT initialised its student from one teacher layer out of two (Sanh et al. 2019).
"""

from __future__ import annotations

import copy
from typing import Any

from torch import nn

from tp.errors import ConfigError, ModelSourceError

LAYER_COUNT_KEYS = ("num_hidden_layers", "n_layers")  # BERT, ViT and most encoders; DistilBERT


def layer_count_key(config: Any) -> str:
    for key in LAYER_COUNT_KEYS:
        if isinstance(getattr(config, key, None), int):
            return key
    raise ModelSourceError(f"{type(config).__name__} records no layer count ({' or '.join(LAYER_COUNT_KEYS)}), "
                           "so its layers cannot be dropped.")


def encoder_blocks(model: nn.Module) -> tuple[nn.Module, str, nn.ModuleList]:
    """(owner, attribute, ModuleList) of the transformer blocks: the ModuleList as long as the config's count."""
    count = getattr(model.config, layer_count_key(model.config))
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == count and len({type(m) for m in module}) == 1:
            owner_name, _, attribute = name.rpartition(".")
            return model.get_submodule(owner_name) if owner_name else model, attribute, module
    raise ModelSourceError(f"{type(model).__name__} has no list of {count} identical blocks to drop layers from.")


def every_kth(total: int, keep: int) -> list[int]:
    """`keep` layers spread from the bottom: 12 -> 6 keeps 0, 2, ..., 10; 12 -> 3 keeps 0, 4, 8."""
    return sorted({round(i * total / keep) for i in range(keep)})


def bottom(total: int, keep: int) -> list[int]:
    return list(range(keep))


def check_layers(model: nn.Module, keep: int) -> int:
    """The model's layer count, or ConfigError when `keep` is not fewer layers than it has."""
    total = getattr(model.config, layer_count_key(model.config))
    if not 1 <= keep < total:
        raise ConfigError(f"The model has {total} layers: keep between 1 and {total - 1} of them, not {keep}.")
    return total


def keep_layers(model: nn.Module, indices: list[int]) -> nn.Module:
    """A copy of `model` with only the blocks at `indices` (in order), its config saying how many remain."""
    student = copy.deepcopy(model)
    owner, attribute, blocks = encoder_blocks(student)
    kept = nn.ModuleList([blocks[i] for i in indices])
    for position, block in enumerate(kept):
        for module in block.modules():  # for caches only (decoders); an encoder ignores it, but keep it true
            if isinstance(getattr(module, "layer_idx", None), int):
                module.layer_idx = position
    setattr(owner, attribute, kept)
    setattr(student.config, layer_count_key(student.config), len(indices))
    for key in ("layer_types",):  # per-layer lists some configs carry must shrink with the stack
        values = getattr(student.config, key, None)
        if isinstance(values, list) and len(values) == len(blocks):
            setattr(student.config, key, [values[i] for i in indices])
    student.config.tp_kept_layers = list(indices)  # which teacher layers the student started from
    return student

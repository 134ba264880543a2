"""Merge a saved LoRA adapter into a base model without importing peft (a fast path for serving).

Importing peft pulls in bitsandbytes and torch's compiler stack, seconds of a server's cold start. For
the plain LoRA adapters tp trains (Linear targets, optional rsLoRA, heads in `modules_to_save`) the merge is
W += scale * B @ A, which this module does from the adapter's safetensors. Anything else (DoRA, LoRA on
embeddings or biases, per-layer rank patterns...) returns None, and the caller merges with peft.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

PREFIX = "base_model.model."
UNSUPPORTED = {"use_dora": True, "lora_bias": True, "fan_in_fan_out": True}


def _plain_lora(config: dict[str, Any]) -> bool:
    if config.get("peft_type") != "LORA" or config.get("bias", "none") != "none":
        return False
    if any(config.get(key) == value for key, value in UNSUPPORTED.items()):
        return False
    return not (config.get("rank_pattern") or config.get("alpha_pattern") or config.get("layer_replication"))


def merge_lora_weights(model: Any, adapter_dir: Path) -> Any | None:
    """Merge `adapter_dir` into `model` in place and return it; None (model untouched) when unsupported."""
    import torch
    from safetensors.torch import load_file

    adapter_dir = Path(adapter_dir)
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    if not _plain_lora(config):
        return None
    r, alpha = int(config["r"]), float(config["lora_alpha"])
    scale = alpha / math.sqrt(r) if config.get("use_rslora") else alpha / r
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    if not all(key.startswith(PREFIX) for key in tensors):
        return None
    deltas: dict[str, torch.Tensor] = {}  # parameter name -> scale * B @ A, added to it
    replaced: dict[str, torch.Tensor] = {}  # parameter name -> value of a module saved whole (the head)
    for key, value in tensors.items():
        name = key[len(PREFIX):]
        if ".lora_A." in name:
            module = name.split(".lora_A.")[0]
            b = tensors.get(f"{PREFIX}{module}.lora_B.weight")
            if b is None or name != f"{module}.lora_A.weight":
                return None
            deltas[f"{module}.weight"] = (b.float() @ value.float()) * scale
        elif ".lora_B." in name:
            continue
        elif "lora_" in name:  # embeddings, magnitudes...: not a plain Linear LoRA
            return None
        else:
            replaced[name] = value
    parameters = dict(model.named_parameters())
    for name, value in {**deltas, **replaced}.items():
        if name not in parameters or parameters[name].shape != value.shape:
            return None
    with torch.no_grad():
        for name, value in deltas.items():
            parameters[name].add_(value.to(parameters[name].dtype))
        for name, value in replaced.items():
            parameters[name].copy_(value.to(parameters[name].dtype))
    return model

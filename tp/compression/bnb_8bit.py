"""`bnb-8bit`: bitsandbytes LLM.int8() weights, saved and reloaded by stock transformers.

On a CUDA GPU this is the normal 8-bit path; bitsandbytes 0.50 also runs it on a CPU, where it casts
activations to fp16 and is slower than fp32 (measured, not assumed: the table shows it). The folder is
what `save_pretrained` writes (int8 weights + scales, `quantization_config` in config.json), so stock
`from_pretrained` loads it too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from tp.console import mute_bitsandbytes_cpu_notice

HEAD_MODULES = ["classifier", "pre_classifier", "score"]  # a quantized fresh head breaks the forward pass


def _device_map() -> dict[str, str]:
    return {"": "cuda:0" if torch.cuda.is_available() else "cpu"}


def build_bnb_8bit(fp32_folder: Path, folder: Path) -> dict[str, Any]:
    mute_bitsandbytes_cpu_notice()
    """Load the saved fp32 model in 8-bit and save it into `folder`."""
    from transformers import BitsAndBytesConfig

    from tp.compression.architecture import model_class_of_folder

    quantization = BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=HEAD_MODULES)
    model = model_class_of_folder(fp32_folder).from_pretrained(fp32_folder, quantization_config=quantization,
                                                               device_map=_device_map())
    model.save_pretrained(folder)
    return {"device": _device_map()[""], "weights_files": sorted(p.name for p in folder.glob("*.safetensors"))}


def load_bnb_8bit(folder: Path) -> torch.nn.Module:
    mute_bitsandbytes_cpu_notice()
    from tp.compression.architecture import model_class_of_folder

    return model_class_of_folder(folder).from_pretrained(folder, device_map=_device_map()).eval()

"""The compression lab on tiny runs: a run copied (the lab writes variants/ and reports/ into its run) and
optimized in seconds, and a saved variant broken on purpose so that its gate must reject it."""

from __future__ import annotations

import shutil
from pathlib import Path


def run_lab(run: Path, methods: str, **settings) -> dict:
    """`tp optimize --methods METHODS` on `run`, quick (no memory probe, no search); the lab's summary."""
    from tp.compression.config import CompressionConfig, parse_methods
    from tp.compression.optimize import optimize_run

    config = CompressionConfig(methods=parse_methods(methods), measure_memory=False, latency_texts=3,
                               search_trials=0, **settings)
    return optimize_run(run, config, log=lambda line: None)


def copy_run(run: Path, folder: Path) -> Path:
    """A copy of `run` in `folder`, without the variants an earlier lab left there."""
    return Path(shutil.copytree(run, folder, ignore=shutil.ignore_patterns("variants")))


def optimized_copy(run: Path, folder: Path, methods: str = "int8-dynamic", **settings) -> Path:
    """A copy of `run` in `folder` after the lab ran `methods` on it."""
    copy = copy_run(run, folder)
    run_lab(copy, methods, **settings)
    return copy


def shift_head_bias(folder: Path, by: float) -> None:
    """Break a saved int8 variant: every output of its (fp32) head moves by `by`."""
    from safetensors.torch import load_file, save_file

    path = next(folder.glob("*.safetensors"))
    tensors = load_file(path)
    (key,) = [name for name in tensors if name.endswith("classifier.bias")]
    tensors[key] = tensors[key] + by
    save_file(tensors, path, metadata={"format": "pt"})

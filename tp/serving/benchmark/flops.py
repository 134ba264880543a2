"""FLOP efficiency of batch inference: counted model FLOPs per second over this CPU's matmul peak."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def matmul_peak_gflops(size: int = 2048, repeats: int = 10) -> float:
    """Best fp32 GFLOP/s of a square matmul on the current torch threads (the roofline we compare to)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def count_flops(model: Any, batch: dict[str, Any]) -> int:
    """FLOPs of one forward pass, counted by torch (matmuls and attention; elementwise ops are ignored)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(**batch)
    return int(counter.get_total_flops())


def batch_efficiency(model_dir: Path, texts: list[str], batch_size: int = 32, max_tokens: int = 256,
                     repeats: int = 5, threads: int | None = None, onnx: Path | None = None) -> dict[str, Any]:
    """fp32 forward passes over `batch_size` real texts at `max_tokens`: GFLOP/s and share of the peak
    measured on the same number of torch threads. With `onnx` (an fp32 model.onnx of the same model), ONNX
    Runtime runs the passes on as many threads; the FLOPs are counted on the torch model either way."""
    import torch

    from tp.serving.cpu_tuning import keep_freed_memory

    keep_freed_memory()  # as tp's server does once its models have loaded (measured: 246 -> 309 GFLOP/s)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads or previous)
    try:
        return _batch_efficiency(model_dir, texts, batch_size, max_tokens, repeats, onnx)
    finally:
        torch.set_num_threads(previous)


def _batch_efficiency(model_dir: Path, texts: list[str], batch_size: int, max_tokens: int,
                      repeats: int, onnx: Path | None) -> dict[str, Any]:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    batch = dict(tokenizer(texts[:batch_size], truncation=True, max_length=max_tokens, padding=True,
                           return_tensors="pt"))
    # counted on an eager-attention twin: torch's counter does not see the CPU SDPA kernel's matmuls
    # (about 10% of the FLOPs at 256 tokens); the math, and so the count, is the same
    eager = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
    flops = count_flops(eager, batch)
    del eager
    peak = matmul_peak_gflops()
    if onnx is not None:
        from tp.compression.onnx_export import OnnxClassifierModel

        model = OnnxClassifierModel(onnx, threads=torch.get_num_threads())
    with torch.inference_mode():
        model(**batch)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(**batch)
            times.append(time.perf_counter() - start)
    best = min(times)
    achieved = flops / best / 1e9
    tokens = int(batch["input_ids"].numel())
    return {"batch_size": batch_size, "tokens_per_text": int(batch["input_ids"].shape[1]),
            "gflop_per_batch": round(flops / 1e9, 2), "flops_per_token": flops // tokens,
            "best_batch_seconds": round(best, 3), "texts_per_second": round(batch_size / best, 1),
            "achieved_gflops": round(achieved, 1), "matmul_peak_gflops": round(peak, 1),
            "efficiency": round(achieved / peak, 3), "threads": torch.get_num_threads(),
            "runtime": "onnxruntime" if onnx is not None else "torch"}

"""CPU settings of a serving process, made once its models have loaded: malloc, and advice on precision."""

from __future__ import annotations

import logging

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's malloc.h
MALLOC_KEEP_BYTES = 1 << 30


def keep_freed_memory(keep_bytes: int = MALLOC_KEEP_BYTES) -> bool:
    """Have glibc's malloc keep and reuse freed blocks up to `keep_bytes`, rather than unmap them; True if set.

    Each forward pass allocates and frees activations of several MB. Above glibc's mmap threshold each one is a
    fresh mapping whose pages fault in, zeroed, on first touch. Measured at 256 tokens: two 1-thread bf16 workers
    (AMX), batches of 8, 134 -> 172 texts/s; fp32, one batch of 32 on 2 threads, 246 -> 309 GFLOP/s (no change at
    batches of 8). The price: memory freed after a pass stays with the process for the next one (+60-110 MB
    RSS under load, bf16). Skipped when the user tunes malloc (MALLOC_*_ or GLIBC_TUNABLES) or the C library is
    not glibc.
    """
    import ctypes
    import os
    import platform

    if platform.libc_ver()[0] != "glibc" or "GLIBC_TUNABLES" in os.environ:
        return False
    if any(name.startswith("MALLOC_") and name.endswith("_") for name in os.environ):
        return False
    libc = ctypes.CDLL(None)  # the C library the interpreter is linked against
    return bool(libc.mallopt(M_MMAP_THRESHOLD, keep_bytes)) and bool(libc.mallopt(M_TRIM_THRESHOLD, keep_bytes))


def tune_cpu_after_loading(quantize: str, device: str, serves_text: bool) -> None:
    """Once the models have loaded (so the loading's large temporaries still went back to the OS): keep freed
    activations for the next pass, and advise bf16 where AMX would run it much faster than the fp32 served."""
    log = logging.getLogger("tp.serving")
    if device == "cpu" and not keep_freed_memory():
        log.info("malloc left as it is (MALLOC_*_ or GLIBC_TUNABLES set, or not glibc)")
    if serves_text and (advice := precision_advice(quantize, device)):
        log.info(advice)


def precision_advice(quantize: str, device: str) -> str | None:
    """What to tell an operator serving fp32 text models on a CPU with AMX, where bf16 is much faster."""
    import torch

    amx = getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    if quantize != "none" or device != "cpu" or not amx():
        return None
    return ("This CPU has AMX: TP_QUANTIZE=bf16 serves text models 3-4x faster per core than fp32 (the shipped "
            "model gave the same predictions on all 445 of its test texts); see the README's throughput table.")

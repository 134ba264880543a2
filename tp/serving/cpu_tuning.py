"""CPU settings of a serving process, made once its models have loaded: malloc, and advice on precision."""

from __future__ import annotations

import logging
import threading
import time

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # mallopt parameters, from glibc's malloc.h
MALLOC_KEEP_BYTES = 1 << 30
MALLOC_ARENAS = 2
TRIM_EVERY_S = 60.0


def _glibc_untuned() -> bool:
    """glibc, and the user has not tuned malloc (MALLOC_*_, MALLOC_ARENA_MAX or GLIBC_TUNABLES)."""
    import os
    import platform

    if platform.libc_ver()[0] != "glibc" or "GLIBC_TUNABLES" in os.environ or "MALLOC_ARENA_MAX" in os.environ:
        return False
    return not any(name.startswith("MALLOC_") and name.endswith("_") for name in os.environ)


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (by default up to 8 per core, one per thread that allocates); True if set.

    Each arena keeps what it freed (keep_freed_memory), so every thread that once ran a large batch (batch
    workers, the thread pool decoding images) held its own peak: in a 5-minute soak on 2 cores, RSS rose from
    623 to 1,186 MB. With 2 arenas it rose to 1,083 MB at the same throughput (134 req/s against 132). Called
    before the models load, so that the threads started then share them.
    """
    import ctypes

    return _glibc_untuned() and bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, arenas))


def keep_freed_memory(keep_bytes: int = MALLOC_KEEP_BYTES) -> bool:
    """Have glibc's malloc keep and reuse freed blocks up to `keep_bytes`, rather than unmap them; True if set.

    Each forward pass allocates and frees activations of several MB. Above glibc's mmap threshold each one is a
    fresh mapping whose pages fault in, zeroed, on first touch. Measured at 256 tokens: two 1-thread bf16 workers
    (AMX), batches of 8, 134 -> 172 texts/s; fp32, one batch of 32 on 2 threads, 246 -> 309 GFLOP/s (no change at
    batches of 8). The price: memory freed after a pass stays with the process for the next one (+60-110 MB
    RSS under load, bf16; in the soak's mix of texts and images, 2 arenas, RSS levels off about 60% above the
    idle server's, where glibc's defaults stay about 20% above it but serve 16% fewer requests: 113 against 134
    req/s). Skipped when the user tunes malloc (MALLOC_*_, MALLOC_ARENA_MAX or GLIBC_TUNABLES; e.g.
    MALLOC_TRIM_THRESHOLD_=134217728 keeps glibc's defaults) or the C library is not glibc.
    """
    import ctypes

    if not _glibc_untuned():
        return False
    libc = ctypes.CDLL(None)  # the C library the interpreter is linked against
    return bool(libc.mallopt(M_MMAP_THRESHOLD, keep_bytes)) and bool(libc.mallopt(M_TRIM_THRESHOLD, keep_bytes))


_trimmer: threading.Thread | None = None  # one per process, however many apps load models in it


def trim_now_and_then(every_s: float = TRIM_EVERY_S) -> threading.Thread:
    """A daemon thread that hands the whole pages malloc holds free back to the OS (glibc's malloc_trim) every
    `every_s` seconds.

    What keep_freed_memory keeps is reused by the next forward pass, but blocks freed between shapes that no
    later allocation fits pile up: with it alone (2 arenas), a 30-minute soak's RSS rose in steps, +5.5% after
    the 5-minute warm-up (flat from minute 14); with a trim a minute, +4.4% (1,042 -> 1,088 MB). A trim costs
    the next pass its page faults once, not every pass: measured, the trim took 8 ms and the batch after it
    (32 texts, 256 tokens, fp32) 0.826 s against 0.785 s, so once a minute it is under 0.1% of the time.
    """
    import ctypes

    global _trimmer
    if _trimmer is not None:
        return _trimmer
    libc = ctypes.CDLL(None)

    def run() -> None:
        while True:
            time.sleep(every_s)
            libc.malloc_trim(0)

    _trimmer = threading.Thread(target=run, name="tp-malloc-trim", daemon=True)
    _trimmer.start()
    return _trimmer


def tune_cpu_after_loading(quantize: str, device: str, serves_text: bool) -> None:
    """Once the models have loaded (so the loading's large temporaries still went back to the OS): keep freed
    activations for the next pass (trimming what piles up once a minute), and advise bf16 where AMX would run
    it much faster than the fp32 served."""
    log = logging.getLogger("tp.serving")
    if device == "cpu" and not keep_freed_memory():
        log.info("malloc left as it is (MALLOC_*_ or GLIBC_TUNABLES set, or not glibc)")
    elif device == "cpu":
        trim_now_and_then()
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

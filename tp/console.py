"""A quiet console for training: what the libraries print that reads as an error to a newcomer is muted.

transformers prints a "LOAD REPORT" table naming `classifier.weight MISSING` whenever a fresh head is put
on a pretrained encoder (tp says instead, in one line, that the head is new), and transformers, accelerate
and peft raise FutureWarnings about their own internals. Progress bars and real errors still show.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def quiet_loading() -> Iterator[None]:
    """Loading a base with a new head: transformers' load report and warnings muted, errors kept."""
    from transformers.utils import logging as hf_logging

    before, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # "Loading weights" of a 22 M model is no progress worth watching
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        hf_logging.set_verbosity(before)
        if bars:
            hf_logging.enable_progress_bar()


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """FutureWarnings muted: transformers, accelerate and peft raise them about their own internals (tp raises
    none), nothing a user of tp can act on."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        yield


BNB_CPU_NOTICE = "Failed to load CPU gemm_4bit_forward"


def _not_the_bnb_cpu_notice(record: logging.LogRecord) -> bool:
    return not record.getMessage().startswith(BNB_CPU_NOTICE)


def mute_bitsandbytes_cpu_notice() -> None:
    """bitsandbytes logs at import, on CPUs with AVX512-BF16, that an optional 4-bit CPU kernel (the `kernels`
    package) could not load; tp runs no 4-bit model on a CPU, so that one line is dropped (others still show)."""
    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    if _not_the_bnb_cpu_notice not in logger.filters:
        logger.addFilter(_not_the_bnb_cpu_notice)

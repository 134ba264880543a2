"""The gate that searches (`int8-dynamic`): when int8 loses too much, keep the most sensitive layers in fp32.

As Intel Neural Compressor's accuracy-aware tuning does, step by step and on the validation split, never
the test split the gate reports on:

1. quantize everything (but the head): if its validation accuracy is within `max_drop` of fp32's, done;
2. rank the Linear layers by sensitivity: each quantized alone, the KL divergence of the model's
   predictions from fp32's over validation inputs (the larger, the more that layer's int8 error matters);
3. keep the 1, 2, 4, 8... most sensitive layers in fp32 until the validation accuracy passes or the trial
   budget runs out; the best trial (the first that passes, else the most accurate) is the variant.

The validation baseline is the model being quantized, in fp32: the run's, or a stacked variant's student, so
that a student better than its teacher on validation cannot hide what int8 costs it.
The lab then measures that variant on the test split and gates it like any other, so a variant chosen
here can still be rejected there: the search decides on validation, the report is on test.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from tp.compression.distill import Encode, logits_of


def accuracy(model: torch.nn.Module, encode: Encode, inputs: list[Any], labels: list[int]) -> float:
    predicted = logits_of(model, encode, inputs).argmax(-1)
    return float((predicted == torch.tensor(labels)).float().mean())


def sensitivities(model: torch.nn.Module, encode: Encode, inputs: list[Any]) -> list[tuple[str, float]]:
    """Every quantizable Linear layer with the KL divergence its int8 version alone causes, most sensitive first."""
    from tp.compression.int8_linear import Int8Linear
    from tp.compression.quantize import quantizable_linears, set_module

    reference = torch.log_softmax(logits_of(model, encode, inputs), -1)
    scores = []
    for name in quantizable_linears(model):
        original = model.get_submodule(name)
        set_module(model, name, Int8Linear.from_float(original))
        try:
            changed = torch.log_softmax(logits_of(model, encode, inputs), -1)
        finally:
            set_module(model, name, original)
        kl = torch.nn.functional.kl_div(changed, reference, log_target=True, reduction="batchmean")
        scores.append((name, float(kl)))
    return sorted(scores, key=lambda item: item[1], reverse=True)


def fallback_sizes(layers: int, trials: int) -> list[int]:
    """How many layers each trial keeps in fp32: 1, 2, 4, 8... (never all of them), at most `trials`."""
    sizes, k = [], 1
    while k < layers and len(sizes) < trials:
        sizes.append(k)
        k *= 2
    return sizes


def search_keep(ranked: list[str], score: Callable[[list[str]], float], baseline: float, max_drop: float,
                trials: int) -> dict[str, Any]:
    """Try keeping none, then the most sensitive 1, 2, 4... layers in fp32; stop at the first whose validation
    accuracy is within `max_drop` points of `baseline`. Returns the trials and the chosen layers."""
    history = []
    for k in [0, *fallback_sizes(len(ranked), trials)]:
        keep = ranked[:k]
        value = score(keep)
        drop = round((baseline - value) * 100, 2)
        history.append({"fp32_layers": k, "validation_accuracy": round(value, 4), "drop_points": drop,
                        "passed": drop <= max_drop})
        if drop <= max_drop:
            break
    best = next((t for t in history if t["passed"]), None) or max(history, key=lambda t: t["validation_accuracy"])
    return {"trials": history, "passed": best["passed"], "keep": ranked[:best["fp32_layers"]]}


def search(rank: Callable[[], list[tuple[str, float]]], score: Callable[[list[str]], float], baseline: float,
           max_drop: float, trials: int) -> dict[str, Any]:
    """All in int8 first; only when that loses more than `max_drop` points (and `trials` allow) rank the layers
    (`rank`: most sensitive first) and search_keep. The record: validation_baseline, trials, passed, keep, and
    most_sensitive when it ranked. `score([])` runs once."""
    first = score([])
    drop = round((baseline - first) * 100, 2)
    record: dict[str, Any] = {"validation_baseline": round(baseline, 4)}
    if drop <= max_drop or trials == 0:
        trial = {"fp32_layers": 0, "validation_accuracy": round(first, 4), "drop_points": drop,
                 "passed": drop <= max_drop}
        return {**record, "trials": [trial], "passed": trial["passed"], "keep": []}
    ranked = rank()
    found = search_keep([name for name, _ in ranked], lambda keep: score(keep) if keep else first, baseline,
                        max_drop, trials)
    return {**record, **found, "most_sensitive": [[name, round(kl, 5)] for name, kl in ranked[:8]]}


def searched_int8(source: torch.nn.Module, encode: Encode, validation: tuple[list[Any], list[int]],
                  max_drop: float, trials: int, sensitivity_inputs: int = 64) -> tuple[torch.nn.Module, dict]:
    """The int8 model the search settles on, and what it tried."""
    from tp.compression.lab_data import spread
    from tp.compression.quantize import quantize_model

    def quantized(keep: list[str]) -> torch.nn.Module:
        return quantize_model(copy.deepcopy(source), keep=keep)

    plain = quantized([])
    record = search(lambda: sensitivities(source, encode, spread(validation, sensitivity_inputs)[0]),
                    lambda keep: accuracy(quantized(keep) if keep else plain, encode, *validation),
                    accuracy(source, encode, *validation), max_drop, trials)
    return (quantized(record["keep"]) if record["keep"] else plain), record

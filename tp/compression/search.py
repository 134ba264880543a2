"""The gate that searches (`int8-dynamic`): when int8 loses too much, keep the most sensitive layers in fp32.

As Intel Neural Compressor's accuracy-aware tuning does, step by step and on the validation split, never
the test split the gate reports on:

1. quantize everything (but the head): if its validation score is within `max_drop` of fp32's, done;
2. rank the Linear layers by sensitivity: each quantized alone, the KL divergence of the model's
   predictions from fp32's over validation inputs (the larger, the more that layer's int8 error matters);
3. keep the 1, 2, 4, 8... most sensitive layers in fp32 until the validation score passes or the trial
   budget runs out; the best trial (the first that passes, else the one that lost least) is the variant.

The score and the drop are the gate's (tp.compression.gate_metric): accuracy points for one label per text,
micro-F1 points for multi-label, RMSE growth in % for regression (whose sensitivity is the outputs' mean squared
change, not a KL divergence).

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
from tp.compression.gate_metric import Scorer

ONE_LABEL = Scorer()  # one label per input: accuracy, KL divergence


def accuracy(model: torch.nn.Module, encode: Encode, inputs: list[Any], labels: list[Any],
             scorer: Scorer = ONE_LABEL) -> float:
    """The gate's metric of `model` on (inputs, labels): accuracy, micro-F1 or RMSE (scorer's problem)."""
    return scorer.value(labels, logits_of(model, encode, inputs).numpy())


def sensitivities(model: torch.nn.Module, encode: Encode, inputs: list[Any],
                  scorer: Scorer = ONE_LABEL) -> list[tuple[str, float]]:
    """Every quantizable Linear layer with the divergence its int8 version alone causes, most sensitive first."""
    from tp.compression.int8_linear import Int8Linear
    from tp.compression.quantize import quantizable_linears, set_module

    reference = logits_of(model, encode, inputs)
    scores = []
    for name in quantizable_linears(model):
        original = model.get_submodule(name)
        set_module(model, name, Int8Linear.from_float(original))
        try:
            changed = logits_of(model, encode, inputs)
        finally:
            set_module(model, name, original)
        scores.append((name, scorer.divergence(changed, reference)))
    return sorted(scores, key=lambda item: item[1], reverse=True)


def fallback_sizes(layers: int, trials: int) -> list[int]:
    """How many layers each trial keeps in fp32: 1, 2, 4, 8... (never all of them), at most `trials`."""
    sizes, k = [], 1
    while k < layers and len(sizes) < trials:
        sizes.append(k)
        k *= 2
    return sizes


def _trial(k: int, value: float, baseline: float, max_drop: float, scorer: Scorer) -> dict[str, Any]:
    drop = scorer.metric.drop(baseline, value)
    return {"fp32_layers": k, f"validation_{scorer.metric.key}": round(value, 4), "drop_points": drop,
            "passed": drop <= max_drop}


def search_keep(ranked: list[str], score: Callable[[list[str]], float], baseline: float, max_drop: float,
                trials: int, scorer: Scorer = ONE_LABEL) -> dict[str, Any]:
    """Try keeping none, then the most sensitive 1, 2, 4... layers in fp32; stop at the first whose validation
    score is within `max_drop` of `baseline` (the gate's rule). Returns the trials and the chosen layers."""
    history = []
    for k in [0, *fallback_sizes(len(ranked), trials)]:
        history.append(_trial(k, score(ranked[:k]), baseline, max_drop, scorer))
        if history[-1]["passed"]:
            break
    best = next((t for t in history if t["passed"]), None) or min(history, key=lambda t: t["drop_points"])
    return {"trials": history, "passed": best["passed"], "keep": ranked[:best["fp32_layers"]]}


def search(rank: Callable[[], list[tuple[str, float]]], score: Callable[[list[str]], float], baseline: float,
           max_drop: float, trials: int, scorer: Scorer = ONE_LABEL) -> dict[str, Any]:
    """All in int8 first; only when that loses more than `max_drop` (and `trials` allow) rank the layers
    (`rank`: most sensitive first) and search_keep. The record: validation_baseline, metric, trials, passed,
    keep, and most_sensitive when it ranked. `score([])` runs once."""
    first = score([])
    record: dict[str, Any] = {"validation_baseline": round(baseline, 4), "metric": scorer.metric.key}
    trial = _trial(0, first, baseline, max_drop, scorer)
    if trial["passed"] or trials == 0:
        return {**record, "trials": [trial], "passed": trial["passed"], "keep": []}
    ranked = rank()
    found = search_keep([name for name, _ in ranked], lambda keep: score(keep) if keep else first, baseline,
                        max_drop, trials, scorer)
    return {**record, **found, "most_sensitive": [[name, round(kl, 5)] for name, kl in ranked[:8]]}


def searched_int8(source: torch.nn.Module, encode: Encode, validation: tuple[list[Any], list[Any]],
                  max_drop: float, trials: int, sensitivity_inputs: int = 64,
                  scorer: Scorer = ONE_LABEL) -> tuple[torch.nn.Module, dict]:
    """The int8 model the search settles on, and what it tried."""
    from tp.compression.lab_data import spread
    from tp.compression.quantize import quantize_model

    def quantized(keep: list[str]) -> torch.nn.Module:
        return quantize_model(copy.deepcopy(source), keep=keep)

    plain = quantized([])
    record = search(lambda: sensitivities(source, encode, spread(validation, sensitivity_inputs)[0], scorer),
                    lambda keep: accuracy(quantized(keep) if keep else plain, encode, *validation, scorer),
                    accuracy(source, encode, *validation, scorer), max_drop, trials, scorer)
    return (quantized(record["keep"]) if record["keep"] else plain), record

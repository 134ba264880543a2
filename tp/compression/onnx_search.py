"""The gate that searches, for `onnx-int8`: leave ONNX Runtime's most sensitive nodes out of int8.

The same steps as tp.compression.search (Intel Neural Compressor's accuracy-aware tuning), on the ONNX graph:
quantize every MatMul and embedding Gather whose weight is a constant; if the validation score (the gate's
metric) drops more than `max_drop` below the model it quantizes (in fp32), rank those nodes by the divergence of the
predictions each alone in int8 causes, then exclude the 1, 2, 4... most sensitive ones from quantization
(`nodes_to_exclude`: they run in fp32, their neighbours stay int8) until it passes or the trial budget runs out.
Dynamic quantization leaves LayerNorm, GELU, softmax and the residual Adds in fp32 already: only nodes with
int8 weights can be excluded. Decided on validation; the lab reports and gates on the test split.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from tp.compression.distill import Encode, logits_of
from tp.compression.gate_metric import Scorer
from tp.compression.search import ONE_LABEL, accuracy, search

OP_TYPES = ("MatMul", "Gather")  # what tp's onnx-int8 quantizes in a plain (unfused) export


def quantizable_nodes(path: Path) -> list[str]:
    """The nodes dynamic quantization gives int8 weights: MatMuls by a constant matrix, Gathers from a
    constant table (the embeddings; not the shape Gathers)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    constants = {tensor.name for tensor in graph.initializer
                 if len(tensor.dims) == 2 and tensor.data_type == onnx.TensorProto.FLOAT}
    names = []
    for node in graph.node:
        if node.op_type not in OP_TYPES:
            continue
        weight = node.input[1] if node.op_type == "MatMul" else node.input[0]  # MatMul(x, W); Gather(table, ids)
        if weight in constants and node.name:
            names.append(node.name)
    return names


def _logits(path: Path, encode: Encode, inputs: list[Any], threads: int | None) -> torch.Tensor:
    from tp.compression.onnx_export import OnnxClassifierModel

    return logits_of(OnnxClassifierModel(path, threads), encode, inputs)


def onnx_sensitivities(fp32: Path, encode: Encode, inputs: list[Any], scratch: Path,
                       threads: int | None = None, scorer: Scorer = ONE_LABEL) -> list[tuple[str, float]]:
    """Every quantizable node with the divergence its int8 version alone causes, most sensitive first."""
    from tp.compression.onnx_export import quantize_onnx

    reference = _logits(fp32, encode, inputs, threads)
    scores = []
    for name in quantizable_nodes(fp32):
        alone = scratch / "alone.onnx"
        quantize_onnx(fp32, alone, only=[name])
        scores.append((name, scorer.divergence(_logits(alone, encode, inputs, threads), reference)))
    return sorted(scores, key=lambda item: item[1], reverse=True)


def searched_onnx_int8(source: torch.nn.Module, encode: Encode, validation: tuple[list[Any], list[Any]],
                       max_drop: float, trials: int, sensitivity_inputs: int = 32,
                       threads: int | None = None,
                       scorer: Scorer = ONE_LABEL) -> Callable[[Path, Path], dict[str, Any]]:
    """A quantizer for build_onnx_int8: (fp32 graph, int8 target) -> the search's record; what it writes to
    the target is the trial the search settles on (the first that passes, else the one that lost least)."""
    from tp.compression.lab_data import spread
    from tp.compression.onnx_export import quantize_onnx

    def quantize(fp32: Path, target: Path) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="tp-onnx-search-") as tmp:
            scratch = Path(tmp)

            def score(keep: list[str]) -> float:
                trial = scratch / "trial.onnx"
                quantize_onnx(fp32, trial, exclude=keep)
                return scorer.value(validation[1], _logits(trial, encode, validation[0], threads).numpy())

            def rank() -> list[tuple[str, float]]:
                return onnx_sensitivities(fp32, encode, spread(validation, sensitivity_inputs)[0], scratch, threads,
                                          scorer)

            record = search(rank, score, accuracy(source, encode, *validation, scorer), max_drop, trials, scorer)
        quantize_onnx(fp32, target, exclude=record["keep"])
        return {"search": record, "fp32_nodes": record["keep"]}

    return quantize

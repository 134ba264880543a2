"""`onnx-int8`: export the fp32 classifier to ONNX, then ONNX Runtime dynamic int8 (weights and embeddings).

The export traces the eager attention with a padded batch: traced with an all-ones mask, the attention
mask's branch could be folded away and padding would then leak into the result. A parity check on
texts of other lengths compares ONNX Runtime's logits with torch's before anything is saved. An image
classifier (ViT) is traced with `pixel_values` (dynamic batch) and checked on a batch of another size;
its patch-embedding Conv stays fp32 (only MatMul weights are quantized).
Needs `pip install onnx onnxruntime`; without them the method fails with a message saying so.
"""

from __future__ import annotations

import inspect
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

from tp.errors import ModelSourceError

ONNX_FILE = "model.onnx"


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as error:
        raise ModelSourceError("onnx-int8 needs ONNX Runtime: `pip install onnx onnxruntime` "
                               f"(missing: {error.name}).") from error


class OnnxClassifierModel:
    """Calls an ONNX Runtime session like a transformers model: `model(**batch).logits`."""

    def __init__(self, path: Path, threads: int | None = None, config: Any = None) -> None:
        import onnxruntime as ort

        self.config = config  # the transformers config, for callers that read labels or positions
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()  # the same threads torch gets
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        # token ids and masks are int64; pixel_values are float32
        self.dtypes = {i.name: "float32" if i.type == "tensor(float)" else "int64" for i in self.session.get_inputs()}

    def __call__(self, **batch: torch.Tensor) -> SimpleNamespace:
        if "token_type_ids" in self.input_names and "token_type_ids" not in batch:  # BERT's default: segment 0
            batch = {**batch, "token_type_ids": torch.zeros_like(batch["input_ids"])}
        feeds = {name: batch[name].numpy().astype(self.dtypes[name]) for name in self.input_names}
        return SimpleNamespace(logits=torch.from_numpy(self.session.run(["logits"], feeds)[0]))

    training = False  # an inference session: train() and eval() change nothing

    def eval(self) -> OnnxClassifierModel:
        return self

    def train(self, mode: bool = True) -> OnnxClassifierModel:
        return self


def is_image_model(model: torch.nn.Module) -> bool:
    return getattr(model, "main_input_name", "input_ids") == "pixel_values"


def encode(model: torch.nn.Module, preprocessor: Any, inputs: list[Any], max_length: int | None,
           truncation: str = "head") -> dict[str, Any]:
    """The model's inputs for texts (tokenizer, padded together, cut the run's `truncation` way), text pairs
    (`(text, text_pair)` tuples, with their segment ids) or PIL images."""
    if is_image_model(model):
        from tp.data.images import to_rgb

        return preprocessor(images=[to_rgb(image) for image in inputs], return_tensors="pt")
    pairs = [b for _, b in inputs] if inputs and isinstance(inputs[0], tuple | list) else None
    texts = [a for a, _ in inputs] if pairs is not None else inputs
    if max_length is None:  # no budget given: the tokenizer's own limit, as truncation=True alone would use
        return preprocessor(texts, pairs, padding=True, truncation=True, return_tensors="pt")
    from tp.models.text_encoding import encode_texts

    return encode_texts(preprocessor, texts, max_length, truncation, padding=True, return_tensors="pt", pairs=pairs)


def export_onnx(model: torch.nn.Module, preprocessor: Any, path: Path, max_length: int | None,
                images: list[Any] | None = None) -> list[str]:
    """Trace `model` (fp32, eager attention) to ONNX with dynamic batch (and, for texts, sequence) axes.

    A text model is traced on two texts of different lengths; an image model on `images`.
    """
    if is_image_model(model):
        sample = encode(model, preprocessor, images or [], max_length)
    else:
        sample = preprocessor(["a short text", "a longer text that needs no padding at all here"], padding=True,
                              truncation=True, max_length=max_length, return_tensors="pt")
    order = list(inspect.signature(model.forward).parameters)
    names = sorted(sample.keys(), key=order.index)  # the exporter names graph inputs in forward()'s order
    dynamic = {0: "batch"} if is_image_model(model) else {0: "batch", 1: "sequence"}
    axes = {name: dynamic for name in names} | {"logits": {0: "batch"}}
    attention = model.config._attn_implementation
    model.set_attn_implementation("eager")  # sdpa's mask shortcuts do not trace into ONNX reliably
    try:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings on shape checks; the parity check is the real test
            torch.onnx.export(model, (), str(path), kwargs={name: sample[name] for name in names}, input_names=names,
                              output_names=["logits"], dynamic_axes=axes, opset_version=17,
                              dynamo=False)  # the dynamo exporter needs onnxscript, which tp does not require
    finally:
        model.set_attn_implementation(attention)
    return names


def quantize_onnx(source: Path, target: Path, exclude: list[str] | None = None, only: list[str] | None = None) -> None:
    """ONNX Runtime dynamic quantization: MatMul weights per channel and the embedding tables (Gather, or
    the fused EmbedLayerNormalization), and a fused graph's Attention weights; but the `exclude`d nodes (they
    stay fp32), or only the nodes in `only` (the search measures each one alone).

    Works on plain and on fused graphs (fuse_encoder_graph's contrib ops carry no type information
    for the quantizer's shape inference: their float outputs are declared as the default type)."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # it warns through the root logger (`logging.warning`), which, with no handler there, installs one: in a
    # server, every later log line would then print twice. A handler of our own for the duration stops that.
    root, quiet = logging.getLogger(), logging.NullHandler()
    root.addHandler(quiet)
    try:
        quantize_dynamic(source, target, weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Gather", "Attention", "EmbedLayerNormalization"],
                         nodes_to_quantize=only or None, nodes_to_exclude=exclude or None,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.removeHandler(quiet)


def fuse_encoder_graph(source: Path, target: Path, config: Any) -> dict[str, int]:
    """ONNX Runtime's transformer optimizer on a text encoder's export: attention, embedding + LayerNorm,
    bias + GELU and residual + LayerNorm become single fused kernels (1.1x the plain graph's texts/s on
    one thread, 256-token texts). Returns how many of each fused op the graph now has ({} when nothing
    could be fused, and then `target` is the plain graph)."""
    from onnxruntime.transformers.optimizer import optimize_model

    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 0)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optimized = optimize_model(str(source), model_type="bert", num_heads=int(heads), hidden_size=int(hidden),
                                   opt_level=1)  # level 1: graph fusions only, portable to any CPU
    fused = {op: count for op, count in optimized.get_fused_operator_statistics().items() if count}
    optimized.save_model_to_file(str(target))
    return fused


def onnx_parity(model: torch.nn.Module, preprocessor: Any, path: Path, inputs: list[Any],
                max_length: int | None, truncation: str = "head") -> float:
    """Largest |logit difference| between torch and ONNX Runtime on `inputs` (texts padded together, or images)."""
    batch = encode(model, preprocessor, inputs, max_length, truncation)
    with torch.inference_mode():
        expected = model(**batch).logits.float()
    got = OnnxClassifierModel(path)(**batch).logits
    return float((expected - got).abs().max())


def build_onnx_int8(model: torch.nn.Module, preprocessor: Any, folder: Path, inputs: list[Any],
                    max_length: int | None = None, truncation: str = "head",
                    quantize: Callable[[Path, Path], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Write `model.onnx` (int8) and `config.json` into `folder`; returns the fp32 export's parity.

    `inputs` are texts (checked cut the run's `truncation` way), or PIL images for an image model (traced on
    two, checked on all of them). `quantize` (fp32 graph, target) -> details replaces the plain quantization:
    the gate's search (tp.compression.onnx_search).
    """
    _require_onnx()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        names = export_onnx(model, preprocessor, fp32, max_length, images=inputs[:2])
        fp32_parity = onnx_parity(model, preprocessor, fp32, inputs, max_length, truncation)
        if fp32_parity > 1e-3:
            raise ModelSourceError(f"The ONNX export differs from torch by {fp32_parity:.2g} in the logits; "
                                   "not saving it.")
        searched = quantize(fp32, folder / ONNX_FILE) if quantize else quantize_onnx(fp32, folder / ONNX_FILE)
    model.config.save_pretrained(folder)
    details = {"onnx_inputs": names, "fp32_export_max_logit_diff": fp32_parity, "opset": 17,
               "weights_files": [ONNX_FILE], **(searched or {})}
    if is_image_model(model):
        details["patch_embedding"] = "Conv kept fp32 (ONNX Runtime dynamic quantization covers MatMul weights)"
    return details


def load_onnx(folder: Path) -> OnnxClassifierModel:
    from transformers import AutoConfig

    _require_onnx()
    return OnnxClassifierModel(folder / ONNX_FILE, config=AutoConfig.from_pretrained(folder))

"""Batch inference for served classifiers: truncation flags, length grouping, int8, devices.

`TextInference` and `ImageInference` are what a MicroBatcher runs. The first takes the texts of one
micro-batch, sorts them by token length and splits them into forward passes that waste the least
compute on padding; the second preprocesses decoded images to one tensor and runs one forward pass.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# A forward pass has a fixed cost (Python, kernel launches) worth about this many tokens of compute;
# the grouping pays it again for each extra pass, so it only splits a batch when padding costs more.
FORWARD_OVERHEAD_TOKENS = 64
SHAPE_STEP = 16  # with few_shapes, sequence lengths are padded to a multiple of this


@dataclass(frozen=True)
class Scores:
    """One input's scores over the model's labels (label order): the model's activation of its logits (softmax
    probabilities; sigmoid scores for multi-label; the value for regression) and the logits themselves, whether
    it was cut (texts), and the tokens its row of the forward pass held, padding included (an image: its patches).
    Thresholds are not applied here: each request reads its own rows (tp.serving.answers)."""

    probabilities: list[float]
    truncated: bool
    tokens: int = 0
    logits: list[float] | None = None


def activate(logits: Any, activation: str) -> Any:
    """Logits (a torch tensor, rows x labels) -> scores: `softmax`, `sigmoid` or `none` (tp.tasks.Problem)."""
    import torch

    if activation == "sigmoid":
        return torch.sigmoid(logits)
    if activation == "none":
        return logits
    return torch.softmax(logits, dim=-1)


def group_by_length(lengths: list[int], max_rows: int, overhead: int = FORWARD_OVERHEAD_TOKENS,
                    max_tokens: int | None = None) -> list[list[int]]:
    """Indices of `lengths` in forward passes: sorted by length, split to minimise padded tokens.

    Cost of a pass = overhead + rows x longest row; an exact dynamic programme over the sorted order. With
    `max_tokens` (TP_MAX_BATCH_TOKENS), no pass of several rows holds more than that many padded tokens.
    """
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    sizes = [lengths[i] for i in order]
    best = [0.0] + [float("inf")] * len(order)
    cut = [0] * (len(order) + 1)
    for end in range(1, len(order) + 1):
        for start in range(max(0, end - max_rows), end):
            if max_tokens is not None and end - start > 1 and (end - start) * sizes[end - 1] > max_tokens:
                continue  # over the token budget: fewer rows per pass
            cost = best[start] + overhead + (end - start) * sizes[end - 1]
            if cost < best[end]:
                best[end], cut[end] = cost, start
    groups, end = [], len(order)
    while end > 0:
        groups.append(order[cut[end]:end])
        end = cut[end]
    return groups[::-1]


def resolve_device(device: str, cpu_only: bool = False) -> str:
    """`auto` becomes cuda when a GPU is there, unless the settings ask for a CPU technique (`cpu_only`: int8,
    or TP_BACKEND=onnx)."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() and not cpu_only else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        from tp.errors import ConfigError

        raise ConfigError(f"TP_DEVICE={device} but torch sees no CUDA GPU: set TP_DEVICE=cpu or auto.")
    return device


def plan_threads(settings: Any, device: str) -> tuple[int, int]:
    """(batches in flight per model, torch threads per batch).

    On a CPU, two single-threaded batches side by side beat one two-threaded batch: torch's threads
    synchronise at every op, and one preempted thread stalls the other. Measured on 2 shared cores,
    256-token texts: 1 thread ~10 texts/s at any batch size, 2 threads 1-9 texts/s (worst at batch 1).
    """
    import torch

    cores = torch.get_num_threads()  # torch's default: the physical cores it may use
    workers = settings.workers or (1 if device != "cpu" or cores < 2 else 2)
    threads = settings.threads or max(1, cores // workers)
    return workers, threads


def quantize_int8(model: Any) -> Any:
    """A copy of `model` with int8 Linear layers (weights int8 per channel, activations quantized per token in
    each batch; tp.compression.quantize) and an int8 word table; the head stays fp32."""
    import copy

    from tp.compression.quantize import quantize_model

    return quantize_model(copy.deepcopy(model)).eval()


def reduce_precision(model: Any, quantize: str, device: str = "cpu") -> Any:
    """What runs the batches: `model` itself (`none`), a dynamic-int8 copy (`int8`, CPU) or a bfloat16 copy
    (`bf16`: fast on GPUs and on CPUs with AMX or AVX512-BF16, slower than fp32 on other CPUs)."""
    if quantize == "int8":
        return quantize_int8(model)
    if quantize != "bf16":
        return model
    import copy

    import torch

    if not _cpu_has_bf16(device):
        logging.getLogger("tp.serving").warning("TP_QUANTIZE=bf16: torch has no fast bfloat16 kernels for this "
                                                "CPU (AMX, AVX512), so bf16 runs slower than fp32 here")
    return copy.deepcopy(model).to(torch.bfloat16)


def _cpu_has_bf16(device: str) -> bool:
    if device != "cpu":
        return True
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch without the check: assume it is fine, do not warn
        return True


class TextInference:
    """Classify texts with one model, truncating each to `max_tokens` (the run's `truncation` way) and flagging
    the cut ones."""

    def __init__(self, model: Any, tokenizer: Any, max_tokens: int, max_rows: int, device: str = "cpu",
                 on_forward: Callable[[int, int], None] | None = None, few_shapes: bool = False,
                 truncation: str = "head", on_tokenized: Callable[[float], None] | None = None,
                 max_batch_tokens: int | None = None, activation: str = "softmax", pairs: bool = False) -> None:
        self.model = model
        self.activation = activation  # the problem's: softmax, sigmoid (multi-label) or none (regression)
        self.pairs = pairs  # each item is a (text, text_pair) tuple, encoded together with segment ids
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.truncation = truncation  # head or head_tail: as the model was trained (tp.models.text_encoding)
        self.max_rows = max_rows
        self.max_batch_tokens = max_batch_tokens  # padded tokens per pass (a single text is never split)
        self.device = device
        self.few_shapes = few_shapes
        self._on_forward = on_forward or (lambda rows, length: None)
        self._on_tokenized = on_tokenized or (lambda seconds: None)  # a batch's tokenization and padding time

    def passes(self, lengths: list[int]) -> list[tuple[list[int], int]]:
        """(indices, padded length) of each forward pass over texts of `lengths` tokens.

        With `few_shapes`, lengths are padded up to a multiple of SHAPE_STEP (at most max_tokens): oneDNN prepares
        its bf16 kernels for each input shape (a new shape cost 6-18 ms more, once), and 16 lengths x max_rows row
        counts stay within its primitive cache (1024 by default). Row counts are left as they are: splitting a batch
        into power-of-two passes (11 = 8 + 2 + 1) ran its small passes at two thirds of the speed of the whole
        (measured, 256 tokens, 1 thread: 61 texts/s at 1 row, 88-94 at 5-13)."""
        if self.few_shapes:
            lengths = [min(-(-n // SHAPE_STEP) * SHAPE_STEP, self.max_tokens) for n in lengths]
        groups = group_by_length(lengths, self.max_rows, max_tokens=self.max_batch_tokens)
        return [(group, max(lengths[i] for i in group)) for group in groups]

    def encode(self, texts: list[Any]) -> tuple[list[list[int]], list[bool]]:
        """Token ids per text (cut to max_tokens) and whether each text was cut."""
        from tp.models.text_encoding import encode_with_flags

        if self.pairs:
            return self.encode_pairs(texts)[:2]
        return encode_with_flags(self.tokenizer, texts, self.max_tokens, self.truncation)

    def encode_pairs(self, pairs: list[tuple[str, str]]) -> tuple[list[list[int]], list[bool], list[list[int]]]:
        """Token ids per pair ([CLS] a [SEP] b [SEP], the longer text cut first, as in training), whether each was
        cut, and the segment ids (0 for the text, 1 for its pair)."""
        from tp.models.text_encoding import untruncated

        encoded = self.tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation=True,
                                 max_length=self.max_tokens)
        ids = encoded["input_ids"]
        if encoded.encodings is not None:  # fast tokenizers keep what truncation cut off
            cut = [bool(enc.overflowing) for enc in encoded.encodings]
        else:
            full = untruncated(self.tokenizer, [a for a, _ in pairs], text_pair=[b for _, b in pairs])["input_ids"]
            cut = [len(row) > self.max_tokens for row in full]
        segments = encoded.get("token_type_ids") or [[0] * len(row) for row in ids]
        return ids, cut, segments

    def pad(self, ids: list[list[int]], segments: list[list[int]] | None, group: list[int], length: int) -> Any:
        """One forward pass's tensors: its rows padded to `length` (with their segment ids, for pairs)."""
        rows: dict[str, Any] = {"input_ids": [ids[i] for i in group]}
        if segments is not None:
            rows["token_type_ids"] = [segments[i] for i in group]
        return self.tokenizer.pad(rows, padding="max_length", max_length=length, return_tensors="pt")

    def __call__(self, texts: list[Any]) -> list[Scores]:
        import torch

        began = time.perf_counter()
        if self.pairs:
            ids, truncated, segments = self.encode_pairs(texts)
        else:
            (ids, truncated), segments = self.encode(texts), None
        batches = [(group, self.pad(ids, segments, group, length))
                   for group, length in self.passes([len(row) for row in ids])]
        self._on_tokenized(time.perf_counter() - began)
        scores: list[Scores | None] = [None] * len(texts)
        with torch.inference_mode():
            for group, batch in batches:
                batch = {key: value.to(self.device) for key, value in batch.items()}
                logits = self.model(**batch).logits.float()
                probabilities = activate(logits, self.activation).cpu().tolist()
                raw = logits.cpu().tolist()
                length = int(batch["input_ids"].shape[1])
                self._on_forward(len(group), length)
                for row, index in enumerate(group):
                    scores[index] = Scores(probabilities[row], truncated[index], length, raw[row])
        return scores  # type: ignore[return-value]


def tokens_per_image(model: Any) -> int:
    """A ViT's patches + [CLS] per image (what one image costs a forward pass); 1 for other models."""
    config = getattr(model, "config", None)
    patch, size = getattr(config, "patch_size", None), getattr(config, "image_size", None)
    return (size // patch) ** 2 + 1 if isinstance(size, int) and isinstance(patch, int) else 1


class ImageInference:
    """Classify decoded images with one model: the processor's resize and normalisation, one forward pass."""

    def __init__(self, model: Any, processor: Any, device: str = "cpu",
                 on_forward: Callable[[int, int], None] | None = None, max_batch_tokens: int | None = None) -> None:
        self.model = model
        self.processor = processor
        self.device = device
        self.tokens_per_image = tokens_per_image(model)  # for the forward-tokens metric and the token budget
        self.max_rows = max(1, max_batch_tokens // self.tokens_per_image) if max_batch_tokens else None
        self._on_forward = on_forward or (lambda rows, length: None)

    def __call__(self, images: list[Any]) -> list[Scores]:
        import torch

        from tp.data.images import to_rgb

        pixels = self.processor(images=[to_rgb(image) for image in images], return_tensors="pt")["pixel_values"]
        rows = self.max_rows or len(images)
        probabilities: list[list[float]] = []
        raw: list[list[float]] = []
        with torch.inference_mode():
            dtype = getattr(self.model, "dtype", torch.float32)  # a bf16 model takes bf16 pixels
            for start in range(0, len(images), rows):  # passes within TP_MAX_BATCH_TOKENS
                part = pixels[start:start + rows].to(self.device, dtype=dtype)
                logits = self.model(pixel_values=part).logits.float()
                probabilities += torch.softmax(logits, dim=-1).cpu().tolist()
                raw += logits.cpu().tolist()
                self._on_forward(len(part), self.tokens_per_image)
        return [Scores(row, False, self.tokens_per_image, logits)
                for row, logits in zip(probabilities, raw, strict=True)]


def ranked_labels(labels: list[str], probabilities: list[float], top_k: int | None = None) -> list[tuple[str, float]]:
    """(label, probability) pairs, best first, cut to `top_k`."""
    ranked = sorted(zip(labels, probabilities, strict=True), key=lambda pair: -pair[1])
    return ranked[:top_k] if top_k else ranked

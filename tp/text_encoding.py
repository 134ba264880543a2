"""Tokenize texts the way a run was trained: `head` truncation (the first tokens) or `head_tail`.

`head_tail` keeps the first quarter and the last three quarters of the token budget of a text longer than
`max_length` (Sun et al. 2019, "How to Fine-Tune BERT for Text Classification?": head 128 + tail 382 of
512 did best on long reviews). Training, evaluation, the compression lab, ONNX export and serving all
encode through `encode_texts`, so a model always sees its texts cut the same way.
"""

from __future__ import annotations

from typing import Any

TRUNCATIONS = ("head", "head_tail")
HEAD_SHARE = 0.25  # of the token budget kept from the start; the rest comes from the end


def head_tail(ids: list[int], budget: int) -> list[int]:
    """`ids` cut to `budget` tokens: its first quarter and its last three quarters."""
    if len(ids) <= budget:
        return ids
    head = int(budget * HEAD_SHARE)
    return ids[:head] + ids[len(ids) - (budget - head):]


def _special_frame(tokenizer: Any) -> tuple[int, int]:
    """How many special tokens the tokenizer puts before and after a text ([CLS] ... [SEP]: 1 and 1)."""
    inner = tokenizer("a", add_special_tokens=False)["input_ids"]
    framed = tokenizer("a")["input_ids"]
    start = next(i for i in range(len(framed)) if framed[i:i + len(inner)] == inner)
    return start, len(framed) - start - len(inner)


def _without_length_warning(tokenizer: Any) -> None:
    """Tokenizing a long text untruncated warns once that it is too long for the model; it is cut next."""
    warned = getattr(tokenizer, "deprecation_warnings", None)
    if isinstance(warned, dict):
        warned["sequence-length-is-longer-than-the-specified-maximum"] = True


def encode_texts(tokenizer: Any, texts: list[str], max_length: int, truncation: str = "head",
                 padding: bool | str = False, return_tensors: str | None = None) -> Any:
    """Token ids (and attention masks) of `texts`, cut to `max_length` tokens the `truncation` way."""
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation should be one of {', '.join(TRUNCATIONS)}, got {truncation!r}")
    if truncation == "head":
        return tokenizer(texts, truncation=True, max_length=max_length, padding=padding,
                         return_tensors=return_tensors)
    from transformers import BatchEncoding

    _without_length_warning(tokenizer)
    prefix, suffix = _special_frame(tokenizer)
    budget = max_length - prefix - suffix
    full = tokenizer(texts, truncation=False)["input_ids"]
    ids = [row[:prefix] + head_tail(row[prefix:len(row) - suffix], budget) + row[len(row) - suffix:] for row in full]
    encoded: dict[str, list[list[int]]] = {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}
    if "token_type_ids" in tokenizer.model_input_names:
        encoded["token_type_ids"] = [[0] * len(row) for row in ids]
    if padding or return_tensors:
        return tokenizer.pad(encoded, padding=padding or "longest", return_tensors=return_tensors)
    return BatchEncoding(encoded)


def tokens_before_truncation(tokenizer: Any, texts: list[str]) -> list[int]:
    """How many tokens (special tokens included) each text has before any cut: which ones `max_length` cuts."""
    _without_length_warning(tokenizer)
    return [len(ids) for ids in tokenizer(texts, truncation=False)["input_ids"]]

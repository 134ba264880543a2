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


def special_frame(tokenizer: Any) -> tuple[int, int]:
    """How many special tokens the tokenizer puts before and after a text ([CLS] ... [SEP]: 1 and 1)."""
    inner = tokenizer("a", add_special_tokens=False)["input_ids"]
    framed = tokenizer("a")["input_ids"]
    start = next(i for i in range(len(framed)) if framed[i:i + len(inner)] == inner)
    return start, len(framed) - start - len(inner)


def kept_positions(length: int, max_length: int, frame: tuple[int, int]) -> list[int]:
    """Positions of an untruncated encoding of `length` tokens that head_tail keeps (special tokens included)."""
    prefix, suffix = frame
    inner = head_tail(list(range(prefix, length - suffix)), max_length - prefix - suffix)
    return list(range(prefix)) + inner + list(range(length - suffix, length))


def _cut_head_tail(tokenizer: Any, full: list[list[int]], max_length: int) -> list[list[int]]:
    """Untruncated token ids cut the head_tail way, the special tokens around each text kept."""
    frame = special_frame(tokenizer)
    return [[row[i] for i in kept_positions(len(row), max_length, frame)] for row in full]


def untruncated(tokenizer: Any, texts: str | list[str], **options: Any) -> Any:
    """`tokenizer(texts)` with nothing cut, without its warning that a text is too long (it is cut next)."""
    warned = getattr(tokenizer, "deprecation_warnings", None)
    if isinstance(warned, dict):
        warned["sequence-length-is-longer-than-the-specified-maximum"] = True
    return tokenizer(texts, truncation=False, **options)


def encode_texts(tokenizer: Any, texts: list[str], max_length: int, truncation: str = "head",
                 padding: bool | str = False, return_tensors: str | None = None,
                 pairs: list[str] | None = None) -> Any:
    """Token ids (and attention masks) of `texts`, cut to `max_length` tokens the `truncation` way.

    `pairs`: the second text of each pair; the two are encoded together ([CLS] a [SEP] b [SEP]), the longer one
    cut first (head truncation only).
    """
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation should be one of {', '.join(TRUNCATIONS)}, got {truncation!r}")
    if pairs is not None and truncation != "head":
        raise ValueError("text pairs are cut the `head` way (the longer text first); head_tail is for single texts")
    if truncation == "head":
        return tokenizer(texts, pairs, truncation=True, max_length=max_length, padding=padding,
                         return_tensors=return_tensors)
    from transformers import BatchEncoding

    ids = _cut_head_tail(tokenizer, untruncated(tokenizer, texts)["input_ids"], max_length)
    encoded: dict[str, list[list[int]]] = {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}
    if "token_type_ids" in tokenizer.model_input_names:
        encoded["token_type_ids"] = [[0] * len(row) for row in ids]
    if padding or return_tensors:
        return tokenizer.pad(encoded, padding=padding or "longest", return_tensors=return_tensors)
    return BatchEncoding(encoded)


def tokens_before_truncation(tokenizer: Any, texts: list[str]) -> list[int]:
    """How many tokens (special tokens included) each text has before any cut: which ones `max_length` cuts."""
    return [len(ids) for ids in untruncated(tokenizer, texts)["input_ids"]]


def encode_with_flags(tokenizer: Any, texts: list[str], max_length: int,
                      truncation: str = "head") -> tuple[list[list[int]], list[bool]]:
    """Token ids per text, cut to `max_length` the `truncation` way, and whether each text was cut."""
    if truncation == "head":
        encoded = tokenizer(texts, truncation=True, max_length=max_length)
        ids = encoded["input_ids"]
        if encoded.encodings is not None:  # fast tokenizers keep what truncation cut off
            return ids, [bool(enc.overflowing) for enc in encoded.encodings]
        return ids, [length > max_length for length in tokens_before_truncation(tokenizer, texts)]
    if truncation not in TRUNCATIONS:
        raise ValueError(f"truncation should be one of {', '.join(TRUNCATIONS)}, got {truncation!r}")
    full = untruncated(tokenizer, texts)["input_ids"]  # one pass: the flags and the cut both come from it
    return _cut_head_tail(tokenizer, full, max_length), [len(row) > max_length for row in full]

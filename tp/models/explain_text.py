"""Behind the pipeline: what a text classifier does with one text, step by step.

Text (or a text pair) -> tokens (ids, special tokens marked, which text each is from, character offsets) ->
logits -> scores (softmax; sigmoid for multi-label; the value for regression) -> label, plus a per-token
attribution: how much each token pushed the explained label's logit (regression: the value), by gradient x input
or integrated gradients on the input embeddings. Works on fp32 models (gradients are needed).
"""

from __future__ import annotations

from typing import Any

from tp.errors import InputError
from tp.tasks import REGRESSION, SINGLE_LABEL, TEXT, Problem

METHODS = TEXT.explain_methods


def _embedding_attributions(model: Any, batch: dict[str, Any], special: Any, target: int, method: str,
                            steps: int) -> Any:
    """Per-token attribution of logit `target` (1-D tensor), summed over the embedding dimension."""
    import torch

    embeddings = model.get_input_embeddings()(batch["input_ids"]).detach()  # (1, tokens, hidden)
    mask = batch["attention_mask"]
    segments = {"token_type_ids": batch["token_type_ids"]} if "token_type_ids" in batch else {}  # a pair's texts
    if method == "gradient_x_input":
        inputs = embeddings.clone().requires_grad_(True)
        logit = model(inputs_embeds=inputs, attention_mask=mask, **segments).logits[0, target]
        (gradient,) = torch.autograd.grad(logit, inputs)
        return (gradient * embeddings)[0].sum(-1)
    # Integrated gradients: average the gradient along a straight path from a baseline ([PAD] in place
    # of every non-special token, [CLS]/[SEP] kept) to the input, in one batched pass of `steps` points.
    pad_id = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    baseline_ids = torch.where(special, batch["input_ids"], torch.full_like(batch["input_ids"], pad_id))
    baseline = model.get_input_embeddings()(baseline_ids).detach()
    alphas = (torch.arange(steps, dtype=embeddings.dtype) + 0.5) / steps  # midpoint rule
    alphas = alphas.to(embeddings.device).view(steps, 1, 1)
    path = (baseline + alphas * (embeddings - baseline)).requires_grad_(True)
    segments = {key: value.expand(steps, -1) for key, value in segments.items()}
    logits = model(inputs_embeds=path, attention_mask=mask.expand(steps, -1), **segments).logits[:, target]
    (gradients,) = torch.autograd.grad(logits.sum(), path)
    return ((embeddings - baseline)[0] * gradients.mean(0)).sum(-1)


def _encode_one(tokenizer: Any, text: str | tuple[str, str], max_tokens: int,
                truncation: str) -> tuple[dict[str, Any], bool]:
    """One text's (or pair's) ids, attention mask, special-tokens mask (and offsets, fast tokenizers; segment ids,
    pairs) as the model sees it, and whether it was cut."""
    import torch

    if truncation == "head" or isinstance(text, tuple):  # a pair: the longer text cut first, as in training
        first, second = text if isinstance(text, tuple) else (text, None)
        encoded = tokenizer(first, second, truncation=True, max_length=max_tokens, return_special_tokens_mask=True,
                            return_offsets_mapping=tokenizer.is_fast, return_tensors="pt")
        return encoded, bool(encoded.encodings[0].overflowing) if encoded.encodings else False
    from tp.models.text_encoding import kept_positions, special_frame, untruncated

    # head_tail: the whole text with its offsets, then the positions training kept (special tokens included),
    # so each attribution lands on a token the model read, at its place in the text
    encoded = untruncated(tokenizer, text, return_special_tokens_mask=True,
                          return_offsets_mapping=tokenizer.is_fast, return_tensors="pt")
    length = int(encoded["input_ids"].shape[1])
    kept = torch.tensor(kept_positions(length, max_tokens, special_frame(tokenizer)))
    return {key: value[:, kept] for key, value in encoded.items()}, length > max_tokens


def _segments(encoded: Any, length: int) -> list[int | None]:
    """Which text each token is from (0 the text, 1 its pair; None for special tokens), as the tokenizer says."""
    if getattr(encoded, "encodings", None):  # a fast tokenizer's encoding (head_tail's kept positions: a dict)
        return list(encoded.encodings[0].sequence_ids)
    types = encoded["token_type_ids"][0].tolist() if "token_type_ids" in encoded else [0] * length
    return [None if special else kind for kind, special in zip(types, encoded["special_tokens_mask"][0].tolist(),
                                                                strict=True)]


def explain_text(model: Any, tokenizer: Any, labels: list[str], text: str | tuple[str, str], max_tokens: int,
                 method: str = TEXT.default_explain_method, steps: int = 16, target: str | None = None,
                 truncation: str = "head", problem: Problem = SINGLE_LABEL) -> dict[str, Any]:
    """Tokens, logits, scores, id2label and per-token attributions for one text or one (text, text_pair) pair.

    Args:
        target: the label to explain; default the predicted one (multi-label: the highest-scoring). A regression
            model explains its value: no target.
        steps: points on the integrated-gradients path (ignored by gradient x input).
        truncation: how the model's run cut long texts (head or head_tail): the tokens explained are those it reads.
        problem: how the logits are read (tp.tasks.Problem): softmax, sigmoid (multi-label) or the value.
    """
    import torch

    if method not in METHODS:
        raise InputError(f"Unknown attribution method {method!r}: use one of {', '.join(METHODS)}.")
    if target is not None and problem is REGRESSION:
        raise InputError(f"A regression model explains its one value, not a label: leave `target` out "
                         f"(got {target!r}).")
    if target is not None and target not in labels:
        raise InputError(f"Unknown target label {target!r}: this model's labels are {', '.join(labels)}.")
    encoded, truncated = _encode_one(tokenizer, text, max_tokens, truncation)
    device = next(model.parameters()).device
    batch = {key: encoded[key].to(device) for key in ("input_ids", "attention_mask", "token_type_ids")
             if key in encoded and (key != "token_type_ids" or isinstance(text, tuple))}
    with torch.inference_mode():
        logits = model(**batch).logits[0].float()
    probabilities = torch.sigmoid(logits) if problem.activation == "sigmoid" else \
        logits if problem is REGRESSION else torch.softmax(logits, dim=-1)
    predicted = int(probabilities.argmax())
    target_id = labels.index(target) if target is not None else predicted
    special = encoded["special_tokens_mask"][0].bool()
    with torch.enable_grad():
        scores = _embedding_attributions(model, batch, special.to(device).unsqueeze(0), target_id, method,
                                         steps).float().cpu()
    scale = float(scores[~special].abs().max()) if (~special).any() else 0.0
    ids = encoded["input_ids"][0].tolist()
    offsets = encoded["offset_mapping"][0].tolist() if "offset_mapping" in encoded else [None] * len(ids)
    segments = _segments(encoded, len(ids))
    tokens = [{"index": i, "id": token_id, "token": token, "special": bool(special[i]),
               "segment": None if special[i] else segments[i],
               "start": None if special[i] or offset is None else int(offset[0]),
               "end": None if special[i] or offset is None else int(offset[1]),
               "attribution": float(scores[i]),
               # scaled to [-1, 1] by the largest non-special magnitude, for colouring
               "attribution_scaled": 0.0 if special[i] or scale == 0 else float(scores[i]) / scale}
              for i, (token_id, token, offset) in enumerate(
                  zip(ids, tokenizer.convert_ids_to_tokens(ids), offsets, strict=True))]
    return {"problem_type": problem.name, "tokens": tokens, "logits": logits.cpu().tolist(),
            "probabilities": probabilities.cpu().tolist(), "id2label": {str(i): name for i, name in enumerate(labels)},
            "label": labels[predicted], "score": float(probabilities[predicted]),
            "value": float(logits[0]) if problem is REGRESSION else None, "target": labels[target_id], "method": method,
            "steps": steps if method == "integrated_gradients" else None, "truncated": truncated}

"""Short recovery fine-tuning after pruning: all remaining weights, a small learning rate, the train split.

A plain loop rather than `Trainer`: a fraction of an epoch on an already trained model needs no
checkpoints, evaluation or logging. Masks (magnitude pruning) are re-applied after every step so that
pruned weights stay zero. `encode` turns a list of inputs into model inputs: the tokenizer for texts,
the image processor for images (no augmentation: a short recovery on the plain train images).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import torch


def recover(model: torch.nn.Module, encode: Callable[[list[Any]], dict[str, torch.Tensor]], inputs: list[Any],
            labels: list[int], epochs: float, learning_rate: float = 3e-5, batch_size: int = 16, seed: int = 42,
            after_step: Callable[[], None] | None = None) -> dict[str, Any]:
    """Fine-tune `model` in place for `epochs` (fractions allowed) on (inputs, labels); returns what it did."""
    steps = max(1, math.ceil(epochs * len(inputs) / batch_size))
    model.requires_grad_(True)  # a model merged from a LoRA adapter comes back with its base weights frozen
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - step / steps)  # linear decay
    order: list[int] = []
    losses = []
    start = time.perf_counter()
    model.train()
    for _ in range(steps):
        if len(order) < batch_size:
            order += torch.randperm(len(inputs), generator=generator).tolist()
        chosen, order = order[:batch_size], order[batch_size:]
        batch = encode([inputs[i] for i in chosen])
        loss = model(**batch, labels=torch.tensor([labels[i] for i in chosen])).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if after_step is not None:
            after_step()
        losses.append(float(loss.detach()))
    model.eval()
    tail = losses[-max(1, len(losses) // 5):]
    return {"epochs": epochs, "steps": steps, "batch_size": batch_size, "learning_rate": learning_rate,
            "seconds": round(time.perf_counter() - start, 1), "final_loss": round(sum(tail) / len(tail), 4)}

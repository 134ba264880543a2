"""`distill:L` and `prune-layers:L`: a student with L of the teacher's layers, trained on the run's train split.

Distillation (Hinton et al. 2015, "Distilling the knowledge in a neural network"; DistilBERT, Sanh et al.
2019): the loss is `alpha * T^2 * KL(teacher/T || student/T) + (1 - alpha) * cross-entropy(labels)`, the
teacher's logits computed once over the train split. `prune-layers` runs the same loop on the labels alone
(alpha 0), its cheap baseline: no teacher pass, one epoch. Both evaluate validation macro-F1 every half
epoch, keep the best weights and stop once `patience` evaluations in a row did not improve on it.
The inputs are texts or image items: `encode` (the lab's) turns a list of them into model inputs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

Encode = Callable[[list[Any]], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class StudentTraining:
    epochs: float = 3.0
    learning_rate: float = 8e-5
    temperature: float = 2.0
    alpha: float = 0.5  # weight of the soft targets; 0: labels only (prune-layers)
    batch_size: int = 16
    patience: int = 2  # evaluations (half epochs) without a better validation macro-F1 before stopping
    seed: int = 42


def logits_of(model: torch.nn.Module, encode: Encode, inputs: list[Any], batch_size: int = 32) -> torch.Tensor:
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        out = torch.cat([model(**encode(inputs[i:i + batch_size])).logits.float()
                         for i in range(0, len(inputs), batch_size)])
    model.train(was_training)
    return out


def macro_f1(model: torch.nn.Module, encode: Encode, inputs: list[Any], labels: list[int]) -> float:
    from sklearn.metrics import f1_score

    predicted = logits_of(model, encode, inputs).argmax(-1).tolist()
    return float(f1_score(labels, predicted, labels=sorted(set(labels)), average="macro", zero_division=0))


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor | None, labels: torch.Tensor,
                      temperature: float, alpha: float) -> torch.Tensor:
    hard = F.cross_entropy(student, labels)
    if teacher is None or alpha == 0:
        return hard
    soft = F.kl_div(F.log_softmax(student / temperature, -1), F.softmax(teacher / temperature, -1),
                    reduction="batchmean") * temperature ** 2  # T^2 keeps the gradients' scale (Hinton et al.)
    return alpha * soft + (1 - alpha) * hard


def _schedule(step: int, total: int) -> float:
    warmup = max(1, round(0.06 * total))
    return (step + 1) / warmup if step < warmup else max(0.0, (total - step) / max(1, total - warmup))


def train_student(student: torch.nn.Module, encode: Encode, train: tuple[list[Any], list[int]],
                  validation: tuple[list[Any], list[int]], settings: StudentTraining,
                  teacher_logits: torch.Tensor | None = None,
                  log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Train `student` in place; it ends with its best validation weights. Returns what happened."""
    inputs, labels = train
    per_epoch = math.ceil(len(inputs) / settings.batch_size)
    total = max(1, math.ceil(settings.epochs * per_epoch))
    every = max(1, per_epoch // 2)
    student.requires_grad_(True)
    optimizer = torch.optim.AdamW(student.parameters(), lr=settings.learning_rate, weight_decay=0.01)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: _schedule(step, total))
    generator = torch.Generator().manual_seed(settings.seed)
    start = time.perf_counter()
    best = {"step": 0, "validation_macro_f1": macro_f1(student, encode, *validation)}
    best_state = {k: v.detach().clone() for k, v in student.state_dict().items()}
    history, losses, order, stale, step = [dict(best, loss=None)], [], [], 0, 0
    student.train()
    while step < total and stale < settings.patience:
        if len(order) < settings.batch_size:
            order += torch.randperm(len(inputs), generator=generator).tolist()
        chosen, order = order[:settings.batch_size], order[settings.batch_size:]
        logits = student(**encode([inputs[i] for i in chosen])).logits
        teacher = teacher_logits[chosen] if teacher_logits is not None else None
        loss = distillation_loss(logits, teacher, torch.tensor([labels[i] for i in chosen]),
                                 settings.temperature, settings.alpha)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(student.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        step += 1
        if step % every == 0 or step == total:
            score = macro_f1(student, encode, *validation)
            history.append({"step": step, "validation_macro_f1": round(score, 4),
                            "loss": round(sum(losses[-every:]) / len(losses[-every:]), 4)})
            log(f"  step {step} of {total}: loss {history[-1]['loss']:.4f}, validation macro-F1 {score:.4f}")
            if score > best["validation_macro_f1"]:
                best, stale = {"step": step, "validation_macro_f1": score}, 0
                best_state = {k: v.detach().clone() for k, v in student.state_dict().items()}
            else:
                stale += 1
    student.load_state_dict(best_state)
    student.eval()
    return {"epochs": settings.epochs, "steps_planned": total, "steps": step, "stopped_early": step < total,
            "best_step": best["step"], "best_validation_macro_f1": round(best["validation_macro_f1"], 4),
            "history": history, "batch_size": settings.batch_size, "learning_rate": settings.learning_rate,
            "temperature": settings.temperature if teacher_logits is not None else None,
            "alpha": settings.alpha if teacher_logits is not None else 0.0,
            "seconds": round(time.perf_counter() - start, 1)}

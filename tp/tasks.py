"""The tasks tp knows, declared once, and the interface every classifier of every task offers.

A `Task` says what a model takes (the input's name, its plural for counts and rates) and how it is explained
(the attribution methods, the first one the default). The API schema, the Gradio radios, the Vue client's
select (through GET /api/v1/models) and the explainers read these lists; nothing else spells them. A new task
type (multi-label, regression, pairs) is one more `Task` here and one more `Classifier` implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from tp.errors import ModelSourceError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Task:
    name: str  # the Hugging Face pipeline tag, recorded in tp.json and the card
    input: str  # what one input is, and the data column / request field holding it: "text" or "image"
    unit: str  # the plural, for counts and rates: "texts", "images"
    explain_methods: tuple[str, ...]  # attribution methods; the first is the default

    @property
    def default_explain_method(self) -> str:
        return self.explain_methods[0]

    @property
    def is_image(self) -> bool:
        return self.input == "image"


@dataclass(frozen=True)
class Problem:
    """What one row's target is and how logits are read: transformers' `config.problem_type`, declared once.

    Every input kind (texts, text pairs, images) can carry any problem; metrics, baselines, the loss, the
    API's answer shape and the stock pipeline's `function_to_apply` follow from it.
    """

    name: str  # transformers' config.problem_type, recorded in tp.json and config.json
    recipe: str  # the value of `data.task` that asks for it
    main_metric: str  # picks the checkpoint, gates compression, is compared with the baselines
    greater_is_better: bool
    activation: str  # logits -> scores: "softmax", "sigmoid" or "none" (the stock pipeline's function_to_apply)

    @property
    def is_regression(self) -> bool:
        return self.activation == "none"


SINGLE_LABEL = Problem("single_label_classification", "single_label", "macro_f1", True, "softmax")
MULTI_LABEL = Problem("multi_label_classification", "multi_label", "micro_f1", True, "sigmoid")
REGRESSION = Problem("regression", "regression", "rmse", False, "none")
PROBLEMS = {problem.name: problem for problem in (SINGLE_LABEL, MULTI_LABEL, REGRESSION)}
PROBLEM_RECIPES = ("auto", *(problem.recipe for problem in PROBLEMS.values()))


def problem_named(name: str | None) -> Problem:
    """The Problem called `name` (tp.json's `problem_type`, or a recipe's `data.task`); none means single-label."""
    if not name or name == "auto":
        return SINGLE_LABEL
    for problem in PROBLEMS.values():
        if name in (problem.name, problem.recipe):
            return problem
    raise ModelSourceError(f"Unknown problem type {name!r}: tp handles {', '.join(PROBLEMS)}.")


TEXT = Task("text-classification", "text", "texts", ("gradient_x_input", "integrated_gradients"))
IMAGE = Task("image-classification", "image", "images", ("saliency", "attention_rollout"))
TASKS = {task.name: task for task in (TEXT, IMAGE)}
TASK_NAMES = tuple(TASKS)
EXPLAIN_METHODS = tuple(method for task in TASKS.values() for method in task.explain_methods)


def task_named(name: str | None) -> Task:
    """The Task called `name` (tp.json's `task`); none recorded means text (runs older than image support)."""
    if not name:
        return TEXT
    if name not in TASKS:
        raise ModelSourceError(f"Unknown task {name!r}: tp handles {', '.join(TASKS)}.")
    return TASKS[name]


@runtime_checkable
class Classifier(Protocol):
    """What every loaded classifier offers, whatever its task (tp.models.classifier, tp.models.image_classifier).

    Items are what a dataset or a request holds (texts; image files, bytes or PIL images); `open` turns them
    into what `encode` and `predict_logits` take (texts as they are; PIL images).
    """

    model: Any
    labels: list[str]
    info: dict[str, Any]
    task: str

    @property
    def spec(self) -> Task: ...

    @property
    def preprocessor(self) -> Any: ...  # the tokenizer or the image processor, saved beside the weights

    def open(self, items: list[Any]) -> list[Any]: ...

    def encode(self, inputs: list[Any]) -> dict[str, Any]: ...

    def predict_logits(self, inputs: list[Any], batch_size: int = 32) -> np.ndarray: ...

    def predict(self, inputs: list[Any], batch_size: int = 32) -> list[dict[str, Any]]: ...

"""What GET /models, /health and /ready answer: each served model, its limits, metrics, baselines and warnings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from tp.serving.schemas import Answer, ProblemType, Task
from tp.tasks import SINGLE_LABEL


class ModelLimits(Answer):
    max_items: int = Field(description="Most inputs per request.")
    max_chars: int | None = Field(description="Most characters per text (text models; null for image models).")
    max_tokens: int | None = Field(description="Tokens kept per text; longer texts are cut and flagged "
                                               "(null for image models).")
    max_batch_size: int = Field(description="Most inputs in one forward pass.")
    max_batch_tokens: int = Field(description="Most tokens, padding included, in one forward pass (a single text "
                                              "is never split; images count their patches).")
    max_image_bytes: int | None = Field(None, description="Largest image file in bytes (image models; "
                                                          "null for text models); past it 413.")
    max_image_pixels: int | None = Field(None, description="Most pixels (width x height) per image (image "
                                                           "models; null for text models).")
    image_formats: list[str] | None = Field(None, description="Image formats accepted, e.g. PNG, JPEG (image "
                                                              "models; null for text models).")


class ServerLimits(Answer):
    """What the whole server takes at once, and how long it waits (the answer past each limit)."""

    max_concurrent_requests: int = Field(description="Most model requests (POST /predict, /explain) answered at "
                                                     "once; past it 429 with Retry-After.")
    queue_limit: int = Field(description="Most inputs waiting per model; past it 503 with Retry-After.")
    max_request_bytes: int = Field(description="Largest request body in bytes; past it 413.")
    request_timeout_s: float = Field(description="Longest a request waits for its model; past it 504.")


class ImageExample(BaseModel):
    label: str = Field(description="The label this example shows.")
    image: str = Field(description="The image as a data URL (`data:image/png;base64,...`).")


class BaselinePublic(Answer):
    """A trivial or linear model scored on the same test split as the served model."""

    accuracy: float | None = Field(description="Its test accuracy, 0 to 1 (multi-label: exact label sets); null "
                                               "for regression baselines.")
    macro_f1: float | None = Field(description="Its test macro-F1, 0 to 1; null for regression baselines.")
    scores: dict[str, float] = Field(default_factory=dict, description="Every test score it has, named as in "
                                     "`metrics` without `test_` (`micro_f1`, `hamming_loss`; `rmse`, `mae`, `r2`, "
                                     "`pearson`...): compare `main_metric` with the one of the same name.")
    description: str = Field(description="What it does, e.g. `always the most frequent training label`.")
    predicts: str | None = Field(None, description="What it always predicts (the majority baseline's label or "
                                                   "label set, the mean baseline's value); null for the others.")


class RunWarning(Answer):
    """Something the training run found wrong with what the model learned."""

    code: str = Field(description="`no_skill` (no better than the majority or chance baseline), `one_class` "
                                  "(predicts one class for nearly every input) or `below_baseline` (below the "
                                  "TF-IDF or pixel linear baseline).", examples=["no_skill"])
    severity: Literal["error", "warning"] = Field(description="`error`: the model has not learned its task; "
                                                              "`warning`: a simple baseline does better.")
    message: str = Field(description="What was measured and what to try.")


class MainMetric(Answer):
    """The one test score that judges a model of its problem, as training chose checkpoints by it."""

    name: str = Field(description="Its key in `metrics`: `test_macro_f1` (single-label), `test_micro_f1` "
                                  "(multi-label) or `test_rmse` (regression).", examples=["test_macro_f1"])
    value: float
    greater_is_better: bool = Field(description="False for errors (RMSE): lower is better.")


class ModelPublic(Answer):
    name: str
    task: Task
    default: bool
    problem_type: ProblemType = Field(SINGLE_LABEL.name, description="What POST /predict answers: "
                                      "`single_label_classification` (one label, softmax: `Prediction`), "
                                      "`multi_label_classification` (any labels, a sigmoid score and threshold each: "
                                      "`MultiLabelPrediction`) or `regression` (a number: `RegressionPrediction`).")
    text_pair: bool = Field(False, description="True when each input is a text pair {\"text\": ..., "
                                               "\"text_pair\": ...} (similarity, entailment); false for single texts "
                                               "and images.")
    thresholds: dict[str, float] | None = Field(None, description="Multi-label models: each label's decision "
                                                "threshold, tuned on the validation split (POST /predict's "
                                                "`threshold` overrides them); null for other models.")
    main_metric: MainMetric | None = Field(None, description="The headline test score for this model's problem; "
                                           "null when the model has no metrics.json (not a tp run).")
    labels: list[str] = Field(description="The labels, in the model's output order (regression: the name of its "
                                          "one output).")
    base_model: str | None = Field(description="What it was fine-tuned from (Hub id).")
    dataset: str | None = Field(description="What it was trained on.")
    metrics: dict[str, float] = Field(description="Test metrics from the run's metrics.json (which ones depends on "
                                                  "`problem_type`: regression runs have no accuracy).")
    device: str
    quantized: str | None = Field(description="How the weights are compressed: `int8` or `bf16` (TP_QUANTIZE), or the "
                                              "method of a compressed variant (`onnx-int8`, `prune-heads`...); "
                                              "null for full precision.")
    runtime: Literal["torch", "onnxruntime"] = Field(
        "torch", description="What runs the forward passes now: torch, or ONNX Runtime (TP_BACKEND; with `auto`, "
                             "fp32 text models start on ONNX Runtime and move to torch once it has loaded).")
    variant: str | None = Field(None, description="The compressed variant that answers (its folder under the run's "
                                                  "variants/), null when the run's own weights do.")
    variant_reason: str | None = Field(None, description="Why that variant or the run's own weights answer "
                                                         "(TP_VARIANT), with the variant's measured speed-up and "
                                                         "accuracy; null for a model that is not a run folder.")
    limits: ModelLimits
    examples: list[ImageExample] = Field(default_factory=list, description="Image models: one example image "
                                         "per label from the run folder's examples/ (empty when none; always "
                                         "empty for text models).")
    baselines: dict[str, BaselinePublic] = Field(
        default_factory=dict, description="Baselines scored on the same test split, by name (`majority`, `chance`, "
                                          "`tfidf_logreg` or `pixels_logreg`; multi-label also `frequent`; regression: "
                                          "`mean`, "
                                          "`tfidf_ridge`): compare their `scores` with `main_metric`. Empty for "
                                          "runs that did not record them.")
    explain_methods: list[str] = Field(default_factory=list, description="What POST /explain's `method` takes for "
                                       "this model, the default first (from the model's task).")
    warnings: list[RunWarning] = Field(default_factory=list, description="The run's verdict on what the model "
                                       "learned, loudest first; empty when it clearly learned (or the run is older "
                                       "than these checks). Any `error`: the model learned nothing.")


class ModelsResponse(BaseModel):
    default: str
    models: list[ModelPublic]
    limits: ServerLimits


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready"] = "ready"
    models: list[str]

"""Request and response bodies of the REST API (and so of the OpenAPI document clients are typed from).

Room for image models: `task` says what a model takes, and `inputs` is a union that can gain an image
variant (e.g. `{"image": "<base64>"}`) without changing what text clients send or receive.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Task = Literal["text-classification", "image-classification"]
EXAMPLE_TEXT = "Shares in the carmaker rose 5% after it reported record quarterly profits."


def check_text(value: Any, where: str) -> str:
    """A usable text, or a ValueError saying what to send instead."""
    if not isinstance(value, str):
        raise ValueError(f"{where} should be a string, got {type(value).__name__}: send text in quotes")
    if not value.strip():
        raise ValueError(f"{where} is empty or only whitespace: send some text to classify")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently ignored


class PredictRequest(Strict):
    """One text or a list of texts to classify with one model."""

    inputs: str | list[str] = Field(description="A text, or a list of texts (up to the server's max_items).",
                                    examples=[EXAMPLE_TEXT])
    model: str | None = Field(None, description="Name of a served model (GET /models); default: the default model.",
                              examples=["bbc-news-minilm"])
    top_k: int | None = Field(None, ge=1, le=1000, description="Return only the k best labels in `scores`.")

    @field_validator("inputs", mode="before")
    @classmethod
    def _check_inputs(cls, value: Any) -> Any:
        if isinstance(value, list):
            if not value:
                raise ValueError("`inputs` is an empty list: send at least one text")
            return [check_text(item, f"`inputs[{i}]`") for i, item in enumerate(value)]
        if isinstance(value, str):
            return check_text(value, "`inputs`")
        raise ValueError(f"`inputs` should be a text or a list of texts, got {type(value).__name__}")

    @property
    def texts(self) -> list[str]:
        return [self.inputs] if isinstance(self.inputs, str) else list(self.inputs)


class LabelScore(BaseModel):
    label: str
    score: float = Field(description="Softmax probability, 0 to 1.")


class Prediction(BaseModel):
    """The result for one input."""

    label: str = Field(description="The most probable label.")
    score: float = Field(description="Its probability.")
    scores: list[LabelScore] = Field(description="Labels with probabilities, best first (cut to top_k).")
    truncated: bool = Field(description="True when the text was longer than max_tokens and was cut to fit.")


class PredictResponse(BaseModel):
    model: str = Field(description="The model that answered.")
    predictions: list[Prediction] = Field(description="One per input, in the order sent.")


class ExplainRequest(Strict):
    """One text to take through the pipeline, with a per-token attribution.

    Gradients need fp32 weights: a server running int8 explains with the fp32 model it quantized.
    """

    inputs: str = Field(description="The text to explain.", examples=[EXAMPLE_TEXT])
    model: str | None = Field(None, description="Name of a served model; default: the default model.")
    method: Literal["gradient_x_input", "integrated_gradients"] = Field(
        "gradient_x_input", description="Attribution on the input embeddings: gradient x input (one backward "
                                         "pass) or integrated gradients (more faithful, `steps` passes).")
    steps: int = Field(16, ge=2, le=64, description="Integrated-gradients path points.")
    target: str | None = Field(None, description="Label to explain; default: the predicted one.")

    @field_validator("inputs", mode="before")
    @classmethod
    def _check_inputs(cls, value: Any) -> Any:
        return check_text(value, "`inputs`")


class TokenPublic(BaseModel):
    index: int
    id: int = Field(description="Vocabulary id.")
    token: str
    special: bool = Field(description="Added by the tokenizer ([CLS], [SEP]...), not from the text.")
    start: int | None = Field(description="Character offset in the text (None for special tokens).")
    end: int | None
    attribution: float = Field(description="How much this token pushed the target's logit (+ for, - against).")
    attribution_scaled: float = Field(description="The attribution divided by the largest magnitude: -1 to 1.")


class ExplainResponse(BaseModel):
    model: str
    tokens: list[TokenPublic]
    logits: list[float] = Field(description="Raw scores, one per label id.")
    probabilities: list[float] = Field(description="softmax(logits).")
    id2label: dict[str, str]
    label: str
    score: float
    target: str = Field(description="The label whose logit the attributions explain.")
    method: str
    steps: int | None
    truncated: bool


class ModelLimits(BaseModel):
    max_items: int = Field(description="Most inputs per request.")
    max_chars: int | None = Field(description="Most characters per text (text models).")
    max_tokens: int | None = Field(description="Tokens kept per text; longer texts are cut and flagged.")
    max_batch_size: int = Field(description="Most inputs in one forward pass.")


class ModelPublic(BaseModel):
    name: str
    task: Task
    default: bool
    labels: list[str]
    base_model: str | None = Field(description="What it was fine-tuned from (Hub id).")
    dataset: str | None = Field(description="What it was trained on.")
    metrics: dict[str, float] = Field(description="Test metrics from the run's metrics.json.")
    device: str
    quantized: str | None = Field(description="`int8` when served with dynamic quantization.")
    limits: ModelLimits


class ModelsResponse(BaseModel):
    default: str
    models: list[ModelPublic]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    status: Literal["ready"] = "ready"
    models: list[str]


class ErrorPublic(BaseModel):
    detail: str = Field(description="What went wrong and what to change.")

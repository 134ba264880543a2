"""Request and response bodies of the REST API (and so of the OpenAPI document clients are typed from).

`task` says what a model takes; `inputs` is a text, a list of texts, an image `{"image": "<base64>"}` or
a list of images, so text clients send and receive what they always did.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tp.tasks import EXPLAIN_METHODS, IMAGE, TASK_NAMES

Task = Literal[TASK_NAMES]
EXAMPLE_TEXT = "Shares in the carmaker rose 5% after it reported record quarterly profits."
# an 8x8 grey PNG: the smallest image every served image model can read
EXAMPLE_IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAAAAADhZOFXAAAAEElEQVR4nGNsYIAAJgaKGAAmCACQXTClHgAAAABJRU5ErkJggg=="
IMAGE_SHAPE = '{"image": "<base64 of the file>"}'


def check_text(value: Any, where: str) -> str:
    """A usable text, or a ValueError saying what to send instead."""
    if not isinstance(value, str):
        raise ValueError(f"{where} should be a string, got {type(value).__name__}: send text in quotes")
    if not value.strip():
        raise ValueError(f"{where} is empty or only whitespace: send some text to classify")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently ignored


class Answer(BaseModel):
    # a field with a default is still always sent: typed clients see it as required, not optional
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)


class ImageInput(Strict):
    """One image for an image model."""

    image: str = Field(min_length=1, description="The image file's bytes in base64, or a data URL "
                       "(`data:image/png;base64,...`). Formats, bytes and pixels: see the model's `limits`.",
                       examples=[EXAMPLE_IMAGE])


def check_image(value: Any, where: str) -> ImageInput:
    """An ImageInput, or a ValueError saying what to send instead (the bytes are checked later)."""
    if isinstance(value, ImageInput):
        return value
    if not isinstance(value, dict):
        raise ValueError(f"{where} should be an image object {IMAGE_SHAPE}, got {type(value).__name__}")
    if "image" not in value:
        raise ValueError(f"{where} has no `image` key: send {IMAGE_SHAPE}")
    extra = sorted(set(value) - {"image"})
    if extra:
        raise ValueError(f"{where} has {', '.join(map(repr, extra))}: an image object has only `image`")
    image = value["image"]
    if not isinstance(image, str) or not image.strip():
        raise ValueError(f"{where[:-1]}.image` should be the image file in base64 (a non-empty string), "
                         f"got {type(image).__name__ if not isinstance(image, str) else 'an empty string'}")
    return ImageInput(image=image)


def check_inputs(value: Any, many: bool) -> Any:
    """Texts stay texts, image objects become ImageInput; one kind per request."""
    if many and isinstance(value, list):
        if not value:
            raise ValueError("`inputs` is an empty list: send at least one text or image")
        if isinstance(value[0], dict | ImageInput):
            return [check_image(item, f"`inputs[{i}]`") for i, item in enumerate(value)]
        return [check_text(item, f"`inputs[{i}]`") for i, item in enumerate(value)]
    if isinstance(value, str):
        return check_text(value, "`inputs`")
    if isinstance(value, dict | ImageInput):
        return check_image(value, "`inputs`")
    if not many:
        raise ValueError(f"`inputs` should be a string (one text) or one image {IMAGE_SHAPE}, "
                         f"got {type(value).__name__}")
    raise ValueError(f"`inputs` should be a text or a list of texts, or an image or a list of images "
                     f"({IMAGE_SHAPE}), got {type(value).__name__}")


class PredictRequest(Strict):
    """Texts for a text model, or images for an image model, to classify with one model."""

    inputs: str | list[str] | ImageInput | list[ImageInput] = Field(
        description=f"A text or a list of texts (text models), or an image {IMAGE_SHAPE} or a list of images "
                    "(image models); up to the server's max_items.", examples=[EXAMPLE_TEXT])
    model: str | None = Field(None, description="Name of a served model (GET /models); default: the default model.",
                              examples=["bbc-news-minilm"])
    top_k: int | None = Field(None, ge=1, le=1000, description="Return only the k best labels in `scores`.")

    @field_validator("inputs", mode="before")
    @classmethod
    def _check_inputs(cls, value: Any) -> Any:
        return check_inputs(value, many=True)

    @property
    def items(self) -> list[str] | list[ImageInput]:
        """The texts, or the images, as a list."""
        return list(self.inputs) if isinstance(self.inputs, list) else [self.inputs]  # type: ignore[list-item]


class LabelScore(BaseModel):
    label: str
    score: float = Field(description="Softmax probability, 0 to 1.")


class Prediction(BaseModel):
    """The result for one input."""

    label: str = Field(description="The most probable label.")
    score: float = Field(description="Its probability.")
    scores: list[LabelScore] = Field(description="Labels with probabilities, best first (cut to top_k).")
    truncated: bool = Field(description="True when the text was longer than max_tokens and was cut to fit "
                                        "(always false for images).")


class PredictResponse(BaseModel):
    model: str = Field(description="The model that answered.")
    predictions: list[Prediction] = Field(description="One per input, in the order sent.")


ImageMethod = Literal[IMAGE.explain_methods]  # Literal of a tuple: its members


class ExplainRequest(Strict):
    """One text (per-token attributions) or one image (a heatmap) to take through the pipeline.

    Gradients need fp32 weights: a server running int8 explains with the fp32 model it quantized.
    """

    inputs: str | ImageInput = Field(description=f"The text to explain, or for an image model the image "
                                                  f"{IMAGE_SHAPE}.", examples=[EXAMPLE_TEXT])
    model: str | None = Field(None, description="Name of a served model; default: the default model.")
    method: Literal[EXPLAIN_METHODS] | None = Field(
        None, description="Texts: attribution on the input embeddings, `gradient_x_input` (the default, one "
                          "backward pass) or `integrated_gradients` (more faithful, `steps` passes). Images: "
                          "`saliency` (the default: gradient magnitude on the pixels, smoothed) or "
                          "`attention_rollout` (attention from the [CLS] token through every layer, per patch).")
    steps: int = Field(16, ge=2, le=64, description="Integrated-gradients path points (texts).")
    target: str | None = Field(None, description="Label to explain; default: the predicted one.")

    @field_validator("inputs", mode="before")
    @classmethod
    def _check_inputs(cls, value: Any) -> Any:
        return check_inputs(value, many=False)


class TokenPublic(BaseModel):
    index: int
    id: int = Field(description="Vocabulary id.")
    token: str
    special: bool = Field(description="Added by the tokenizer ([CLS], [SEP]...), not from the text.")
    start: int | None = Field(description="Character offset in the text (None for special tokens).")
    end: int | None
    attribution: float = Field(description="How much this token pushed the target's logit (+ for, - against).")
    attribution_scaled: float = Field(description="The attribution divided by the largest magnitude: -1 to 1.")


class ExplainResponse(Answer):
    """A text model's explanation."""

    model: str
    task: Literal["text-classification"] = "text-classification"
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


class ImageExplainResponse(Answer):
    """An image model's explanation: the prediction and a heatmap of what pushed the target's logit."""

    model: str
    task: Literal["image-classification"] = "image-classification"
    label: str = Field(description="The predicted label.")
    score: float = Field(description="Its probability.")
    target: str = Field(description="The label whose logit the heatmap explains.")
    method: ImageMethod
    logits: list[float] = Field(description="Raw scores, one per label id.")
    probabilities: list[float] = Field(description="softmax(logits).")
    id2label: dict[str, str]
    heatmap_png: str = Field(description="The heatmap alone, colour-mapped (dark: no influence, bright: most), "
                                         "as a base64 PNG of width x height, without a data: prefix.")
    overlay_png: str = Field(description="The heatmap blended over the input resized to width x height "
                                         "(base64 PNG).")
    width: int = Field(description="The model's input width: the size of both PNGs.")
    height: int = Field(description="The model's input height.")


ExplainAnswer = Annotated[ExplainResponse | ImageExplainResponse, Field(discriminator="task")]


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

    accuracy: float = Field(description="Its test accuracy, 0 to 1.")
    macro_f1: float = Field(description="Its test macro-F1, 0 to 1.")
    description: str = Field(description="What it does, e.g. `always the most frequent training label`.")
    predicts: str | None = Field(None, description="The label it always predicts (the majority baseline; null "
                                                   "for the others).")


class RunWarning(Answer):
    """Something the training run found wrong with what the model learned."""

    code: str = Field(description="`no_skill` (no better than the majority or chance baseline), `one_class` "
                                  "(predicts one class for nearly every input) or `below_baseline` (below the "
                                  "TF-IDF or pixel linear baseline).", examples=["no_skill"])
    severity: Literal["error", "warning"] = Field(description="`error`: the model has not learned its task; "
                                                              "`warning`: a simple baseline does better.")
    message: str = Field(description="What was measured and what to try.")


class ModelPublic(Answer):
    name: str
    task: Task
    default: bool
    labels: list[str]
    base_model: str | None = Field(description="What it was fine-tuned from (Hub id).")
    dataset: str | None = Field(description="What it was trained on.")
    metrics: dict[str, float] = Field(description="Test metrics from the run's metrics.json.")
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
                                          "`tfidf_logreg` or `pixels_logreg`): compare them with `metrics`' "
                                          "test_accuracy and test_macro_f1. Empty for runs that did not record them.")
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


class ErrorPublic(BaseModel):
    detail: str = Field(description="What went wrong and what to change.")

"""Request and response bodies of the REST API (and so of the OpenAPI document clients are typed from).

`task` says what a model takes; `inputs` is a text, a list of texts, a text pair `{"text": ..., "text_pair": ...}`
(a pair model's input) or a list of pairs, an image `{"image": "<base64>"}` or a list of images, so text clients
send and receive what they always did. What POST /predict answers: tp.serving.prediction_schemas.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tp.tasks import EXPLAIN_METHODS, IMAGE, PROBLEMS, TASK_NAMES

Task = Literal[TASK_NAMES]
ProblemType = Literal[tuple(PROBLEMS)]  # Literal of a tuple: its members
EXAMPLE_TEXT = "Shares in the carmaker rose 5% after it reported record quarterly profits."
# an 8x8 grey PNG: the smallest image every served image model can read
EXAMPLE_IMAGE = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAAAAADhZOFXAAAAEElEQVR4nGNsYIAAJgaKGAAmCACQXTClHgAAAABJRU5ErkJggg=="
IMAGE_SHAPE = '{"image": "<base64 of the file>"}'
PAIR_SHAPE = '{"text": "...", "text_pair": "..."}'
EXAMPLE_PAIR = {"text": "A man is playing a guitar.", "text_pair": "Someone plays an instrument."}


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


class TextPairInput(Strict):
    """Two texts a pair model reads together (similarity, entailment...), in the order it was trained on."""

    text: str = Field(description="The first text.", examples=[EXAMPLE_PAIR["text"]])
    text_pair: str = Field(description="The second text.", examples=[EXAMPLE_PAIR["text_pair"]])


def check_pair(value: Any, where: str) -> TextPairInput:
    """A TextPairInput with two usable texts, or a ValueError saying what to send instead."""
    if isinstance(value, TextPairInput):
        return value
    missing = [key for key in ("text", "text_pair") if key not in value]
    if missing:
        raise ValueError(f"{where} has no `{missing[0]}`: a text pair is {PAIR_SHAPE}")
    extra = sorted(set(value) - {"text", "text_pair"})
    if extra:
        raise ValueError(f"{where} has {', '.join(map(repr, extra))}: a text pair has only `text` and `text_pair`")
    return TextPairInput(text=check_text(value["text"], f"{where[:-1]}.text`"),
                         text_pair=check_text(value["text_pair"], f"{where[:-1]}.text_pair`"))


def check_object(value: Any, where: str) -> ImageInput | TextPairInput:
    """An object input: a text pair when it has `text` or `text_pair`, else an image."""
    if isinstance(value, dict) and ("text" in value or "text_pair" in value):
        return check_pair(value, where)
    return check_image(value, where)


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
        if isinstance(value[0], dict | ImageInput | TextPairInput):
            first = check_object(value[0], "`inputs[0]`")
            check = check_pair if isinstance(first, TextPairInput) else check_image
            return [first, *(check(item, f"`inputs[{i}]`") for i, item in enumerate(value) if i)]
        return [check_text(item, f"`inputs[{i}]`") for i, item in enumerate(value)]
    if isinstance(value, str):
        return check_text(value, "`inputs`")
    if isinstance(value, dict | ImageInput | TextPairInput):
        return check_object(value, "`inputs`")
    if not many:
        raise ValueError(f"`inputs` should be a string (one text), one text pair {PAIR_SHAPE} or one image "
                         f"{IMAGE_SHAPE}, got {type(value).__name__}")
    raise ValueError(f"`inputs` should be a text or a list of texts, a text pair {PAIR_SHAPE} or a list of pairs, "
                     f"or an image or a list of images ({IMAGE_SHAPE}), got {type(value).__name__}")


class PredictRequest(Strict):
    """Texts (or text pairs) for a text model, or images for an image model, to classify with one model."""

    inputs: str | list[str] | TextPairInput | list[TextPairInput] | ImageInput | list[ImageInput] = Field(
        description=f"A text or a list of texts (text models), a text pair {PAIR_SHAPE} or a list of pairs (models "
                    f"with `text_pair` true in GET /models), or an image {IMAGE_SHAPE} or a list of images (image "
                    "models); up to the server's max_items.", examples=[EXAMPLE_TEXT])
    model: str | None = Field(None, description="Name of a served model (GET /models); default: the default model.",
                              examples=["bbc-news-minilm"])
    top_k: int | None = Field(None, ge=1, le=1000, description="Return only the k best labels in `scores` "
                                                               "(classifiers; a regression model has none).")
    threshold: float | None = Field(None, ge=0, le=1, description="Multi-label models only: predict every label "
                                    "whose score reaches this, instead of each label's tuned threshold.")

    @field_validator("inputs", mode="before")
    @classmethod
    def _check_inputs(cls, value: Any) -> Any:
        return check_inputs(value, many=True)

    @property
    def items(self) -> list[str] | list[TextPairInput] | list[ImageInput]:
        """The texts, the pairs or the images, as a list."""
        return list(self.inputs) if isinstance(self.inputs, list) else [self.inputs]  # type: ignore[list-item]


ImageMethod = Literal[IMAGE.explain_methods]  # Literal of a tuple: its members


class ExplainRequest(Strict):
    """One text or text pair (per-token attributions) or one image (a heatmap) to take through the pipeline.

    Gradients need fp32 weights: a server running int8 explains with the fp32 model it quantized.
    """

    inputs: str | TextPairInput | ImageInput = Field(
        description=f"The text to explain, a text pair {PAIR_SHAPE} for a pair model, or for an image model the "
                    f"image {IMAGE_SHAPE}.", examples=[EXAMPLE_TEXT])
    model: str | None = Field(None, description="Name of a served model; default: the default model.")
    method: Literal[EXPLAIN_METHODS] | None = Field(
        None, description="Texts: attribution on the input embeddings, `gradient_x_input` (the default, one "
                          "backward pass) or `integrated_gradients` (more faithful, `steps` passes). Images: "
                          "`saliency` (the default: gradient magnitude on the pixels, smoothed) or "
                          "`attention_rollout` (attention from the [CLS] token through every layer, per patch).")
    steps: int = Field(16, ge=2, le=64, description="Integrated-gradients path points (texts).")
    target: str | None = Field(None, description="Label to explain; default: the predicted one (multi-label: the "
                                                 "highest-scoring). A regression model explains its value: leave "
                                                 "it out.")

    @field_validator("inputs", mode="before")
    @classmethod
    def _check_inputs(cls, value: Any) -> Any:
        return check_inputs(value, many=False)


class TokenPublic(BaseModel):
    index: int
    id: int = Field(description="Vocabulary id.")
    token: str
    special: bool = Field(description="Added by the tokenizer ([CLS], [SEP]...), not from the text.")
    segment: int | None = Field(description="Which text the token is from: 0 `text` (the only one of a single "
                                            "text), 1 `text_pair`; null for special tokens.")
    start: int | None = Field(description="Character offset in its text (`segment`; None for special tokens).")
    end: int | None
    attribution: float = Field(description="How much this token pushed the target's logit (+ for, - against).")
    attribution_scaled: float = Field(description="The attribution divided by the largest magnitude: -1 to 1.")


class ExplainResponse(Answer):
    """A text model's explanation."""

    model: str
    task: Literal["text-classification"] = "text-classification"
    problem_type: ProblemType = Field(description="How the logits are read (GET /models' `problem_type`).")
    tokens: list[TokenPublic]
    logits: list[float] = Field(description="Raw scores, one per label id.")
    probabilities: list[float] = Field(description="softmax(logits) for a single-label model, sigmoid(logits) "
                                                   "(each label alone) for a multi-label one, the logits themselves "
                                                   "(the value) for a regression one.")
    id2label: dict[str, str]
    label: str = Field(description="The predicted label (multi-label: the highest-scoring; regression: the name of "
                                   "the one output).")
    score: float = Field(description="Its probability or score (regression: the value).")
    value: float | None = Field(description="Regression: the predicted number; null for classifiers.")
    target: str = Field(description="The label whose logit the attributions explain (regression: the value's "
                                    "output).")
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


class ErrorPublic(BaseModel):
    detail: str = Field(description="What went wrong and what to change.")

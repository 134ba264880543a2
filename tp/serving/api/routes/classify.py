"""Predictions and explanations: the routes that run a model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from starlette.concurrency import run_in_threadpool

from tp.errors import InputError
from tp.serving.answers import check_options, read_rows
from tp.serving.api.constants import API_PREFIX
from tp.serving.api.deps import Registry, Settings
from tp.serving.api.multipart import form_schema
from tp.serving.api.responses import BODY_ERRORS
from tp.serving.batcher import Timing
from tp.serving.images import decode_images, image_limits
from tp.serving.prediction_schemas import PredictResponse
from tp.serving.schemas import (
    EXAMPLE_IMAGE,
    EXAMPLE_PAIR,
    EXAMPLE_TEXT,
    ExplainAnswer,
    ExplainRequest,
    ExplainResponse,
    ImageExplainResponse,
    ImageInput,
    PredictRequest,
    TextPairInput,
)
from tp.serving.settings import ServerSettings
from tp.tasks import IMAGE

router = APIRouter(prefix=API_PREFIX, tags=["inference"])

PREDICT_EXAMPLES: dict[str, Any] = {
    "one text": {"summary": "One text", "value": {"inputs": EXAMPLE_TEXT}},
    "several texts": {"summary": "Several texts, two best labels each", "value": {
        "inputs": [EXAMPLE_TEXT, "The striker scored twice as the champions won the derby 3-1."], "top_k": 2}},
    "named model": {"summary": "Choose a model by name", "value": {"inputs": EXAMPLE_TEXT, "model": "bbc-news-minilm"}},
    "text pair": {"summary": "A text pair, for a pair model (`text_pair` true in GET /models)",
                  "value": {"inputs": [EXAMPLE_PAIR], "model": "sts-b-minilm"}},
    "multi-label threshold": {"summary": "A multi-label model, one threshold for every label",
                              "value": {"inputs": EXAMPLE_TEXT, "model": "disaster-messages-minilm", "threshold": 0.3}},
    "one image": {"summary": "One image (base64) for an image model, three best labels",
                  "value": {"inputs": {"image": EXAMPLE_IMAGE}, "model": "digits-vit", "top_k": 3}},
}
EXPLAIN_EXAMPLES: dict[str, Any] = {
    "gradient x input": {"summary": "Gradient x input (fast)", "value": {"inputs": EXAMPLE_TEXT}},
    "integrated gradients": {"summary": "Integrated gradients, 16 steps", "value": {
        "inputs": EXAMPLE_TEXT, "method": "integrated_gradients", "steps": 16}},
    "image saliency": {"summary": "An image's saliency heatmap (image models)", "value": {
        "inputs": {"image": EXAMPLE_IMAGE}, "model": "digits-vit", "method": "saliency"}},
}
FORM_MODEL = {"type": "string", "description": "Name of a served model (GET /models); default: the default model."}
PREDICT_UPLOAD = {"requestBody": {"content": form_schema(many=True, fields={
    "model": FORM_MODEL,
    "top_k": {"type": "integer", "minimum": 1, "maximum": 1000, "description": "Return only the k best labels."},
})}}
EXPLAIN_UPLOAD = {"requestBody": {"content": form_schema(many=False, fields={
    "model": FORM_MODEL,
    "method": {"type": "string", "enum": list(IMAGE.explain_methods),
               "description": f"Default: {IMAGE.default_explain_method}."},
    "target": {"type": "string", "description": "Label to explain; default: the predicted one."},
})}}
UPLOADS = ("Images also go as `multipart/form-data`: file parts named `files`, optional form fields `model`, "
           "`top_k`; the answer is the same.")


async def images_of(items: list[ImageInput], settings: ServerSettings, one: bool = False) -> list[Any]:
    """Decode the request's images off the event loop (a large PNG takes a while), within the limits."""
    return await run_in_threadpool(decode_images, [item.image for item in items], image_limits(settings), one)


def timing_headers(response: Response, timing: Timing, tokens: int | None = None) -> None:
    """x-queue-time and x-inference-time (ms), and x-compute-tokens when known (TIMING_HEADERS)."""
    response.headers["x-queue-time"] = str(round(1000 * timing.queue_s))
    response.headers["x-inference-time"] = str(round(1000 * timing.inference_s))
    if tokens is not None:
        response.headers["x-compute-tokens"] = str(tokens)


def pair_texts(pair: TextPairInput) -> tuple[str, str]:
    return pair.text, pair.text_pair


@router.post("/predict", summary="Classify texts, text pairs or images; or score them (regression)",
             responses=BODY_ERRORS, openapi_extra=PREDICT_UPLOAD,
             description="Per input, in the model's `problem_type` shape (GET /models): single-label, the label, "
                         "its probability and every label's probability, best first (`Prediction`); multi-label, "
                         "the labels whose sigmoid score reaches their threshold and every label's score and "
                         "threshold (`MultiLabelPrediction`; `threshold` sets one for all labels); regression, "
                         "the `value` (`RegressionPrediction`). Each says whether the text was truncated to the "
                         "model's token limit (false for images). Texts go to text models, text pairs "
                         "(`{\"text\": ..., \"text_pair\": ...}`) to pair models, images "
                         "(`{\"image\": \"<base64>\"}`) to image models; another kind is a 422. Concurrent "
                         "requests share forward passes (micro-batching). " + UPLOADS)
async def predict(request: Annotated[PredictRequest, Body(openapi_examples=PREDICT_EXAMPLES)],
                  registry: Registry, settings: Settings, response: Response) -> PredictResponse:
    items = request.items
    settings.check_items(items)
    images, pairs = isinstance(items[0], ImageInput), isinstance(items[0], TextPairInput)
    model = registry.get(request.model)
    model.check_kind(images, pairs)  # before any decoding: a quick 422 for the wrong kind
    check_options(model.name, model.problem, request.threshold, request.top_k)
    timing = Timing()
    if images:
        served, scores = await registry.classify(request.model, await images_of(items, settings), True, timing)
    elif pairs:
        settings.check_pairs([pair_texts(pair) for pair in items])
        served, scores = await registry.classify(request.model, [pair_texts(pair) for pair in items], timing=timing,
                                                 pairs=True)
    else:
        settings.check_texts(items)
        served, scores = await registry.classify(request.model, items, timing=timing)
    timing_headers(response, timing, sum(row.tokens for row in scores))
    return PredictResponse(model=served.name, predictions=read_rows(scores, served.labels, served.problem,
                                                                    served.thresholds, request.threshold,
                                                                    request.top_k))


@router.post("/explain", summary="Behind the pipeline: logits, scores, and token attributions or an image heatmap",
             responses=BODY_ERRORS, openapi_extra=EXPLAIN_UPLOAD,
             description="Texts: the tokens the model sees (ids, special tokens marked, character offsets), "
                         "its logits, the probabilities (softmax; multi-label: sigmoid), id2label, and how much "
                         "each token pushed the explained label's logit (`target`; regression: the value) "
                         "(`task`: text-classification). A text pair's tokens say which text each is from "
                         "(`segment`). Images: the logits, "
                         "probabilities, id2label and a heatmap of the pixels that pushed it, alone and over "
                         "the resized input, as base64 PNGs (`task`: image-classification). An image also "
                         "goes as `multipart/form-data`: one file part named `files`, optional form fields "
                         "`model`, `method`, `target`.")
async def explain(request: Annotated[ExplainRequest, Body(openapi_examples=EXPLAIN_EXAMPLES)],
                  registry: Registry, settings: Settings, response: Response) -> ExplainAnswer:
    served = registry.get(request.model)
    images, pairs = isinstance(request.inputs, ImageInput), isinstance(request.inputs, TextPairInput)
    served.check_kind(images, pairs)
    methods = served.task_spec.explain_methods
    if request.method is not None and request.method not in methods:
        raise InputError(f"`method` {request.method!r} is for {'texts' if images else 'images'}: "
                         f"this {served.task} model takes {' or '.join(methods)}.")
    if images:
        (image,) = await images_of([request.inputs], settings, one=True)
        result = await served.explain(image, request.method, request.steps, request.target, timing := Timing())
        timing_headers(response, timing)
        return ImageExplainResponse(model=served.name, **result)
    item = pair_texts(request.inputs) if pairs else request.inputs
    if pairs:
        settings.check_pairs([item], one=True)
    else:
        settings.check_texts([item])
    result = await served.explain(item, request.method, request.steps, request.target, timing := Timing())
    timing_headers(response, timing)
    return ExplainResponse(model=served.name, **result)

"""Predictions and explanations: the routes that run a model."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from tp.serving.api.constants import API_PREFIX
from tp.serving.api.deps import Registry, Settings
from tp.serving.api.responses import BODY_ERRORS
from tp.serving.inference import TextScores, ranked_labels
from tp.serving.schemas import (
    EXAMPLE_TEXT,
    ExplainRequest,
    ExplainResponse,
    LabelScore,
    Prediction,
    PredictRequest,
    PredictResponse,
)

router = APIRouter(prefix=API_PREFIX, tags=["inference"])

PREDICT_EXAMPLES: dict[str, Any] = {
    "one text": {"summary": "One text", "value": {"inputs": EXAMPLE_TEXT}},
    "several texts": {"summary": "Several texts, two best labels each", "value": {
        "inputs": [EXAMPLE_TEXT, "The striker scored twice as the champions won the derby 3-1."], "top_k": 2}},
    "named model": {"summary": "Choose a model by name", "value": {"inputs": EXAMPLE_TEXT, "model": "bbc-news-minilm"}},
}
EXPLAIN_EXAMPLES: dict[str, Any] = {
    "gradient x input": {"summary": "Gradient x input (fast)", "value": {"inputs": EXAMPLE_TEXT}},
    "integrated gradients": {"summary": "Integrated gradients, 16 steps", "value": {
        "inputs": EXAMPLE_TEXT, "method": "integrated_gradients", "steps": 16}},
}


def to_prediction(labels: list[str], scores: TextScores, top_k: int | None) -> Prediction:
    ranked = ranked_labels(labels, scores.probabilities, top_k)
    return Prediction(label=ranked[0][0], score=ranked[0][1], truncated=scores.truncated,
                      scores=[LabelScore(label=label, score=score) for label, score in ranked])


@router.post("/predict", summary="Classify one text or a batch of texts", responses=BODY_ERRORS)
async def predict(request: Annotated[PredictRequest, Body(openapi_examples=PREDICT_EXAMPLES)],
                  registry: Registry, settings: Settings) -> PredictResponse:
    """Per input: the label, its probability, every label's probability (best first) and whether the text
    was truncated to the model's token limit. Concurrent requests share forward passes (micro-batching)."""
    texts = request.texts
    settings.check_texts(texts)
    served, scores = await registry.classify(request.model, texts)
    return PredictResponse(model=served.name,
                           predictions=[to_prediction(served.labels, row, request.top_k) for row in scores])


@router.post("/explain", summary="Behind the pipeline: tokens, logits, softmax and token attributions",
             responses=BODY_ERRORS)
async def explain(request: Annotated[ExplainRequest, Body(openapi_examples=EXPLAIN_EXAMPLES)],
                  registry: Registry, settings: Settings) -> ExplainResponse:
    """The tokens the model sees (ids, special tokens marked, character offsets), its logits, the softmax
    probabilities, id2label, and how much each token pushed the explained label's logit."""
    settings.check_texts([request.inputs])
    served = registry.get(request.model)
    result = await served.explain(request.inputs, request.method, request.steps, request.target)
    return ExplainResponse(model=served.name, **result)

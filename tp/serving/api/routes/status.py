"""Liveness, readiness, the served models and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from tp.serving.api.constants import API_PREFIX
from tp.serving.api.deps import Registry, Settings, TelemetryDep
from tp.serving.api.responses import ERRORS
from tp.serving.errors import NotReadyError
from tp.serving.model_schemas import (
    BaselinePublic,
    HealthResponse,
    ImageExample,
    MainMetric,
    ModelLimits,
    ModelPublic,
    ModelsResponse,
    ReadyResponse,
    RunWarning,
    ServerLimits,
)
from tp.serving.schemas import ErrorPublic
from tp.serving.served import ServedModel

router = APIRouter(prefix=API_PREFIX, tags=["status"])  # open: probes need no key
protected = APIRouter(prefix=API_PREFIX, tags=["status"])  # behind the API key when one is set
scrape = APIRouter(tags=["status"])  # /metrics at the root, where Prometheus looks by default (same key rule)


@router.get("/health", summary="Liveness: the process answers")
async def health() -> HealthResponse:
    return HealthResponse()


@router.get("/ready", summary="Readiness: every model is loaded (503 until then)",
            responses={503: {"model": ErrorPublic, "description": "Models are loading or failed to load, a forward "
                             "pass has hung past TP_REQUEST_TIMEOUT_S, or the server is shutting down."}})
async def ready(registry: Registry, settings: Settings) -> ReadyResponse:
    if registry.state != "ready":
        raise NotReadyError(f"The models failed to load: {registry.error}" if registry.state == "failed"
                            else "The models are still loading.", 2)
    if registry.demo_pending:
        raise NotReadyError("The models are loaded (POST /predict answers); the Gradio demo is still starting.", 2)
    for served in registry.models.values():  # a hung forward pass: an orchestrator should route around, restart
        if (seconds := served.batcher.longest_running_s()) > settings.request_timeout_s:
            raise NotReadyError(f"Model {served.name!r} has been running one forward pass for {seconds:.0f} s, past "
                                f"TP_REQUEST_TIMEOUT_S={settings.request_timeout_s:g}: it is stuck, and its requests "
                                "get 504. Restart the server if it does not recover.", 5)
    return ReadyResponse(models=registry.names)


def model_limits(served: ServedModel, settings: Settings) -> ModelLimits:
    common = {"max_items": settings.max_items, "max_batch_size": settings.max_batch_size,
              "max_batch_tokens": settings.max_batch_tokens}
    if served.is_image:
        return ModelLimits(**common, max_chars=None, max_tokens=None, max_image_bytes=settings.max_image_bytes,
                           max_image_pixels=settings.max_image_pixels, image_formats=settings.image_formats)
    return ModelLimits(**common, max_chars=settings.max_chars, max_tokens=served.max_tokens)


def predicted(value: Any) -> str | None:
    """What a baseline always predicts, as text: a label, a label set (multi-label) or a value (regression)."""
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "no label"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def baseline_public(name: str, scores: dict[str, Any]) -> BaselinePublic:
    """A baseline of the run's metrics.json (the registry checked it has numbers); a run without descriptions
    gets tp's own."""
    from tp.evaluation.baselines import DESCRIPTIONS

    numbers = {key: float(value) for key, value in scores.items() if key != "predicts"
               and isinstance(value, int | float) and not isinstance(value, bool)}
    return BaselinePublic(accuracy=numbers.get("accuracy"), macro_f1=numbers.get("macro_f1"), scores=numbers,
                          description=str(scores.get("description") or DESCRIPTIONS.get(name, name)),
                          predicts=predicted(scores.get("predicts")))


def main_metric(served: ServedModel) -> MainMetric | None:
    """The test score of the model's problem (macro-F1, micro-F1 or RMSE), when its metrics have it."""
    problem = served.problem
    name = f"test_{problem.main_metric}"
    if name not in served.metrics:
        return None
    return MainMetric(name=name, value=served.metrics[name], greater_is_better=problem.greater_is_better)


def model_public(served: ServedModel, settings: Settings, default: bool) -> ModelPublic:
    data = served.info.get("data") or {}
    thresholds = served.thresholds if served.problem.name == "multi_label_classification" else None
    return ModelPublic(
        name=served.name, task=served.task, default=default, labels=served.labels,
        problem_type=served.problem.name, text_pair=served.pairs, main_metric=main_metric(served),
        thresholds=dict(zip(served.labels, thresholds, strict=True)) if thresholds else None,
        base_model=served.info.get("base_model"), dataset=data.get("source"), metrics=served.metrics,
        device=served.device, quantized=served.quantized, runtime=served.runtime,
        variant=(served.info.get("variant") or {}).get("name"), variant_reason=served.variant_reason,
        limits=model_limits(served, settings),
        examples=[ImageExample(label=label, image=url) for label, url in served.examples],
        baselines={name: baseline_public(name, scores) for name, scores in served.baselines.items()},
        explain_methods=list(served.task_spec.explain_methods),
        warnings=[RunWarning(code=w["code"], severity=w["severity"], message=w["message"]) for w in served.warnings])


@protected.get("/models", summary="The served models: labels, base model, dataset, test metrics, limits",
               responses=ERRORS)
async def models(registry: Registry, settings: Settings) -> ModelsResponse:
    served = [registry.get(name) for name in registry.names]
    limits = ServerLimits(max_concurrent_requests=settings.max_concurrent_requests, queue_limit=settings.queue_limit,
                          max_request_bytes=settings.max_request_bytes, request_timeout_s=settings.request_timeout_s)
    return ModelsResponse(default=registry.default, limits=limits,
                          models=[model_public(m, settings, m.name == registry.default) for m in served])


@scrape.get("/metrics", summary="Prometheus metrics (text exposition format), where Prometheus scrapes by default",
            response_class=Response, responses={200: {"content": {"text/plain": {}}}, 401: ERRORS[401]})
@protected.get("/metrics", summary="Prometheus metrics (text exposition format)", response_class=Response,
               responses={200: {"content": {"text/plain": {}}}, 401: ERRORS[401]})
async def metrics(telemetry: TelemetryDep) -> Response:
    body, content_type = telemetry.render()
    return Response(body, media_type=content_type)

"""The OpenAPI document states this server's own limits, so generated clients and tests know them.

Pydantic writes the static shape of each body; this adds what is only known from the settings: the
most inputs per request, the most characters per text (each text of a pair too), the served models' names and
labels, and the multipart/form-data upload bodies beside the JSON ones.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tp.serving.registry import ModelRegistry
from tp.serving.settings import ServerSettings
from tp.tasks import IMAGE


def _text_schema(settings: ServerSettings) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": settings.max_chars, "pattern": r"\S"}


def _limit_body(body: dict[str, Any], settings: ServerSettings, names: list[str], many: bool) -> None:
    properties = body.get("properties", {})
    text, pair = _text_schema(settings), {"$ref": "#/components/schemas/TextPairInput"}
    image = {"$ref": "#/components/schemas/ImageInput"}
    if many:  # a list holds one kind of input, up to max_items of them (a pair is one item)
        texts, pairs, images = ({"type": "array", "items": item, "minItems": 1, "maxItems": settings.max_items}
                                for item in (text, pair, image))
        properties["inputs"]["anyOf"] = [text, texts, pair, pairs, image, images]
    else:
        properties["inputs"]["anyOf"] = [text, pair, image]
    properties["model"]["anyOf"] = [{"type": "string", "enum": names}, {"type": "null"}]
    properties["model"]["examples"] = names[:1]


def _limit_pair(pair: dict[str, Any], settings: ServerSettings) -> None:
    """Each text of a pair has a text's limits (the server checks both)."""
    for name in ("text", "text_pair"):
        pair["properties"][name].update(_text_schema(settings))


def _limit_upload(operation: dict[str, Any], settings: ServerSettings, names: list[str]) -> None:
    form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data", {}).get("schema")
    if form is not None:
        if "top_k" in form["properties"]:  # several files (predict), else one (explain)
            form["properties"]["files"]["maxItems"] = settings.max_items
        form["properties"]["model"]["enum"] = names


def add_runtime_limits(schema: dict[str, Any], settings: ServerSettings, registry: ModelRegistry,
                       names: list[str] | None = None) -> dict[str, Any]:
    """The document with the settings' limits and the served models' names (or `names`)."""
    components = schema.get("components", {}).get("schemas", {})
    names = names or registry.names
    if "TextPairInput" in components:
        _limit_pair(components["TextPairInput"], settings)
    if "PredictRequest" in components:
        _limit_body(components["PredictRequest"], settings, names, many=True)
    if "ExplainRequest" in components:
        _limit_body(components["ExplainRequest"], settings, names, many=False)
        if registry.state == "ready":  # labels are known once the models are loaded
            labels = sorted({label for served in registry.models.values() for label in served.labels})
            target = components["ExplainRequest"]["properties"]["target"]
            target["anyOf"] = [{"type": "string", "enum": labels}, {"type": "null"}]
    predict = schema.get("paths", {}).get("/api/v1/predict", {}).get("post", {})
    for path in ("/api/v1/predict", "/api/v1/explain"):
        _limit_upload(schema.get("paths", {}).get(path, {}).get("post", {}), settings, names)
    examples = predict.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples", {})
    if "named model" in examples:
        examples["named model"]["value"]["model"] = names[0]
    served_images = [name for name in registry.names if registry.run_info(name).get("task") == IMAGE.name]
    for path, example in (("/api/v1/predict", "one image"), ("/api/v1/explain", "image saliency")):
        operation = schema.get("paths", {}).get(path, {}).get("post", {})
        found = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("examples", {})
        if example in found and served_images:  # else the example keeps the default image model's name
            found[example]["value"]["model"] = served_images[0]
    return schema


def install_openapi(app: FastAPI, settings: ServerSettings, registry: ModelRegistry) -> None:
    """Make app.openapi() add the runtime limits to FastAPI's (cached) document; applying them twice is harmless."""
    app.openapi = lambda: add_runtime_limits(FastAPI.openapi(app), settings, registry)  # type: ignore[method-assign]

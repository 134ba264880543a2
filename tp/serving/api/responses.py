"""Documented error answers, so the OpenAPI document lists every status a client can get."""

from __future__ import annotations

from typing import Any

from tp.serving.schemas import ErrorPublic


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": description}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("Missing or wrong API key (only when the server sets TP_API_KEY)."),
    503: _error("Models still loading, or the queue is full: retry after the Retry-After header's delay."),
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    413: _error("The body is larger than TP_MAX_REQUEST_BYTES, or an image is larger than TP_MAX_IMAGE_BYTES."),
    415: _error("The body is not sent as application/json (nor, on /predict and /explain, as "
                "multipart/form-data)."),
    422: _error("The body is invalid: the detail says which field and how to fix it."),
}

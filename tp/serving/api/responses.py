"""Documented answers, so the OpenAPI document lists every status (and header) a client can get."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Send

from tp.serving.schemas import ErrorPublic

# timing headers of a model's answer, as text-embeddings-inference sends them (milliseconds; tokens)
TIMING_HEADERS = ("x-queue-time", "x-inference-time", "x-compute-tokens")
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}}}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"model": ErrorPublic, "description": description, **({"headers": headers} if headers else {})}


ERRORS: dict[int | str, dict[str, Any]] = {
    401: _error("Missing or wrong API key (only when the server sets TP_API_KEY)."),
    503: _error("Models still loading, the model's queue is full, or the server is shutting down: retry after "
                "the Retry-After header's delay.", RETRY_AFTER),
}
TIMED = {"headers": {
    "x-queue-time": {"description": "Milliseconds the request's inputs waited for a batch.",
                     "schema": {"type": "integer"}},
    "x-inference-time": {"description": "Milliseconds its batches ran (tokenization and forward passes).",
                         "schema": {"type": "integer"}},
    "x-compute-tokens": {"description": "Tokens its inputs took in the forward passes, padding included (images: "
                                        "patches); not sent by /explain.", "schema": {"type": "integer"}},
}}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    200: TIMED,
    **ERRORS,
    400: _error("The body is not UTF-8."),
    413: _error("The body is larger than TP_MAX_REQUEST_BYTES, or an image is larger than TP_MAX_IMAGE_BYTES."),
    415: _error("The body is not sent as application/json (nor, on /predict and /explain, as "
                "multipart/form-data)."),
    422: _error("The body is invalid: the detail says which field and how to fix it."),
    429: _error("TP_MAX_CONCURRENT_REQUESTS requests are in flight: retry after the Retry-After delay.", RETRY_AFTER),
    500: _error("The model's forward pass failed on this request: the detail names the model; the server goes on."),
    504: _error("The model did not answer within TP_REQUEST_TIMEOUT_S."),
}


async def send_json(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """An error answer from ASGI middleware, before any route runs: JSON with a `detail`, as the handlers send."""
    body = json.dumps({"detail": detail}).encode()
    extra = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]})
    await send({"type": "http.response.body", "body": body})
JOB_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    404: _error("No such job."),
    409: _error("The job's state forbids it: cancel an ended job, serve one that has not succeeded."),
    413: _error("The upload is larger than TP_MAX_UPLOAD_BYTES (or unpacks to more)."),
    415: _error("The body is not multipart/form-data."),
    422: _error("The upload or the settings cannot be trained on: the detail says what to fix."),
}

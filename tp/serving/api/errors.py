"""The one place where exceptions become HTTP answers: always JSON with a `detail` saying what to fix."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tp.errors import InputError, TpError
from tp.serving.errors import (
    ConflictError,
    ModelFailedError,
    ModelTimeoutError,
    NotFoundError,
    TooLargeError,
    UnavailableError,
)

log = logging.getLogger("tp.serving")
EXAMPLE_BODY = '{"inputs": "some text"}'


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(part) for part in loc if part != "body"]
    return "`" + ".".join(parts) + "`" if parts else "the body"


def describe_validation_error(error: dict[str, Any], fields: list[str] | None = None) -> str:
    """One pydantic/FastAPI validation error as a sentence a client can act on."""
    kind, loc, message = error.get("type", ""), tuple(error.get("loc", ())), str(error.get("msg", ""))
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "")
        return f"The body is not valid JSON ({reason} at character {loc[-1]}): send a JSON object like {EXAMPLE_BODY}."
    if loc == ("body",) and kind in ("missing", "model_attributes_type", "dict_type"):
        return f"The body should be a JSON object like {EXAMPLE_BODY}."
    if kind == "missing":
        return f"{_where(loc)} is required, e.g. {EXAMPLE_BODY}."
    if kind == "extra_forbidden":
        known = f"; the fields are {', '.join(fields)}" if fields else ""
        return f"{_where(loc)} is not a field of this request{known}."
    if kind == "value_error":
        return message.removeprefix("Value error, ") + "."
    return f"{_where(loc)}: {message}."


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


async def validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    route = request.scope.get("route")
    body_field = getattr(getattr(route, "body_field", None), "field_info", None)
    model = getattr(body_field, "annotation", None)
    fields = list(getattr(model, "model_fields", {}) or [])
    errors = list(exc.errors())
    details = list(dict.fromkeys(describe_validation_error(error, fields) for error in errors[:5]))
    return _error(422, " ".join(details))


async def http_handler(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"No route {request.url.path}: the API is under /api/v1 (see /docs)."
    return _error(exc.status_code, str(detail), getattr(exc, "headers", None))


async def tp_handler(request: Request, exc: TpError) -> JSONResponse:
    """tp's exceptions, by kind: the client's input, a busy or loading server, or a server fault."""
    if isinstance(exc, TooLargeError):
        return _error(413, str(exc))
    if isinstance(exc, NotFoundError):
        return _error(404, str(exc))
    if isinstance(exc, ConflictError):
        return _error(409, str(exc))
    if isinstance(exc, InputError):
        return _error(422, str(exc))
    if isinstance(exc, UnavailableError):
        return _error(503, str(exc), {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, ModelTimeoutError):
        return _error(504, str(exc))
    if isinstance(exc, ModelFailedError):  # the batcher logged the traceback; the detail names the model
        return _error(500, str(exc))
    log.error("Request %s %s failed: %s", request.method, request.url.path, exc)
    return _error(500, f"The server could not answer: {exc}")


async def unexpected_handler(request: Request, exc: Exception) -> JSONResponse:
    log.exception("Unexpected error on %s %s", request.method, request.url.path)
    return _error(500, "Internal server error; the server log has the details.")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, validation_handler)
    app.add_exception_handler(StarletteHTTPException, http_handler)
    app.add_exception_handler(TpError, tp_handler)
    app.add_exception_handler(Exception, unexpected_handler)

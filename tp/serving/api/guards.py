"""ASGI middleware: request metrics, the proxy sub-path, and the REST API's body guard.

Pure ASGI (not BaseHTTPMiddleware) so bodies are streamed once and Gradio's streaming is untouched.
"""

from __future__ import annotations

import email.message
import time
from typing import Any

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tp.serving.api.admission import CLIENT_GONE, call_until_disconnect
from tp.serving.api.multipart import UPLOAD_ROUTES, UploadError, form_as_json
from tp.serving.api.responses import send_json
from tp.serving.telemetry import Telemetry

BODY_METHODS = ("POST",)  # the only method with a body the API declares; others get their 405 from routing


def media_type(content_type: str) -> str:
    message = email.message.Message()
    message["content-type"] = content_type
    return message.get_content_type() if content_type else ""


def is_json(content_type: str) -> bool:
    maintype, _, subtype = media_type(content_type).partition("/")
    return maintype == "application" and (subtype == "json" or subtype.endswith("+json"))


def not_utf8(body: bytes) -> str | None:
    """What is wrong with a JSON body that is not UTF-8 (None when it is)."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        return (f"The body is not UTF-8: byte 0x{body[error.start]:02x} at position {error.start} cannot start a "
                "UTF-8 character. Send the JSON encoded as UTF-8 (characters outside ASCII may also be written as "
                "\\uXXXX escapes).")
    return None


class RootPathMiddleware:
    """Behind a proxy at a sub-path: generated URLs (docs, Gradio assets) carry the prefix."""

    def __init__(self, app: ASGIApp, root_path: str) -> None:
        self.app, self.root_path = app, root_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and self.root_path and not scope.get("root_path"):
            scope["root_path"] = self.root_path
        await self.app(scope, receive, send)


class BodyGuardMiddleware:
    """On the API's POST routes: JSON bodies (or image uploads where a route takes them) only (415), at most
    `max_bytes` of them (413), in UTF-8 (400), before any parsing. An upload is then handed on as its JSON
    equivalent, and the request is cancelled if its client goes away."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_files: int = 64,
                 body_paths: frozenset[str] = frozenset()) -> None:
        self.app, self.max_bytes, self.max_files = app, max_bytes, max_files
        self.body_paths = body_paths  # the POST routes; any other path gets its 404 or 405 from routing

    def _too_large(self, size: int | str) -> str:
        return (f"The request body is {size} bytes; the limit is {self.max_bytes} (TP_MAX_REQUEST_BYTES): "
                "send fewer or shorter texts, or fewer or smaller images, per request.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in BODY_METHODS
                or get_route_path(scope).rstrip("/") not in self.body_paths):
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        content_type = headers.get("content-type", "")
        uploads = UPLOAD_ROUTES.get(get_route_path(scope).rstrip("/"))
        upload = uploads is not None and media_type(content_type) == "multipart/form-data"
        if not is_json(content_type) and not upload:
            got = f"got {content_type!r}" if content_type else "none was sent"
            files = " (or, to upload images, multipart/form-data)" if uploads is not None else ""
            await send_json(send, 415, f"Send the body as JSON with the header Content-Type: application/json"
                                       f"{files} ({got}).")
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await send_json(send, 413, self._too_large(declared))
            return
        # read the whole (bounded) body now, then replay it: a chunked upload cannot slip past the cap
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                scope[CLIENT_GONE] = True
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await send_json(send, 413, self._too_large(f"over {self.max_bytes}"))
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if upload:
            try:
                body = await form_as_json(scope, body, bool(uploads), self.max_files)
            except UploadError as error:
                await send_json(send, 422, str(error))
                return
            # in place, not a copy: the metrics middleware reads the route that routing stores in this scope
            scope["headers"] = [*(item for item in scope["headers"]
                                  if item[0].lower() not in (b"content-type", b"content-length")),
                                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        elif (problem := not_utf8(body)) is not None:
            await send_json(send, 400, problem)
            return
        await call_until_disconnect(self.app, scope, body, receive, send)


def route_label(scope: Scope) -> str:
    """The route template (never the raw path: unbounded label values would swamp Prometheus)."""
    route: Any = scope.get("route")
    if route is not None and hasattr(route, "path"):
        return route.path
    return "gradio" if scope.get("app_root_path") is not None else "unmatched"


class MetricsMiddleware:
    """Count every HTTP request by route template, method and status, and time it."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app, self.telemetry = app, telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status, start = 500, time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            route = route_label(scope)
            shown = "499" if scope.get(CLIENT_GONE) else str(status)  # nginx's "client closed request"
            self.telemetry.requests.labels(route, scope["method"], shown).inc()
            self.telemetry.latency.labels(route).observe(time.perf_counter() - start)

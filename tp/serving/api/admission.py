"""Admission control, draining and client disconnects for the REST API (pure ASGI middleware).

- At most `TP_MAX_CONCURRENT_REQUESTS` model requests (POST under /api/) in flight: past it, 429 with
  Retry-After, before the body is read. The model's full queue (503) stays the answer to overload of a model.
- Draining (SIGTERM, see tp.serving.shutdown): new API requests get 503 with Retry-After and
  `Connection: close`; the probes' /health still answers; requests already in flight finish.
- A client that goes away before its answer: its request is cancelled (the model's batcher then takes its
  inputs out of the queue, so they cost no forward pass), and the metrics count it as status 499.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from starlette._utils import get_route_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tp.serving.api.constants import API_PREFIX
from tp.serving.api.responses import send_json
from tp.serving.telemetry import Telemetry

ALWAYS_OPEN = (f"{API_PREFIX}/health",)  # liveness: the process is alive while it drains
CLIENT_GONE = "tp.client_gone"  # set in the scope when the client disconnected before its answer


class Admission:
    """Model requests in flight, the limit, and whether the server is draining."""

    def __init__(self, limit: int, telemetry: Telemetry | None = None) -> None:
        self.limit = limit
        self.in_flight = 0  # changed on the event loop only
        self.draining = False
        self.telemetry = telemetry
        self._idle = threading.Event()
        self._idle.set()

    def enter(self) -> None:
        self.in_flight += 1
        self._idle.clear()
        self._gauge()

    def leave(self) -> None:
        self.in_flight -= 1
        if self.in_flight == 0:
            self._idle.set()
        self._gauge()

    def _gauge(self) -> None:
        if self.telemetry is not None:
            self.telemetry.in_flight.set(self.in_flight)

    def start_draining(self) -> None:
        self.draining = True

    def wait_idle(self, timeout_s: float) -> bool:
        """Block (any thread) until no model request is in flight, at most `timeout_s`; True if none is."""
        return self._idle.wait(timeout_s)


class AdmissionMiddleware:
    """Refuse past the concurrency limit (429) and while draining (503); count model requests in flight."""

    def __init__(self, app: ASGIApp, admission: Admission) -> None:
        self.app, self.admission = app, admission

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = get_route_path(scope) if scope["type"] == "http" else ""
        if not path.startswith(API_PREFIX) or path.rstrip("/") in ALWAYS_OPEN:
            await self.app(scope, receive, send)
            return
        admission = self.admission
        if admission.draining:
            await send_json(send, 503, "The server is shutting down: retry in a moment (another replica, or this "
                                       "one once it has restarted).", {"Retry-After": "5", "Connection": "close"})
            return
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if admission.in_flight >= admission.limit:
            if admission.telemetry is not None:
                admission.telemetry.admission_rejected.inc()
            await send_json(send, 429, f"{admission.in_flight} requests are being answered, the most this server "
                                       f"takes at once (TP_MAX_CONCURRENT_REQUESTS={admission.limit}): retry after "
                                       "the Retry-After delay, or send several inputs per request.",
                            {"Retry-After": "1"})
            return
        admission.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            admission.leave()


async def call_until_disconnect(app: ASGIApp, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
    """Run `app` on a request whose whole `body` was read already, and cancel it if the client disconnects
    before the answer is complete."""
    answered, gone, replayed = False, asyncio.Event(), False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def watched_send(message: Message) -> None:
        nonlocal answered
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            answered = True
        await send(message)

    work: asyncio.Task[Any] = asyncio.ensure_future(app(scope, replay, watched_send))
    listen: asyncio.Task[Message] = asyncio.ensure_future(receive())  # after the body: only a disconnect comes
    try:
        await asyncio.wait((work, listen), return_when=asyncio.FIRST_COMPLETED)
        if not work.done() and listen.result()["type"] == "http.disconnect" and not answered:
            scope[CLIENT_GONE] = True
            gone.set()
            work.cancel()
        try:
            await work
        except asyncio.CancelledError:
            if not scope.get(CLIENT_GONE):
                raise  # the server is cancelling this request (shutting down), not the client
    finally:
        listen.cancel()
        if not work.done():
            work.cancel()

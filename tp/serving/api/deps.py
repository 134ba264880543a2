"""Dependencies of the API routes: the registry, the settings, the API key check."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

from tp.serving.registry import ModelRegistry
from tp.serving.settings import ServerSettings
from tp.serving.telemetry import Telemetry

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="Required when the server sets TP_API_KEY "
                                          "(`Authorization: Bearer <key>` works too).")


# async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop on every request
async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


async def get_settings(request: Request) -> ServerSettings:
    return request.app.state.settings


async def get_telemetry(request: Request) -> Telemetry:
    return request.app.state.telemetry


Registry = Annotated[ModelRegistry, Depends(get_registry)]
Settings = Annotated[ServerSettings, Depends(get_settings)]
TelemetryDep = Annotated[Telemetry, Depends(get_telemetry)]


def key_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison, so response times do not leak the key."""
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())


async def require_api_key(request: Request, settings: Settings,
                          header_key: Annotated[str | None, Security(api_key_header)] = None) -> None:
    """401 unless the request carries the configured key (a no-op when TP_API_KEY is unset)."""
    if settings.api_key is None:
        return
    given = header_key
    authorization = request.headers.get("authorization", "")
    if given is None and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    if not key_matches(settings.api_key.get_secret_value(), given):
        detail = ("Missing API key: send it in the X-API-Key header (or Authorization: Bearer <key>)."
                  if given is None else "Wrong API key: check the X-API-Key header.")
        raise HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})

"""The REST API: routers under /api/v1, error handlers and middleware."""

from __future__ import annotations

from fastapi import Depends, FastAPI, HTTPException, Request
from starlette.routing import Match

from tp.serving.api.constants import API_PREFIX
from tp.serving.api.deps import require_api_key
from tp.serving.api.routes import classify, jobs, status

PROTECTED = (status.protected, status.scrape, classify.router)
ROUTERS = (status.router, *PROTECTED)  # the body guard's routes; the training jobs read their own uploads
# every method a client may send (QUERY: the new safe method with a body); undeclared ones get 405 with Allow
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "QUERY"]


def install_api_routes(app: FastAPI, api_key: bool, training: bool = False) -> None:
    """Every REST route, then a JSON 404/405 for the rest of /api (so Gradio at "/" never answers it).

    With an API key, every route but the probes requires it (and only then does OpenAPI declare it). The training
    jobs' routes exist only with TP_TRAINING=true; without it they answer a 404 that says how to turn them on.
    """
    protected = (*PROTECTED, jobs.router) if training else PROTECTED
    app.state.api_routers = (status.router, *protected)
    app.include_router(status.router)
    for router in protected:
        app.include_router(router, dependencies=[Depends(require_api_key)] if api_key else [])
    if not training:
        app.include_router(jobs.off)
    app.add_api_route("/api/{path:path}", unknown_api_route, include_in_schema=False, methods=ANY_METHOD)
    app.add_api_route("/metrics", unknown_api_route, include_in_schema=False,
                      methods=[method for method in ANY_METHOD if method != "GET"])


def body_paths() -> frozenset[str]:
    """The API's routes that take a body (POST): the only ones whose bodies the body guard reads."""
    return frozenset(route.path for router in ROUTERS for route in router.routes
                     if "POST" in (getattr(route, "methods", None) or ()))


async def unknown_api_route(request: Request) -> None:
    allowed = sorted({method for router in request.app.state.api_routers for route in router.routes
                      if route.matches(request.scope)[0] == Match.PARTIAL
                      for method in (getattr(route, "methods", None) or ())})
    if allowed:
        raise HTTPException(405, f"{request.method} is not allowed on {request.url.path}: use {', '.join(allowed)}.",
                            headers={"Allow": ", ".join(allowed)})
    raise HTTPException(404, f"No route {request.url.path}: the API is under {API_PREFIX} (see /docs).")

"""Build the app: REST API under /api/v1, then the Gradio demo mounted at "/" (in that order, or the
mount at "/" would shadow the API), middleware, error handlers, and a lifespan that loads the models.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tp import __version__
from tp.jobs.service import JobService
from tp.serving.api.admission import Admission, AdmissionMiddleware
from tp.serving.api.constants import API_PREFIX
from tp.serving.api.errors import install_error_handlers
from tp.serving.api.guards import BodyGuardMiddleware, MetricsMiddleware, RootPathMiddleware
from tp.serving.api.openapi import install_openapi
from tp.serving.api.responses import TIMING_HEADERS
from tp.serving.api.routing import body_paths, install_api_routes
from tp.serving.client import install_client
from tp.serving.cpu_tuning import limit_malloc_arenas
from tp.serving.demo_mount import install_placeholder, mount_when_loaded
from tp.serving.lifecycle import stop_server
from tp.serving.registry import ModelRegistry
from tp.serving.settings import ServerSettings, load_settings
from tp.serving.telemetry import Telemetry

log = logging.getLogger("tp.serving")
DESCRIPTION = f"""Text and image classifiers fine-tuned with tp. Everything is under `{API_PREFIX}`:
`POST /predict` classifies texts or images (concurrent requests share forward passes), `POST /explain` shows
what the model does with one text or one image, `GET /models` lists the served models and the task of each.
Images go as base64 in JSON (`{{"inputs": {{"image": "<base64>"}}}}`) or as multipart/form-data file parts
named `files`. When the server sets `TP_API_KEY`,
send it in the `X-API-Key` header. Errors are JSON with a `detail` that says what to fix."""


def configure_logging(level: str) -> None:
    """Give tp's log lines a handler when the host (uvicorn) has configured none for them."""
    logger = logging.getLogger("tp")
    logger.setLevel(level.upper())
    if not logger.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        logger.addHandler(handler)


def create_app(settings: ServerSettings | None = None) -> FastAPI:
    """The whole server as one ASGI app. Cheap: models load later, in the lifespan's background thread."""
    settings = settings or load_settings()
    configure_logging(settings.log_level)
    limit_malloc_arenas()  # before the loader and batch threads start
    telemetry = Telemetry()
    registry = ModelRegistry(settings, telemetry)
    jobs = JobService(settings, registry) if settings.training else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        registry.start_loading(on_failure=stop_server)  # /health answers at once, /ready once loaded
        async with AsyncExitStack() as stack:
            demo = asyncio.create_task(mount_when_loaded(app, registry, settings, stack)) if settings.demo else None
            yield
            if demo is not None:
                demo.cancel()
        registry.close()
        if jobs is not None:
            jobs.close()  # a running job is ended (and marked interrupted, resumable)

    app = FastAPI(title="tp", version=__version__, description=DESCRIPTION, lifespan=lifespan)
    app.state.settings, app.state.registry, app.state.telemetry = settings, registry, telemetry
    app.state.jobs = jobs
    app.state.admission = admission = Admission(settings.max_concurrent_requests, telemetry)
    install_error_handlers(app)
    install_client(app, settings)  # the Vue client at /app: before the REST catch-all and the mount at "/"
    install_api_routes(app, api_key=settings.api_key is not None, training=settings.training)
    install_openapi(app, settings, registry)
    # middleware: the last added runs first
    app.add_middleware(BodyGuardMiddleware, max_bytes=settings.max_request_bytes, max_files=settings.max_items,
                       body_paths=body_paths())
    app.add_middleware(AdmissionMiddleware, admission=admission)  # before the body is read; inside CORS
    # always installed, so Gradio adds no CORS policy of its own; no origins configured = none allowed
    app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                       allow_headers=["Content-Type", "X-API-Key", "Authorization"],
                       expose_headers=["Retry-After", *TIMING_HEADERS])
    app.add_middleware(MetricsMiddleware, telemetry=telemetry)
    if settings.root_path:
        app.add_middleware(RootPathMiddleware, root_path=settings.root_path)
    if settings.demo:  # mounted at "/" after the REST routes (first, it would shadow them), once models load
        registry.demo_pending = True
        install_placeholder(app)
    return app


def run(app: FastAPI) -> None:
    """Serve `app` with uvicorn on the configured host and port (what `python app.py` does)."""
    from tp.serving.shutdown import serve

    settings: ServerSettings = app.state.settings
    log.info("Serving %s on http://%s:%d%s/", ", ".join(s.name for s in settings.specs), settings.host,
             settings.port, settings.root_path)
    serve(app, settings.host, settings.port, settings.log_level, settings.shutdown_timeout_s)

"""The Gradio demo, mounted at "/" once the models have loaded, so the REST API answers first.

Importing gradio and building the Blocks take seconds on a small CPU; done before the server listens,
they delay the first prediction by as much. Here the server starts with the REST API and a placeholder
page at "/", the models load, then gradio is imported and its app mounted behind the REST routes (its
startup events run inside the parent's lifespan, as `gr.mount_gradio_app` arranges at start-up).
`/api/v1/ready` answers 200 only once the demo is mounted too.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

log = logging.getLogger("tp.serving")
PLACEHOLDER = """<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="2">
<title>tp</title></head><body style="font-family:sans-serif;margin:3em">
<p>The demo is starting; this page reloads by itself. The REST API is at <a href="docs">docs</a>.</p></body></html>"""


async def placeholder() -> HTMLResponse:
    return HTMLResponse(PLACEHOLDER, status_code=503, headers={"Retry-After": "2"})


def install_placeholder(app: FastAPI) -> None:
    app.add_api_route("/", placeholder, include_in_schema=False, methods=["GET"])


def _build_and_mount(app: FastAPI, registry: Any, settings: Any) -> Any:
    """Import gradio, build the Blocks and mount them (in a worker thread: the event loop keeps serving)."""
    import gradio as gr

    from tp.serving.api.deps import key_matches
    from tp.serving.gradio_demo import build_demo

    key = settings.api_key.get_secret_value() if settings.api_key else None
    auth = (lambda user, password: key_matches(key, password)) if key else None  # noqa: E731
    demo = build_demo(registry, settings, app.state.jobs)
    # the Train tab's uploads are capped by gradio too (its images are checked by tp's own limits, with tp's message)
    uploads = max(settings.max_image_bytes, settings.max_upload_bytes) if settings.training else None
    gr.mount_gradio_app(app, demo, path="/", root_path=settings.root_path or None, max_file_size=uploads,
                        auth=auth, auth_message="Log in with any user name and the server's API key as password.",
                        footer_links=["api", "settings"], run_history=False, show_error=True)
    routes = app.router.routes
    gradio_app = routes[-1].app  # the Mount just added; the placeholder before it answered "/" until now
    for route in [r for r in routes if getattr(r, "endpoint", None) is placeholder]:
        routes.remove(route)
    return gradio_app


# Gradio's queue polls for work every 1 ms when idle (10 ms for progress), on the event loop the REST API shares:
# 2.8% of a core per idle server, measured. These are the intervals gradio itself uses on Windows; an event
# from the demo then starts up to 50 ms later, which a person at the page does not notice.
QUEUE_POLL_S, PROGRESS_POLL_S = 0.05, 0.1


def slow_down_queue_polling(blocks: Any) -> None:
    """Poll gradio's queue every QUEUE_POLL_S, not every millisecond (private attributes: skipped if renamed)."""
    queue = getattr(blocks, "_queue", None)
    for name, seconds in (("sleep_when_free", QUEUE_POLL_S), ("progress_update_sleep_when_free", PROGRESS_POLL_S)):
        if isinstance(getattr(queue, name, None), float):
            setattr(queue, name, max(getattr(queue, name), seconds))


async def mount_when_loaded(app: FastAPI, registry: Any, settings: Any, stack: AsyncExitStack) -> None:
    """Wait for the models, then mount the demo and run its startup events; the server stops on failure."""
    await asyncio.to_thread(registry.loaded.wait)
    if registry.state == "failed":
        return
    try:
        gradio_app = await asyncio.to_thread(_build_and_mount, app, registry, settings)
        await stack.enter_async_context(gradio_app.router.lifespan_context(gradio_app))
        blocks = gradio_app.get_blocks()
        slow_down_queue_polling(blocks)
        blocks.run_startup_events()
        await blocks.run_extra_startup_events()
    except Exception:
        log.exception("Could not start the Gradio demo; set TP_DEMO=false to serve the REST API alone.")
        from tp.serving.lifecycle import stop_server

        stop_server()
        return
    registry.demo_pending = False
    log.info("Gradio demo mounted at %s/", settings.root_path)

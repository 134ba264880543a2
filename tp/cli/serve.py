"""Serve models: `tp serve models/bbc-news-minilm models/digits-vit` (the REST API under /api/v1, the Gradio demo
at /, the Vue client at /app when --client names its build).

Each MODEL is a run folder, a model folder or a Hub id, optionally `name=source`; without any, TP_MODEL or
TP_MODELS say what to serve. Every other setting is a TP_ environment variable (tp.serving.settings).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("models", nargs="*", metavar="MODEL", help="run folder, model folder or Hub id "
                        "(name=source to name it); the first is the default")
    parser.add_argument("--host", help="interface to bind (TP_HOST, default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (TP_PORT, default 7860)")
    parser.add_argument("--client", type=Path, help="the Vue client's build folder (TP_CLIENT_DIR)")
    parser.add_argument("--no-demo", action="store_true", help="REST API only, no Gradio demo (TP_DEMO=false)")


def run(args: argparse.Namespace) -> int:
    from tp.serving.app import create_app
    from tp.serving.app import run as serve
    from tp.serving.settings import load_settings

    overrides: dict[str, object] = {}
    if args.models:
        overrides.update(model=None, models=",".join(args.models))
    for key, value in (("host", args.host), ("port", args.port), ("client_dir", args.client)):
        if value is not None:
            overrides[key] = value
    if args.no_demo:
        overrides["demo"] = False
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    serve(create_app(load_settings(**overrides)))
    return 0

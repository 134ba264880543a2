"""The app's OpenAPI document as the Vue client sees it: what vue-client/src/schema.d.ts is generated from.

    python -m tp.cli.openapi vue-client/openapi.json models/bbc-news-minilm models/digits-vit
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from tp.serving.settings import ServerSettings

# the settings that shape the OpenAPI document, at their defaults: the client's types never depend on
# this machine's TP_ variables (init arguments win over the environment in pydantic-settings)
DOCUMENT_SETTINGS = ("default_model", "api_key", "root_path", "max_items", "max_chars")


def client_openapi(models: list[Path]) -> dict[str, Any]:
    """The OpenAPI document of an app serving `models` (the first is the default), with default settings.

    Only the first folder must exist: the others' names are documented whether or not they are on this machine.
    """
    from tp.serving.api.openapi import add_runtime_limits
    from tp.serving.app import create_app

    defaults = {
        name: ServerSettings.model_fields[name].get_default(call_default_factory=True) for name in DOCUMENT_SETTINGS
    }
    app = create_app(ServerSettings(**defaults, model=None, models=f"{models[0].name}={models[0]}", demo=False))
    names = [folder.name for folder in models]
    return add_runtime_limits(FastAPI.openapi(app), app.state.settings, app.state.registry, names)

"""The Vue client (vue-client/): its build served at /app, and the one route it needs beyond the core API.

`npm run build` in vue-client/ writes a static site to vue-client/dist; the app serves it at /app with
relative asset URLs, so it also works behind a proxy sub-path (TP_ROOT_PATH). Without a build, /app
answers a JSON 404 that says how to make one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Scope

from tp.serving.api.constants import API_PREFIX
from tp.serving.api.deps import Registry, require_api_key
from tp.serving.api.responses import ERRORS
from tp.serving.schemas import ErrorPublic
from tp.serving.settings import ServerSettings

CLIENT_PATH = "/app"
BUILD_HINT = ("cd vue-client && npm ci && npm run build, then restart the server (app.py serves vue-client/dist; "
              "tp serve --client DIR or TP_CLIENT_DIR another build)")


class ClassMetrics(BaseModel):
    precision: float
    recall: float
    f1: float
    support: int = Field(description="Test texts with this true label.")


class ModelEvaluation(BaseModel):
    """A model's test results, as its run's metrics.json recorded them."""

    model: str
    labels: list[str] = Field(description="The order of the confusion matrix's rows and columns.")
    test_size: int | None = Field(description="Texts in the test split.")
    confusion_matrix: list[list[int]] = Field(description="Rows: true label; columns: predicted label.")
    per_class: dict[str, ClassMetrics] = Field(description="Precision, recall, F1 and support per label.")


evaluation_router = APIRouter(prefix=API_PREFIX, tags=["status"])


@evaluation_router.get(
    "/models/{name}/evaluation",
    summary="A model's test evaluation: confusion matrix, per-label metrics",
    responses={
        **ERRORS,
        404: {"model": ErrorPublic, "description": "No such model, or it has no recorded test evaluation."},
    },
)
async def evaluation(
    name: Annotated[str, PathParam(description="A served model's name.")], registry: Registry
) -> ModelEvaluation:
    if name not in registry.names:
        raise HTTPException(404, f"No model named {name!r}: this server serves {', '.join(registry.names)}.")
    served = registry.get(name)  # 503 while the models load
    path = served.folder / "metrics.json" if served.folder else None
    metrics: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path and path.is_file() else {}
    if "test_confusion_matrix" not in metrics:
        raise HTTPException(
            404,
            f"Model {name!r} has no recorded test evaluation (no metrics.json with "
            "test_confusion_matrix in its folder): tp train writes one.",
        )
    return ModelEvaluation(
        model=name,
        labels=served.labels,
        test_size=metrics.get("test_size"),
        confusion_matrix=metrics["test_confusion_matrix"],
        per_class=metrics.get("test_per_class", {}),
    )


class ClientFiles(StaticFiles):
    """The build, with caching fit for Vite's output: hashed assets forever, index.html revalidated."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        hashed = Path(full_path).parent.name == "assets"  # Vite puts a content hash in these names
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable" if hashed else "no-cache"
        return response

    def get_path(self, scope: Scope) -> str:
        # behind a proxy that strips TP_ROOT_PATH the path lacks the root path RootPathMiddleware set, and
        # Starlette would look up "app/..." in the build: serve what follows /app, as for a prefixed path
        if not scope["path"].startswith(scope.get("root_path", "")):
            scope = {**scope, "root_path": CLIENT_PATH}
        return super().get_path(scope)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except StarletteHTTPException as error:  # what StaticFiles raises (FastAPI's is a subclass)
            if error.status_code != 404:
                raise
            raise HTTPException(404, f"No file {path!r} in the Vue client's build (vue-client/dist).") from None


async def redirect_to_client(request: Request) -> RedirectResponse:
    # relative, so it stays right behind a proxy sub-path whether or not the proxy strips it
    return RedirectResponse(CLIENT_PATH.lstrip("/") + "/", status_code=308)


async def client_not_built(request: Request) -> JSONResponse:
    return JSONResponse({"detail": f"The Vue client is not built: {BUILD_HINT}."}, status_code=404)


def install_client(app: FastAPI, settings: ServerSettings, dist: Path | None = None) -> None:
    """The evaluation route, then the client at /app; call before the REST catch-all and the mount at "/"."""
    dist = dist or settings.client_dir
    app.include_router(evaluation_router, dependencies=[Depends(require_api_key)] if settings.api_key else [])
    app.add_api_route(CLIENT_PATH, redirect_to_client, methods=["GET", "HEAD"], include_in_schema=False)
    if dist is not None and (dist / "index.html").is_file():
        app.mount(CLIENT_PATH, ClientFiles(directory=dist, html=True), name="client")
    else:
        app.add_api_route(
            CLIENT_PATH + "/{path:path}", client_not_built, methods=["GET", "HEAD"], include_in_schema=False
        )

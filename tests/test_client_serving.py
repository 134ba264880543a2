"""The Vue client's build served at /app (behind a proxy sub-path too), a clear 404 without a build, and
the model-evaluation route it reads. In-process, no model loads: vue-client/e2e/ drives the real app."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from shipped import TEXT_MODEL as DEFAULT_MODEL_DIR

from tp.serving.app import create_app
from tp.serving.settings import ServerSettings

INDEX = '<!doctype html><script type="module" src="./assets/index-abc123.js"></script><div id="app"></div>'
LABELS = ["business", "entertainment", "politics", "sports", "tech"]
KEY = "a-test-key-of-20-chars"


@pytest.fixture
def dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in for vue-client/dist (what `npm run build` writes)."""
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(INDEX, encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log('tp')", encoding="utf-8")
    monkeypatch.setenv("TP_CLIENT_DIR", str(tmp_path))
    return tmp_path


def make_app(demo: bool = False, **settings: object) -> FastAPI:
    """The app without starting its lifespan (TestClient outside `with`): nothing loads."""
    return create_app(ServerSettings(model=None, models=f"bbc-news-minilm={DEFAULT_MODEL_DIR}", demo=demo, **settings))


def serve_model(app: FastAPI, folder: Path | None = DEFAULT_MODEL_DIR) -> None:
    """Mark the registry ready with a stand-in model: the route reads only its folder and labels."""
    app.state.registry.models["bbc-news-minilm"] = SimpleNamespace(folder=folder, labels=LABELS)
    app.state.registry.state = "ready"


@pytest.mark.parametrize("prefix", ["", "/proxy"])
def test_serves_the_build_at_app_with_caching_fit_for_vite(dist: Path, prefix: str) -> None:
    http = TestClient(make_app(root_path="/proxy"), follow_redirects=False)
    index = http.get(f"{prefix}/app/")
    assert index.status_code == 200 and index.text == INDEX
    assert index.headers["cache-control"] == "no-cache"  # a new build is picked up at once
    asset = http.get(f"{prefix}/app/assets/index-abc123.js")  # where ./assets/... resolves from /app/
    assert asset.status_code == 200 and asset.text == "console.log('tp')"
    assert "immutable" in asset.headers["cache-control"]


def test_app_without_slash_redirects_relatively_so_a_proxy_prefix_survives(dist: Path) -> None:
    answer = TestClient(make_app(), follow_redirects=False).get("/app")
    assert answer.status_code == 308 and answer.headers["location"] == "app/"


def test_a_missing_file_is_a_json_404_that_names_the_build(dist: Path) -> None:
    answer = TestClient(make_app()).get("/app/assets/gone.js")
    assert answer.status_code == 404
    assert "vue-client/dist" in answer.json()["detail"]


def test_without_a_build_app_says_how_to_make_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TP_CLIENT_DIR", str(tmp_path / "dist"))
    http = TestClient(make_app())
    for path in ("/app/", "/app/index.html"):
        answer = http.get(path)
        assert answer.status_code == 404
        assert "npm ci && npm run build" in answer.json()["detail"]


def test_the_gradio_mount_at_root_does_not_shadow_the_client(dist: Path) -> None:
    http = TestClient(make_app(demo=True), follow_redirects=False)
    assert http.get("/app/").text == INDEX
    assert http.get("/app").status_code == 308
    assert http.get("/api/v1/health").json() == {"status": "ok"}


def test_evaluation_is_the_runs_confusion_matrix_and_per_label_metrics() -> None:
    app = make_app()
    serve_model(app)
    answer = TestClient(app).get("/api/v1/models/bbc-news-minilm/evaluation")
    assert answer.status_code == 200
    recorded = json.loads((DEFAULT_MODEL_DIR / "metrics.json").read_text(encoding="utf-8"))
    body = answer.json()
    assert body["labels"] == LABELS and body["test_size"] == recorded["test_size"]
    assert body["confusion_matrix"] == recorded["test_confusion_matrix"]
    assert body["per_class"]["sports"]["support"] == recorded["test_per_class"]["sports"]["support"]


def test_evaluation_errors_say_what_is_missing(tmp_path: Path) -> None:
    app = make_app()
    http = TestClient(app)
    loading = http.get("/api/v1/models/bbc-news-minilm/evaluation")
    assert loading.status_code == 503 and "Retry-After" in loading.headers
    serve_model(app, folder=tmp_path)  # a model whose folder has no metrics.json
    missing = http.get("/api/v1/models/bbc-news-minilm/evaluation")
    assert missing.status_code == 404 and "no recorded test evaluation" in missing.json()["detail"]
    unknown = http.get("/api/v1/models/nope/evaluation")
    assert unknown.status_code == 404 and "serves bbc-news-minilm" in unknown.json()["detail"]


def test_evaluation_requires_the_api_key_when_one_is_set() -> None:
    app = make_app(api_key=KEY)
    serve_model(app)
    http = TestClient(app)
    assert http.get("/api/v1/models/bbc-news-minilm/evaluation").status_code == 401
    assert http.get("/api/v1/models/bbc-news-minilm/evaluation", headers={"X-API-Key": KEY}).status_code == 200

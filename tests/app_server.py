"""The real app in a child process (uvicorn on a free loopback port), shared by the app tests.

A test module loads it with `pytest_plugins = ["app_server"]`, so the session-scoped server is
started once for every module that uses it (starting one costs 10-20 s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from shipped import APP
from shipped import TEXT_MODEL as MODEL_DIR  # the shipped model: adapter only in a fresh clone

from tp.serving.process import ServerProcess, start_tp_app

IMAGE_MODEL = "tiny-vit"  # the tiny_vit_dir fixture: 3 labels, 32x32 inputs, random weights
ROOT_PATH = "/proxy"  # served as if behind a proxy at a sub-path; unprefixed paths work too
# small limits, so the caps are cheap to hit
LIMITS = {"TP_MAX_ITEMS": "16", "TP_MAX_CHARS": "5000", "TP_MAX_REQUEST_BYTES": "65536",
          "TP_MAX_BATCH_WAIT_MS": "20", "TP_MAX_IMAGE_BYTES": "20000", "TP_MAX_IMAGE_PIXELS": "250000"}


def launch(env: dict[str, str], log: Path, timeout: float = 240.0) -> ServerProcess:
    """Start app.py with `env` and wait for /api/v1/ready; a failure shows the server's log."""
    # the shipped model's own weights, as in a fresh clone, even after `tp optimize` left variants in this
    # checkout (TP_VARIANT=auto would serve one); a test of auto passes TP_VARIANT itself
    server = start_tp_app({"TP_VARIANT": "none", **env}, log, app=APP)
    try:
        server.ready_after = server.wait_until("/api/v1/ready", timeout)
    except Exception:
        server.stop()
        raise
    return server


@pytest.fixture(scope="session")
def launch_app() -> Callable[[dict[str, str], Path], ServerProcess]:
    """Start another configuration of the app (the caller stops it)."""
    return launch


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory, tiny_vit_dir: Path) -> Iterator[ServerProcess]:
    """The default configuration (the shipped model, no API key, no CORS), behind /proxy, with a tiny
    image model beside it (named here, so the tests do not change when models/digits-vit appears)."""
    if not (MODEL_DIR / "tp.json").is_file():
        pytest.fail(f"{MODEL_DIR} is missing: the app tests serve the shipped model")
    models = f"bbc-news-minilm={MODEL_DIR},{IMAGE_MODEL}={tiny_vit_dir}"
    server = launch({"TP_ROOT_PATH": ROOT_PATH, "TP_MODELS": models, **LIMITS},
                    tmp_path_factory.mktemp("app") / "server.log")
    yield server
    code = server.stop()
    assert code in (0, -15), f"server exited with {code}:\n{server.log()[-3000:]}"

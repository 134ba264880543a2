"""tp's server: the REST API under /api/v1 and the Gradio demo at "/", on one FastAPI app.

    python app.py               # http://127.0.0.1:7860, the shipped models (PORT / TP_PORT, TP_HOST override)
    uvicorn app:app --port 8000

Settings are environment variables prefixed TP_ (see tp/serving/settings.py); models load at start-up. This
file's defaults are this checkout's: the shipped models in models/ (the news model; the digits ViT and the
multi-label disaster model once their folders exist) and the Vue client's build in vue-client/dist.
`tp serve FOLDER...` serves other folders from anywhere.
"""

import os
from pathlib import Path

from tp.errors import ConfigError
from tp.serving.app import create_app, run

HERE = Path(__file__).resolve().parent
TEXT_MODEL = HERE / "models" / "bbc-news-minilm"
SHIPPED = {"bbc-news-minilm": TEXT_MODEL, "digits-vit": HERE / "models" / "digits-vit",
           "disaster-minilm-lora": HERE / "models" / "disaster-minilm-lora"}


def shipped_models() -> str:
    """TP_MODELS for the shipped models; a missing text model is one clear error."""
    if not TEXT_MODEL.is_dir():
        raise SystemExit(f"error: the default model folder {TEXT_MODEL} is missing: restore it (git checkout "
                         "models/), train it (tp train --config configs/bbc-minilm-lora.yaml --output models), "
                         "or set TP_MODEL / TP_MODELS to other run folders, model folders or Hub ids")
    return ",".join(f"{name}={folder}" for name, folder in SHIPPED.items() if folder.is_dir())


if not os.environ.get("TP_MODEL") and os.environ.get("TP_MODELS") is None:
    os.environ["TP_MODELS"] = shipped_models()
os.environ.setdefault("TP_CLIENT_DIR", str(HERE / "vue-client" / "dist"))

try:
    app = create_app()
except ConfigError as error:  # a bad setting: one clear message, no traceback
    raise SystemExit(f"error: {error}") from None

if __name__ == "__main__":
    run(app)

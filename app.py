"""tp's server: the REST API under /api/v1 and the Gradio demo at "/", on one FastAPI app.

    python app.py               # http://127.0.0.1:7860, the shipped models (PORT / TP_PORT, TP_HOST override)
    uvicorn app:app --port 8000

Settings are environment variables prefixed TP_ (see tp/serving/settings.py); models load at start-up.
"""

from tp.errors import ConfigError
from tp.serving.app import create_app, run

try:
    app = create_app()
except ConfigError as error:  # a bad setting: one clear message, no traceback
    raise SystemExit(f"error: {error}") from None

if __name__ == "__main__":
    run(app)

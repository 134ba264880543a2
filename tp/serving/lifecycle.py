"""Stopping the server from inside it: a model or the demo that cannot start ends the process."""

import os
import signal


def stop_server() -> None:
    """A model that cannot load stops the server (SIGTERM: uvicorn shuts down and exits non-zero)."""
    os.kill(os.getpid(), signal.SIGTERM)

"""Graceful shutdown: on SIGTERM (or Ctrl-C) the server drains before uvicorn's own shutdown.

Draining: new API requests get 503 with Retry-After (and /ready fails, so a load balancer stops sending),
while the model requests already accepted are answered, up to TP_SHUTDOWN_TIMEOUT_S. Then uvicorn stops
listening, closes idle connections and exits. A second signal skips the wait.
"""

from __future__ import annotations

import logging
import threading
from types import FrameType
from typing import Any

import uvicorn

from tp.serving.api.admission import Admission

log = logging.getLogger("tp.serving")


class DrainingServer(uvicorn.Server):
    """uvicorn's server, whose first exit signal drains the app's model requests before shutting down."""

    def __init__(self, config: uvicorn.Config, admission: Admission, timeout_s: float) -> None:
        super().__init__(config)
        self.admission, self.timeout_s = admission, timeout_s

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.admission.draining or not self.started:  # a second signal, or still starting: stop now
            super().handle_exit(sig, frame)
            return
        self.admission.start_draining()
        threading.Thread(target=self._drain, args=(sig, frame), name="tp-drain", daemon=True).start()

    def _drain(self, sig: int, frame: FrameType | None) -> None:
        waiting = self.admission.in_flight
        log.info("Shutting down: answering the %d requests in flight (at most %g s, TP_SHUTDOWN_TIMEOUT_S); "
                 "new ones get 503", waiting, self.timeout_s)
        if not self.admission.wait_idle(self.timeout_s):
            log.warning("%d requests were still in flight after %g s (TP_SHUTDOWN_TIMEOUT_S): they are cut off",
                        self.admission.in_flight, self.timeout_s)
        super().handle_exit(sig, frame)  # uvicorn: stop listening, finish the connections, exit


def serve(app: Any, host: str, port: int, log_level: str, shutdown_timeout_s: float) -> None:
    """Run `app` until a signal, draining first; exits with status 3 when it could not start (as uvicorn.run)."""
    import sys

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=10)
    server = DrainingServer(config, app.state.admission, shutdown_timeout_s)
    server.run()
    if not server.started:
        sys.exit(3)

"""Run a server in a child process on a free loopback port: for tests and benchmarks.

The child is stopped by its PID (SIGTERM, then SIGKILL), never by name.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A server started with `start_server`; `url` is its base URL (with the root path, if any)."""

    process: subprocess.Popen
    port: int
    log_path: Path
    started_at: float
    root_path: str = ""
    ready_after: float | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.root_path}"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.is_file() else ""

    def wait_until(self, path: str, timeout: float = 180.0, method: str = "GET", json: object = None) -> float:
        """Poll `path` until it answers 200; seconds since the process started. Fails if the child dies."""
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=5.0) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()[-4000:]}")
                try:
                    if client.request(method, f"{self.url}{path}", json=json).status_code == 200:
                        return time.perf_counter() - self.started_at
                except httpx.TransportError:
                    pass  # not listening yet
                time.sleep(0.05)
        raise TimeoutError(f"{self.url}{path} did not answer 200 within {timeout:.0f} s:\n{self.log()[-4000:]}")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM by PID, SIGKILL if it lingers; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return self.process.returncode


def start_server(command: list[str], env: dict[str, str], log_path: Path, port: int | None = None,
                 root_path: str = "", cwd: Path | None = None) -> ServerProcess:
    """Start `command` (with `{port}` filled in) in `cwd`, offline, logging to `log_path`."""
    port = port or free_port()
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
                "GRADIO_ANALYTICS_ENABLED": "False", **env}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen([part.format(port=port) for part in command], cwd=cwd, env=full_env,
                                   stdout=log, stderr=subprocess.STDOUT)
    return ServerProcess(process, port, log_path, started, root_path)


def start_tp_app(env: dict[str, str], log_path: Path, port: int | None = None,
                 app: Path | None = None) -> ServerProcess:
    """tp's server on a free loopback port: `python APP` (an app.py, as a user runs it, with its defaults), or
    `python -m tp serve` when no app is given (then `env` names the models: TP_MODEL or TP_MODELS)."""
    port = port or free_port()
    settings_env = {"TP_HOST": "127.0.0.1", "TP_PORT": str(port), **env}
    command = [sys.executable, str(app)] if app else [sys.executable, "-m", "tp", "serve"]
    return start_server(command, settings_env, log_path, port, root_path=env.get("TP_ROOT_PATH", "").rstrip("/"),
                        cwd=app.parent if app else None)

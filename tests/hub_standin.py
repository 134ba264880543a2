"""A loopback stand-in for the few Hub API routes a push uses (no machine here reaches the real Hub).

It answers whoami, repo creation, branch creation, preupload (every file "regular") and commit, and
records each commit's files, so tests can check what huggingface_hub really sent, and how tp maps the
Hub's error statuses. Configure `status` to make a route fail like the Hub would.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HubStandIn:
    def __init__(self, role: str = "write", user: str = "alice") -> None:
        self.role, self.user = role, user
        self.status: dict[str, int] = {}  # route name -> HTTP status to answer instead
        self.commits: list[dict[str, Any]] = []
        self.created: list[dict[str, Any]] = []
        self.unknown: list[str] = []  # requests to routes the stand-in does not know
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HubStandIn:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length", 0)))

            def _route(self) -> str:
                path = self.path.split("?")[0]
                for name in ("whoami-v2", "repos/create", "preupload", "commit", "branch", "validate-yaml"):
                    if f"/{name}" in path:
                        return name
                return "unknown"

            def _answer(self) -> None:
                route, body = self._route(), self._body()
                if route in hub.status:  # 409 on create means "you already have it": the Hub sends its url
                    repo = json.loads(body) if route == "repos/create" else {}
                    url = f"{hub.url}/{repo.get('organization')}/{repo.get('name')}"
                    self._send(hub.status[route], {"error": f"stand-in {route} answer", "url": url})
                elif route == "whoami-v2":
                    self._send(200, {"type": "user", "name": hub.user,
                                     "auth": {"accessToken": {"displayName": "test", "role": hub.role}}})
                elif route == "repos/create":
                    hub.created.append(json.loads(body))
                    self._send(200, {"url": f"{hub.url}/{hub.user}/x"})
                elif route == "branch":
                    self._send(200, {})
                elif route == "validate-yaml":  # the real Hub validates card metadata before an upload
                    self._send(200, {"errors": [], "warnings": []})
                elif route == "preupload":
                    files = json.loads(body)["files"]
                    self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                               for f in files]})
                elif route == "commit":
                    lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                    files = {item["value"]["path"]: base64.b64decode(item["value"]["content"])
                             for item in lines if item["key"] == "file"}
                    header = next(item["value"] for item in lines if item["key"] == "header")
                    hub.commits.append({"path": self.path, "files": files, "summary": header["summary"]})
                    repo = self.path.split("/api/models/")[1].split("/commit/")[0]
                    self._send(200, {"commitUrl": f"{hub.url}/{repo}/commit/abc123", "commitOid": "abc123",
                                     "success": True, "pullRequestUrl": None})
                elif not self.path.startswith("/api/agent-harnesses"):  # best-effort telemetry: ignore
                    hub.unknown.append(f"{self.command} {self.path}")
                    self._send(404, {"error": f"stand-in has no route {self.path}"})
                else:
                    self._send(404, {"error": "not served"})

            do_GET = do_POST = _answer

        return Handler

"""Graceful shutdown of the real app (its own child process): SIGTERM under load answers every request already
accepted, refuses new ones with 503, then exits."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from shipped import TEXT_MODEL

pytest_plugins = ["app_server"]

API = "/api/v1"
CLIENTS = 24


def in_flight(url: str) -> float:
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("tp_requests_in_flight "):
            return float(line.split()[1])
    return 0.0


def test_sigterm_under_load_answers_every_accepted_request(launch_app, tmp_path: Path) -> None:
    from tp.data.sources import read_bbc_news

    texts = list(read_bbc_news()["text"][: 4 * CLIENTS])  # long articles: seconds of work on a CPU
    server = launch_app({"TP_MODELS": f"bbc-news-minilm={TEXT_MODEL}", "TP_DEMO": "false",
                         "TP_SHUTDOWN_TIMEOUT_S": "120"}, tmp_path / "server.log")
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            accepted = [pool.submit(httpx.post, f"{server.url}{API}/predict", json={"inputs": texts[4 * i:4 * i + 4]},
                                    timeout=180) for i in range(CLIENTS)]
            deadline = time.monotonic() + 60
            while in_flight(server.url) < CLIENTS:
                assert time.monotonic() < deadline, "the requests never were all in flight"
                time.sleep(0.05)
            server.process.send_signal(signal.SIGTERM)
            refused = None
            while refused is None and not all(future.done() for future in accepted):
                try:
                    answer = httpx.post(f"{server.url}{API}/predict", json={"inputs": "a new request"}, timeout=10)
                except httpx.TransportError:  # already gone: every accepted request must have been answered
                    break
                if answer.status_code == 503:
                    refused = answer
                time.sleep(0.02)
            answers = [future.result() for future in accepted]
        code = server.process.wait(60)
    finally:
        server.stop()
    assert [answer.status_code for answer in answers] == [200] * CLIENTS  # none dropped
    assert all(len(answer.json()["predictions"]) == 4 for answer in answers)
    assert refused is not None, "no new request was refused while the accepted ones drained"
    assert "shutting down" in refused.json()["detail"] and refused.headers["retry-after"] == "5"
    assert code in (0, -signal.SIGTERM)
    assert f"Shutting down: answering the {CLIENTS} requests in flight" in server.log()

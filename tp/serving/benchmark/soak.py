"""Soak: one server under a long, mixed, closed-loop load, with its process sampled as it runs.

64 clients (by default) on loopback keep-alive connections send a weighted mix of requests: short and long
texts, small batches, images, explanations of both, bad inputs that must get their 4xx, and clients that
disconnect before their answer. Every `sample_s` seconds the server's RSS, open file descriptors and threads
are read (from /proc, Linux) with the latency of each kind over that window. Bounded in time and in requests.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tp.serving.benchmark.load import HttpError, event_loop_factory, read_response

OK, FINE_WHEN_BUSY = {200}, {429, 503}  # 429/503: admission control and a full queue say "retry", by design


@dataclass(frozen=True)
class Kind:
    """One kind of request in the mix: its share, its payloads (raw HTTP), and the answers it may get."""

    name: str
    weight: float
    payloads: tuple[bytes, ...]
    expected: frozenset[int] = frozenset(OK)
    disconnect: bool = False  # the client closes its connection before reading the answer


@dataclass
class SoakConfig:
    minutes: float = 30.0
    max_requests: int = 500_000
    clients: int = 64
    sample_s: float = 5.0
    seed: int = 0


@dataclass
class Window:
    """What happened between two samples."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, dict[str, int]] = field(default_factory=dict)

    def record(self, kind: str, status: str, seconds: float | None) -> None:
        counts = self.statuses.setdefault(kind, {})
        counts[status] = counts.get(status, 0) + 1
        if seconds is not None:
            self.latencies.setdefault(kind, []).append(seconds)


def http_request(url: str, path: str, body: bytes, content_type: str = "application/json") -> bytes:
    parts = urlsplit(url)
    head = (f"POST {parts.path.rstrip('/')}{path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def request_mix(url: str, texts: list[str], images: list[bytes], text_model: str, image_model: str | None,
                max_chars: int) -> list[Kind]:
    """The mix: mostly predictions, some explanations, 5% bad inputs, 5% clients that go away."""
    def post(path: str, body: dict[str, Any]) -> bytes:
        return http_request(url, path, json.dumps(body).encode())

    short = [" ".join(text.split()[:25]) for text in texts]
    kinds = [
        Kind("short_text", 40, tuple(post("/api/v1/predict", {"inputs": t, "model": text_model}) for t in short)),
        Kind("long_text", 20, tuple(post("/api/v1/predict", {"inputs": t, "model": text_model}) for t in texts)),
        Kind("batch_of_4", 8, tuple(post("/api/v1/predict", {"inputs": short[i:i + 4], "model": text_model})
                                    for i in range(0, len(short) - 4, 4))),
        Kind("explain_text", 3, tuple(post("/api/v1/explain", {"inputs": t, "model": text_model}) for t in short[:64])),
        Kind("disconnect", 5, tuple(post("/api/v1/predict", {"inputs": t, "model": text_model}) for t in texts[:64]),
             frozenset(), disconnect=True),
    ]
    if image_model and images:
        encoded = [{"image": base64.b64encode(image).decode()} for image in images]
        kinds += [Kind(name, weight, tuple(post(path, {"inputs": e, "model": image_model}) for e in encoded))
                  for name, weight, path in (("image", 12, "/api/v1/predict"), ("explain_image", 2, "/api/v1/explain"))]
    bad = [
        (http_request(url, "/api/v1/predict", b'{"inputs": "unfinished'), 422),
        (http_request(url, "/api/v1/predict", '{"inputs": "caf\xe9"}'.encode("latin-1")), 400),  # not UTF-8
        (post("/api/v1/predict", {"inputs": "x" * (max_chars + 1), "model": text_model}), 422),
        (post("/api/v1/predict", {"text": "the field is called inputs"}), 422),
        (post("/api/v1/predict", {"inputs": "some text", "model": "no-such-model"}), 422),
        (http_request(url, "/api/v1/predict", b"inputs=text", "application/x-www-form-urlencoded"), 415),
    ]
    if image_model:
        bad.append((post("/api/v1/predict", {"inputs": "a text for an image model", "model": image_model}), 422))
    kinds += [Kind(f"bad_{status}_{index}", 5 / len(bad), (payload,), frozenset({status}))
              for index, (payload, status) in enumerate(bad)]
    return kinds


def read_process(pid: int) -> dict[str, float]:
    """RSS (MB), open file descriptors and threads of `pid`, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"rss_mb": round(int(fields["VmRSS"].split()[0]) / 1024, 1), "threads": int(fields["Threads"]),
            "fds": len(list(Path(f"/proc/{pid}/fd").iterdir()))}


async def _soak(url: str, pid: int, kinds: list[Kind], cfg: SoakConfig, scrape: Any) -> dict[str, Any]:
    parts = urlsplit(url)
    rng = random.Random(cfg.seed)
    weights = [kind.weight for kind in kinds]
    window, samples, unexpected = Window(), [], []
    sent = 0
    start = time.perf_counter()
    deadline = start + 60 * cfg.minutes

    def more() -> bool:
        nonlocal sent
        if sent >= cfg.max_requests or time.perf_counter() >= deadline:
            return False
        sent += 1
        return True

    async def client(seed: int) -> None:
        pick = random.Random(seed)
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while more():
            kind = pick.choices(kinds, weights)[0]
            payload = kind.payloads[pick.randrange(len(kind.payloads))]
            began = time.perf_counter()
            try:
                if kind.disconnect:  # its own connection, closed before the answer comes
                    _, writer = await asyncio.open_connection(parts.hostname, parts.port)
                    writer.write(payload)
                    await writer.drain()
                    await asyncio.sleep(pick.uniform(0.0, 0.05))
                    writer.close()
                    window.record(kind.name, "gone", None)
                    continue
                async with asyncio.timeout(120):
                    if connection is None:
                        connection = await asyncio.open_connection(parts.hostname, parts.port)
                    reader, writer = connection
                    writer.write(payload)
                    status, body, keep_alive = await read_response(reader)
                if not keep_alive:
                    writer.close()
                    connection = None
                window.record(kind.name, str(status), time.perf_counter() - began if status == 200 else None)
                if status not in kind.expected | FINE_WHEN_BUSY:
                    unexpected.append(f"{kind.name}: {status} {body[:200].decode(errors='replace')}")
            except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, HttpError) as error:
                window.record(kind.name, type(error).__name__, None)
                unexpected.append(f"{kind.name}: {type(error).__name__}: {error}")
                if connection is not None:
                    connection[1].close()
                connection = None
        if connection is not None:
            connection[1].close()

    async def sampler() -> None:
        nonlocal window
        while True:
            await asyncio.sleep(cfg.sample_s)
            done, window = window, Window()
            sample = {"t_s": round(time.perf_counter() - start, 1), "sent": sent, **read_process(pid),
                      "statuses": done.statuses, **await asyncio.to_thread(scrape)}
            sample["p50_ms"], sample["p95_ms"] = {}, {}
            for kind, values in done.latencies.items():
                values.sort()
                sample["p50_ms"][kind] = round(1000 * values[len(values) // 2], 1)
                sample["p95_ms"][kind] = round(1000 * values[min(len(values) - 1, int(0.95 * len(values)))], 1)
            samples.append(sample)

    samples.append({"t_s": 0.0, "sent": 0, **read_process(pid), "statuses": {}, "p50_ms": {}, "p95_ms": {},
                    **await asyncio.to_thread(scrape)})
    watcher = asyncio.create_task(sampler())
    await asyncio.gather(*(client(rng.randrange(1 << 30)) for _ in range(cfg.clients)))
    watcher.cancel()
    final = {"t_s": round(time.perf_counter() - start, 1), "sent": sent, **read_process(pid),
             "statuses": window.statuses, "p50_ms": {}, "p95_ms": {}, **await asyncio.to_thread(scrape)}
    return {"samples": [*samples, final], "requests": sent, "seconds": round(time.perf_counter() - start, 1),
            "unexpected": len(unexpected), "unexpected_samples": unexpected[:20]}


def run_soak(url: str, pid: int, kinds: list[Kind], cfg: SoakConfig, scrape: Any) -> dict[str, Any]:
    """Drive the mix against `url` (the server's base URL; its process is `pid`) until the time or the request
    budget runs out; `scrape()` returns server-side counters to record with each sample."""
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(_soak(url, pid, kinds, cfg, scrape))

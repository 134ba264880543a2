"""Closed-loop HTTP load: N concurrent clients send a bounded number of requests, one text each."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class LoadResult:
    """What one load run measured."""

    requests: int
    errors: int
    seconds: float
    latencies: list[float] = field(repr=False)
    error_samples: list[str] = field(default_factory=list)

    @property
    def throughput(self) -> float:
        """Answered requests (texts) per second."""
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] if self.latencies else float("nan")
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[int(q) - 1]

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "seconds": round(self.seconds, 2),
                "throughput_rps": round(self.throughput, 2), "p50_ms": round(1000 * self.percentile(50), 1),
                "p95_ms": round(1000 * self.percentile(95), 1), "error_samples": self.error_samples[:3]}


async def _drive(url: str, texts: list[str], clients: int, requests: int, timeout: float) -> LoadResult:
    latencies: list[float] = []
    errors: list[str] = []
    next_index = iter(range(requests))

    async def client(session: httpx.AsyncClient) -> None:
        for index in next_index:  # a shared iterator: each request is sent exactly once
            start = time.perf_counter()
            try:
                response = await session.post(url, json={"inputs": texts[index % len(texts)]})
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as error:
                errors.append(f"{type(error).__name__}: {error}")
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as session:
        start = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        seconds = time.perf_counter() - start
    return LoadResult(requests, len(errors), seconds, latencies, errors)


def run_load(url: str, texts: list[str], clients: int = 32, requests: int = 256,
             timeout: float = 300.0) -> LoadResult:
    """Send `requests` POSTs of one text each from `clients` concurrent clients; measure each."""
    return asyncio.run(_drive(url, texts, clients, requests, timeout))


def wait_for_prediction(url: str, text: str, started_at: float, process: Any, timeout: float = 300.0) -> float:
    """Seconds from `started_at` (process start) to the first 200 answer to a prediction."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode} before answering")
            try:
                if client.post(url, json={"inputs": text}).status_code == 200:
                    return time.perf_counter() - started_at
            except httpx.TransportError:
                pass
            time.sleep(0.02)
    raise TimeoutError(f"{url} gave no prediction within {timeout:.0f} s")

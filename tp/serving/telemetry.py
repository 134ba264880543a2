"""Prometheus metrics of one app, in its own registry (two apps in one process never collide)."""

from __future__ import annotations

from typing import Any

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class Telemetry:
    """Requests by route and status, latency, batch sizes and durations, queue depth, tokens run."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter("tp_http_requests", "HTTP requests by route template, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("tp_http_request_duration_seconds", "HTTP request latency by route.",
                                 ["route"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("tp_batch_size", "Texts per micro-batch.", ["model"],
                                    buckets=BATCH_BUCKETS, registry=self.registry)
        self.batch_seconds = Histogram("tp_batch_duration_seconds", "Time to run one micro-batch.", ["model"],
                                       buckets=LATENCY_BUCKETS, registry=self.registry)
        self.queue_depth = Gauge("tp_queue_depth", "Texts waiting for a micro-batch.", ["model"],
                                 registry=self.registry)
        self.predictions = Counter("tp_predictions", "Texts classified.", ["model"], registry=self.registry)
        self.padded_tokens = Counter("tp_forward_tokens", "Tokens run through the model, padding included "
                                     "(rows x padded length per forward pass).", ["model"], registry=self.registry)
        self.rejected = Counter("tp_rejected_requests", "Requests refused because a queue was full.", ["model"],
                                registry=self.registry)
        self.models_ready = Gauge("tp_models_ready", "1 once every model is loaded.", registry=self.registry)

    def batch_observer(self, model: str) -> Any:
        """Callback for MicroBatcher(on_batch=...)."""
        size, seconds, done = (self.batch_size.labels(model), self.batch_seconds.labels(model),
                               self.predictions.labels(model))

        def observe(count: int, elapsed: float) -> None:
            size.observe(count)
            seconds.observe(elapsed)
            done.inc(count)
        return observe

    def depth_observer(self, model: str) -> Any:
        return self.queue_depth.labels(model).set

    def forward_observer(self, model: str) -> Any:
        tokens = self.padded_tokens.labels(model)
        return lambda rows, length: tokens.inc(rows * length)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

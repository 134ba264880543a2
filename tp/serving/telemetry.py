"""Prometheus metrics of one app, in its own registry (two apps in one process never collide).

Per stage, as text-embeddings-inference has them: tokenization (per batch), time in the queue and in
inference (per request), batch sizes and the tokens each batch ran (padding included).
"""

from __future__ import annotations

from typing import Any

from tp.serving.batcher import BatcherEvents, Timing

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, *LATENCY_BUCKETS)
TOKEN_BUCKETS = tuple(2 ** n for n in range(4, 17))  # 16 .. 65,536 tokens a batch


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
        self.cancelled = Counter("tp_cancelled_inputs", "Inputs dropped before their forward pass because their "
                                 "client went away (or their request timed out).", ["model"], registry=self.registry)
        self.admission_rejected = Counter("tp_admission_rejected", "Requests refused with 429: "
                                          "TP_MAX_CONCURRENT_REQUESTS were in flight.", registry=self.registry)
        self.in_flight = Gauge("tp_requests_in_flight", "Model requests (POST /api/...) being answered.",
                               registry=self.registry)
        self.failures = Counter("tp_model_failures", "Batches or explanations whose forward pass raised.", ["model"],
                                registry=self.registry)
        self.timeouts = Counter("tp_request_timeouts", "Requests answered 504: past TP_REQUEST_TIMEOUT_S.", ["model"],
                                registry=self.registry)
        stage = {"buckets": STAGE_BUCKETS, "registry": self.registry}
        self.tokenization = Histogram("tp_tokenization_duration_seconds", "Time to tokenize and pad one batch of "
                                      "texts.", ["model"], **stage)
        self.queue_time = Histogram("tp_queue_duration_seconds", "Time a request's inputs waited for a batch.",
                                    ["model"], **stage)
        self.inference_time = Histogram("tp_inference_duration_seconds", "Time a request's batches ran (tokenization "
                                        "and forward passes).", ["model"], **stage)
        self.batch_tokens = Histogram("tp_batch_tokens", "Tokens per micro-batch, padding included (images: patches).",
                                      ["model"], buckets=TOKEN_BUCKETS, registry=self.registry)

    def model_events(self, model: str) -> ModelEvents:
        return ModelEvents(self, model)

    def tokenization_observer(self, model: str) -> Any:
        return self.tokenization.labels(model).observe

    def forward_observer(self, model: str) -> Any:
        tokens = self.padded_tokens.labels(model)
        return lambda rows, length: tokens.inc(rows * length)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class ModelEvents(BatcherEvents):
    """What one model's MicroBatcher reports, as the app's metrics."""

    def __init__(self, telemetry: Telemetry, model: str) -> None:
        self.size, self.seconds = telemetry.batch_size.labels(model), telemetry.batch_seconds.labels(model)
        self.done, self.tokens = telemetry.predictions.labels(model), telemetry.batch_tokens.labels(model)
        self.queue, self.inference = telemetry.queue_time.labels(model), telemetry.inference_time.labels(model)
        self.waiting, self.cancelled = telemetry.queue_depth.labels(model), telemetry.cancelled.labels(model)
        self.refused, self.failures = telemetry.rejected.labels(model), telemetry.failures.labels(model)
        self.timeouts = telemetry.timeouts.labels(model)

    def batch(self, size: int, seconds: float, results: list[Any]) -> None:
        self.size.observe(size)
        self.seconds.observe(seconds)
        if results:  # Scores: their tokens add up to the batch's
            self.done.inc(size)
            self.tokens.observe(sum(getattr(result, "tokens", 0) for result in results))

    def depth(self, depth: int) -> None:
        self.waiting.set(depth)

    def dropped(self, count: int) -> None:
        self.cancelled.inc(count)

    def request(self, timing: Timing) -> None:
        self.queue.observe(timing.queue_s)
        self.inference.observe(timing.inference_s)

    def rejected(self) -> None:
        self.refused.inc()

    def failed(self) -> None:
        self.failures.inc()

    def timed_out(self) -> None:
        self.timeouts.inc()

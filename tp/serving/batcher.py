"""Dynamic micro-batching: items from concurrent requests share one forward pass.

Requests (REST or Gradio) `await submit(items)`; a worker thread takes up to `max_batch_size` waiting
items, waiting at most `max_wait_s` for a batch to fill when the queue runs dry, and runs them together
off the event loop. Solo jobs (e.g. an explanation, which needs gradients) go through the same queue
but run by themselves. Usually one worker per model; with `workers` > 1 several batches run at once
(forward passes on a shared model are thread-safe), which keeps all cores busy with single-threaded
torch when the CPU is shared. The queue is bounded: past `queue_limit` waiting items, `submit` raises
OverloadedError at once.

A request that is cancelled while it waits (its client went away) takes its items out of the queue: they
cost no forward pass. One that waits past `timeout_s` gets ModelTimeoutError (a hung forward pass);
a forward pass that raises gives each of its requests ModelFailedError, and the worker goes on.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tp.errors import TpError
from tp.serving.errors import ModelFailedError, ModelTimeoutError, OverloadedError

T = TypeVar("T")
R = TypeVar("R")
log = logging.getLogger("tp.serving")


@dataclass
class _Job:
    future: asyncio.Future
    loop: asyncio.AbstractEventLoop
    item: Any = None
    solo: Callable[[], Any] | None = None  # set for a job that runs by itself, not in a batch
    enqueued: float = 0.0  # time.perf_counter() when queued
    started: float = 0.0  # when its batch began to run
    seconds: float = 0.0  # how long its batch ran


@dataclass
class Timing:
    """Where one request's time went (seconds): waiting for a batch (its slowest item), and running in one
    (its batches' time, each counted once). Filled in by `submit` and `run_solo` when passed."""

    queue_s: float = 0.0
    inference_s: float = 0.0

    def add(self, jobs: list[_Job]) -> None:
        self.queue_s = max(job.started - job.enqueued for job in jobs)
        self.inference_s = sum({job.started: job.seconds for job in jobs}.values())


def _resolve(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.done():  # the client went away and its request was cancelled
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class BatcherEvents:
    """What a MicroBatcher reports, called from its worker threads or the event loop (no-ops here; the server's
    telemetry counts them)."""

    def batch(self, size: int, seconds: float, results: list[Any]) -> None:
        """A batch ran (`results` is empty when it failed)."""

    def depth(self, depth: int) -> None:
        """Items now waiting."""

    def dropped(self, count: int) -> None:
        """Items of cancelled (or timed-out) requests left out of every batch: no forward pass for them."""

    def request(self, timing: Timing) -> None:
        """A request was answered."""

    def rejected(self) -> None:
        """A request was refused: the queue was full."""

    def failed(self) -> None:
        """A batch or solo job raised."""

    def timed_out(self) -> None:
        """A request waited past timeout_s."""


class MicroBatcher(Generic[T, R]):
    """Group items submitted from many coroutines into batches run by one worker thread."""

    def __init__(self, run_batch: Callable[[list[T]], list[R]], max_batch_size: int = 32,
                 max_wait_s: float = 0.005, queue_limit: int = 256, name: str = "model",
                 events: BatcherEvents | None = None, workers: int = 1, timeout_s: float | None = None) -> None:
        if max_batch_size < 1 or queue_limit < 1 or max_wait_s < 0 or workers < 1:
            raise ValueError("max_batch_size, queue_limit and workers should be >= 1 and max_wait_s >= 0")
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError("timeout_s should be > 0 (or None: no limit)")
        self.run_batch = run_batch
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.queue_limit = queue_limit
        self.name = name
        self.workers = workers
        self.timeout_s = timeout_s
        self.events = events or BatcherEvents()
        self._queue: deque[_Job] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._idle = 0  # workers waiting for work (inside _next_batch)
        self._running = 0  # items in the batches being run
        self._seconds_per_item = 0.05  # running estimate, for Retry-After
        self._running_since: dict[int, float] = {}  # worker thread id -> when its batch (or solo job) began
        self._threads = [threading.Thread(target=self._work, name=f"tp-batcher-{name}-{index}", daemon=True)
                         for index in range(workers)]

    def longest_running_s(self) -> float:
        """How long the oldest batch (or solo job) in flight has been running, in seconds (0 when none): a
        forward pass that hangs shows here."""
        now = time.monotonic()
        return max((now - began for began in list(self._running_since.values())), default=0.0)

    @property
    def depth(self) -> int:
        """Items waiting (not counting the batch being run)."""
        return len(self._queue)

    def start(self) -> MicroBatcher[T, R]:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the jobs already queued, then end the worker threads."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)

    async def submit(self, items: list[T], timing: Timing | None = None) -> list[R]:
        """Results for `items`, in order, computed in batches shared with other requests."""
        if not items:
            return []
        loop = asyncio.get_running_loop()
        jobs = [_Job(loop.create_future(), loop, item=item) for item in items]
        return list(await self._wait(jobs, timing))

    async def run_solo(self, fn: Callable[[], R], timing: Timing | None = None) -> R:
        """Run `fn` by itself in a worker thread (it counts as one item against the queue limit)."""
        loop = asyncio.get_running_loop()
        job = _Job(loop.create_future(), loop, solo=fn)
        (result,) = await self._wait([job], timing)
        return result

    async def _wait(self, jobs: list[_Job], timing: Timing | None) -> list[Any]:
        """Queue `jobs` and wait for their results. Cancelled (the client went away) or past `timeout_s`,
        the jobs still waiting leave the queue: nobody would read what they compute."""
        self._enqueue(jobs)
        try:
            async with asyncio.timeout(self.timeout_s):
                results = await asyncio.gather(*(job.future for job in jobs))
        except TimeoutError:
            self._withdraw(jobs)
            self.events.timed_out()
            raise ModelTimeoutError(
                f"Model {self.name!r} did not answer within {self.timeout_s:g} s (TP_REQUEST_TIMEOUT_S): its "
                f"forward pass is stuck or the queue is too long ({len(self._queue)} inputs waiting). Retry later; "
                "if it keeps happening, the server log says which model and batch.") from None
        except asyncio.CancelledError:
            self._withdraw(jobs)
            raise
        timed = timing if timing is not None else Timing()
        timed.add(jobs)
        self.events.request(timed)
        return results

    def _withdraw(self, jobs: list[_Job]) -> None:
        """Take `jobs` that no batch has taken yet out of the queue, and count them as dropped."""
        with self._cond:
            waiting = {id(job) for job in jobs}
            kept = [job for job in self._queue if id(job) not in waiting]
            dropped = len(self._queue) - len(kept)
            if dropped:
                self._queue = deque(kept)
                self.events.depth(len(self._queue))
        for job in jobs:
            job.future.cancel()  # a job already in a batch: its result will be dropped
        if dropped:
            self.events.dropped(dropped)

    def _enqueue(self, jobs: list[_Job]) -> None:
        with self._cond:
            if self._stopping:
                raise OverloadedError(f"Model {self.name!r} is shutting down: retry on another replica.")
            now = time.perf_counter()
            for job in jobs:
                job.enqueued = now
            if len(self._queue) + len(jobs) > self.queue_limit:
                wait = math.ceil(len(self._queue) * self._seconds_per_item)
                self.events.rejected()
                raise OverloadedError(
                    f"Model {self.name!r} is busy: {len(self._queue)} inputs are waiting (limit "
                    f"{self.queue_limit}). Retry after the Retry-After delay, or send fewer inputs at once.",
                    retry_after=wait)
            self._queue.extend(jobs)
            self.events.depth(len(self._queue))
            self._cond.notify()

    def _next_batch(self) -> list[_Job] | None:
        """Block until there is work; return one solo job or a batch of items.

        A batch takes at most its fair share of the work outstanding, ceil((waiting + running elsewhere) /
        workers), so that workers split a burst: counting only the waiting items, a worker freed while the other
        ran one item took the other 31 of 32 clients' requests, and the two then stayed at 31 and 1 (batches of
        3.4 on average, 80 texts/s, against 16 and 16, 120 texts/s: bf16, 2 workers, 256 tokens). It waits up to
        max_wait_s to fill only while no other worker is idle.
        """
        with self._cond:
            self._idle += 1
            try:
                while not self._queue:
                    if self._stopping:
                        return None
                    self._cond.wait()
                batch = [self._queue.popleft()]
                deadline = time.monotonic() + self.max_wait_s
                while batch[0].solo is None and len(batch) < self.max_batch_size:
                    share = math.ceil((len(batch) + len(self._queue) + self._running) / self.workers)
                    if self._queue and (self._queue[0].solo is not None or len(batch) >= share):
                        break  # the rest is for the next batch (or a solo job, which runs next)
                    if self._queue:
                        batch.append(self._queue.popleft())
                        continue
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._stopping or self._idle > 1:
                        break
                    self._cond.wait(remaining)
                if self._queue:
                    self._cond.notify()  # what is left is another worker's
                self.events.depth(len(self._queue))
                self._running += len(batch)
                return batch
            finally:
                self._idle -= 1

    def _work(self) -> None:
        while (batch := self._next_batch()) is not None:
            live = [job for job in batch if not job.future.cancelled()]  # cancelled as the batch formed
            if len(live) < len(batch):
                self.events.dropped(len(batch) - len(live))
            if live:
                self._running_since[threading.get_ident()] = time.monotonic()
                try:
                    self._run(live)
                finally:
                    del self._running_since[threading.get_ident()]
            with self._cond:
                self._running -= len(batch)

    def _run(self, live: list[_Job]) -> None:
        """Run one batch (or solo job) and hand each result, or the error, to its waiting request."""
        start = time.perf_counter()
        results: list[Any] = []
        error: BaseException | None = None
        try:
            if live[0].solo is not None:
                results = [live[0].solo()]
            else:
                results = list(self.run_batch([job.item for job in live]))
                if len(results) != len(live):
                    raise RuntimeError(f"run_batch returned {len(results)} results for {len(live)} items")
        except TpError as exc:  # tp's own errors say what they are (an input the model cannot take, ...)
            error = exc
        except Exception as exc:  # delivered to each waiting request; the worker keeps going
            what = "an explanation" if live[0].solo is not None else f"a batch of {len(live)} inputs"
            log.exception("Model %r failed on %s", self.name, what)
            self.events.failed()
            error = ModelFailedError(f"Model {self.name!r} failed on {what} ({type(exc).__name__}: {exc}); the "
                                     "server goes on serving. Retry; if it fails again, the server log has the "
                                     "traceback.")
            results = []
        seconds = time.perf_counter() - start
        if live[0].solo is None:
            self.events.batch(len(live), seconds, results)
            self._seconds_per_item = 0.8 * self._seconds_per_item + 0.2 * seconds / len(live)
        for index, job in enumerate(live):
            job.started, job.seconds = start, seconds
            result = None if error is not None else results[index]
            try:
                job.loop.call_soon_threadsafe(_resolve, job.future, result, error)
            except RuntimeError:  # that event loop has closed (server shutting down)
                continue

"""The micro-batcher when requests go away, hang or fail: dropped inputs cost no forward pass, a timeout
frees the request, and each event is reported."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tp.serving.batcher import BatcherEvents, MicroBatcher, Timing
from tp.serving.errors import ModelTimeoutError


class Recorder(BatcherEvents):
    def __init__(self) -> None:
        self.dropped_items, self.timeouts, self.failures, self.requests = 0, 0, 0, []

    def dropped(self, count: int) -> None:
        self.dropped_items += count

    def timed_out(self) -> None:
        self.timeouts += 1

    def failed(self) -> None:
        self.failures += 1

    def request(self, timing: Timing) -> None:
        self.requests.append(timing)


def held_batches() -> tuple[list[list[int]], threading.Event, threading.Event, object]:
    """A run_batch that records its batches and holds the first until released."""
    seen: list[list[int]] = []
    started, release = threading.Event(), threading.Event()

    def run(items: list[int]) -> list[int]:
        seen.append(list(items))
        started.set()
        release.wait(10)
        return items
    return seen, started, release, run


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached"
        await asyncio.sleep(0.002)


def test_cancelled_requests_leave_the_queue_and_cost_no_forward_pass() -> None:
    seen, started, release, run = held_batches()
    events = Recorder()
    batcher = MicroBatcher(run, max_batch_size=8, max_wait_s=0, queue_limit=64, events=events).start()

    async def main() -> None:
        first = asyncio.ensure_future(batcher.submit([0]))
        await until(started.is_set)  # the worker is busy with item 0
        gone = [asyncio.ensure_future(batcher.submit([i, i + 100])) for i in range(1, 6)]
        kept = asyncio.ensure_future(batcher.submit([7]))
        await until(lambda: batcher.depth == 11)
        for task in gone:
            task.cancel()
        await asyncio.gather(*gone, return_exceptions=True)
        assert batcher.depth == 1 and events.dropped_items == 10  # out of the queue at once
        release.set()
        assert await first == [0] and await kept == [7]

    try:
        asyncio.run(main())
    finally:
        release.set()
        batcher.stop()
    assert seen == [[0], [7]]  # none of the cancelled items reached a forward pass
    assert len(events.requests) == 2


def test_a_hung_forward_pass_times_out_and_the_late_result_is_dropped() -> None:
    seen, started, release, run = held_batches()
    events = Recorder()
    batcher = MicroBatcher(run, max_batch_size=8, max_wait_s=0, queue_limit=64, events=events, timeout_s=0.2,
                           name="stuck").start()

    async def main() -> None:
        with pytest.raises(ModelTimeoutError, match=r"'stuck' did not answer within 0.2 s \(TP_REQUEST_TIMEOUT_S"):
            await batcher.submit([1])
        with pytest.raises(ModelTimeoutError):  # queued behind the hung batch: out of the queue when it times out
            await batcher.submit([2])
        assert batcher.depth == 0
        release.set()
        assert await batcher.submit([3]) == [3]  # the worker is back

    try:
        asyncio.run(main())
    finally:
        release.set()
        batcher.stop()
    assert events.timeouts == 2 and events.dropped_items == 1 and [3] in seen and [2] not in seen


def test_timing_says_where_the_time_went() -> None:
    seen, started, release, run = held_batches()
    batcher = MicroBatcher(run, max_batch_size=8, max_wait_s=0, queue_limit=64).start()

    async def main() -> tuple[Timing, Timing]:
        first_timing, second_timing = Timing(), Timing()
        first = asyncio.ensure_future(batcher.submit([1], first_timing))
        await until(started.is_set)
        second = asyncio.ensure_future(batcher.submit([2], second_timing))
        await until(lambda: batcher.depth == 1)
        await asyncio.sleep(0.1)
        release.set()
        await asyncio.gather(first, second)
        return first_timing, second_timing

    try:
        first, second = asyncio.run(main())
    finally:
        release.set()
        batcher.stop()
    assert first.queue_s < 0.05 and first.inference_s >= 0.1  # it ran while the second waited
    assert second.queue_s >= 0.1 and second.inference_s < first.inference_s

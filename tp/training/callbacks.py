"""Trainer callbacks of a tp run: training time kept across resumes, a deadline (the search's time budget), and
live progress for whoever watches the run (the app's training jobs: TP_PROGRESS_FILE)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def timing_callback(work: Path, previous: float) -> Any:
    """Keeps training seconds across resumes (saved with each checkpoint) and times optimizer steps."""
    from transformers import TrainerCallback

    class TimingCallback(TrainerCallback):
        def __init__(self) -> None:
            self.start = time.perf_counter()
            self.step_started = 0.0
            self.step_seconds: list[float] = []

        def seconds(self) -> float:
            return previous + time.perf_counter() - self.start

        def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.step_started = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.step_seconds.append(time.perf_counter() - self.step_started)

        def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                (work / "elapsed.json").write_text(json.dumps({"seconds": self.seconds()}))

    return TimingCallback()


def deadline_callback(deadline: float) -> Any:
    """Stops training (after an evaluation, so the best checkpoint so far is kept) once time.monotonic() passes
    `deadline`: a search trial started near the end of the budget ends with what it has learned."""
    from transformers import TrainerCallback

    class DeadlineCallback(TrainerCallback):
        stopped = False

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if time.monotonic() >= deadline and state.global_step > 0:
                self.stopped = True
                control.should_evaluate = control.should_save = control.should_training_stop = True

    return DeadlineCallback()


PROGRESS_ENV = "TP_PROGRESS_FILE"  # where a run writes its progress, when set (the app's jobs set it)


def progress_callback(path: Path, every_s: float = 1.0) -> Any:
    """Writes `path` (atomically) with the step, the planned steps, the epoch and the log history (losses and
    validation metrics): at each log and evaluation, and after a step at most every `every_s` seconds."""
    from transformers import TrainerCallback

    from tp.files import write_json

    class ProgressCallback(TrainerCallback):
        written = 0.0

        def write(self, state: Any, phase: str) -> None:
            self.written = time.monotonic()
            write_json(path, {"phase": phase, "step": state.global_step, "max_steps": state.max_steps,
                              "epoch": state.epoch, "log_history": state.log_history})

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                self.write(state, "training")

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero and time.monotonic() - self.written >= every_s:
                self.write(state, "training")

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                self.write(state, "training")

        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.is_world_process_zero:
                self.write(state, "testing and saving")

    return ProgressCallback()

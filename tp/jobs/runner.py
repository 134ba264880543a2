"""Runs jobs one at a time, each `tp train` in its own process: a new session (so cancel ends the whole group),
fewer threads and a lower priority than the server, ended when the server stops (or dies), and ended past
TP_JOB_MAX_MINUTES. A job's crash is its own: the server records it and goes on."""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tp.jobs.store import ACTIVE, RUN_NAME, JobStore, resume_command
from tp.serving.errors import ConflictError

log = logging.getLogger("tp.jobs")
GRACE_S = 10.0  # after SIGTERM, how long a job has to exit before SIGKILL


def _child_setup() -> None:
    """In the job's process before it runs: a lower priority, and death with the server (Linux)."""
    os.nice(5)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def job_env(folder: Path, threads: int) -> dict[str, str]:
    from tp.training.callbacks import PROGRESS_ENV

    env = {key: value for key, value in os.environ.items() if not key.startswith("TP_")}  # no server settings
    return {**env, PROGRESS_ENV: str(folder / "progress.json"), "PYTHONUNBUFFERED": "1",
            "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false",
            "TQDM_DISABLE": "1"}  # progress bars are redrawn in place: noise in a log file; progress.json has it


def last_error(log_path: Path) -> str:
    """The last line of a failed job's log that says what went wrong."""
    try:
        lines = [line.strip() for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return "the job's log is missing"
    for line in reversed(lines):
        if line.startswith("error:") or "Error:" in line or "Error " in line:
            return line
    return next((line for line in reversed(lines) if line), "no output")


class JobRunner:
    """The queue and the one process that runs now; `cancel` and `stop` end it."""

    def __init__(self, store: JobStore, threads: int, max_minutes: float,
                 on_done: Any = None) -> None:
        self.store, self.threads, self.max_s = store, threads, max_minutes * 60
        self.on_done = on_done  # called with the record of each job that ends
        self.pending: queue.Queue[str | None] = queue.Queue()
        self.waiting: list[str] = []
        self.current: tuple[str, subprocess.Popen] | None = None
        self.cancelled: set[str] = set()
        self.secrets: dict[str, dict[str, str]] = {}
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="tp-jobs", daemon=True)
        self.thread.start()

    @property
    def running(self) -> str | None:
        return self.current[0] if self.current else None

    def submit(self, job_id: str, secrets: dict[str, str] | None = None) -> None:
        """Queue a job; `secrets` (a Hub token) go to its process's environment, never to disk."""
        if secrets:
            self.secrets[job_id] = secrets
        self.waiting.append(job_id)
        self.pending.put(job_id)

    def _loop(self) -> None:
        while (job_id := self.pending.get()) is not None:
            if job_id in self.waiting:
                self.waiting.remove(job_id)
            if job_id in self.cancelled or self.stopping:
                self.secrets.pop(job_id, None)
                continue
            try:
                self._run(job_id)
            except Exception:  # a job's failure is recorded; the runner goes on with the next one
                log.exception("Job %s could not run", job_id)
                self.store.update(job_id, state="failed", ended=time.time(), pid=None,
                                  message="The job could not start; the server log has the details.")

    def _run(self, job_id: str) -> None:
        folder = self.store.folder(job_id)
        command = json.loads((folder / "command.json").read_text(encoding="utf-8"))
        with (folder / "log.txt").open("ab") as output:
            process = subprocess.Popen(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL,
                                       env={**job_env(folder, self.threads), **self.secrets.pop(job_id, {})},
                                       start_new_session=True, preexec_fn=_child_setup)
        self.current = (job_id, process)
        self.store.update(job_id, state="running", started=time.time(), pid=process.pid)
        if job_id in self.cancelled:  # cancelled while its process was starting
            self._end(process)
        log.info("Job %s started (pid %d)", job_id, process.pid)
        try:
            code = process.wait(timeout=self.max_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            self._end(process)
            code, timed_out = process.returncode, True
        self.current = None
        self._record_end(job_id, code, timed_out)

    def _record_end(self, job_id: str, code: int | None, timed_out: bool) -> None:
        folder = self.store.folder(job_id)
        ended = {"ended": time.time(), "pid": None}
        if self.stopping and job_id not in self.cancelled:
            record = self.store.update(job_id, state="interrupted", **ended,
                                       message="The server stopped while this job ran. Its checkpoints are kept: "
                                               f"`{resume_command(folder)}` continues it.")
        elif job_id in self.cancelled:
            self.store.remove_partial(job_id)
            record = self.store.update(job_id, state="cancelled", **ended, message="Cancelled; its files are removed.")
        elif timed_out:
            self.store.remove_partial(job_id)
            record = self.store.update(job_id, state="failed", **ended,
                                       message=f"Ended after {self.max_s / 60:g} minutes (TP_JOB_MAX_MINUTES): "
                                               "train for fewer epochs or steps, or raise the limit.")
        elif code == 0 and (self.store.get(job_id).get("kind", "train") != "train"
                            or (folder / RUN_NAME / "metrics.json").is_file()):
            record = self.store.update(job_id, state="succeeded", **ended, message=None)
        else:
            self.store.remove_partial(job_id)
            record = self.store.update(job_id, state="failed", **ended,
                                       message=f"tp train exited with {code}: {last_error(folder / 'log.txt')}")
        log.info("Job %s %s", job_id, record["state"])
        if self.on_done is not None:
            self.on_done(record)

    @staticmethod
    def _end(process: subprocess.Popen) -> None:
        """SIGTERM to the job's whole process group, SIGKILL after GRACE_S."""
        for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, None)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                return
            try:
                process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a queued job, or end a running one (its partial folder is removed); 409 once it has ended."""
        record = self.store.get(job_id)
        if record["state"] not in ACTIVE:
            raise ConflictError(f"Job {job_id} has already ended ({record['state']}): there is nothing to cancel.")
        self.cancelled.add(job_id)
        current = self.current
        if current is not None and current[0] == job_id:
            self._end(current[1])
            for _ in range(100):  # the runner thread records the end
                if self.store.get(job_id)["state"] != "running":
                    break
                time.sleep(0.05)
            return self.store.get(job_id)
        if job_id in self.waiting:
            self.waiting.remove(job_id)
        return self.store.update(job_id, state="cancelled", ended=time.time(), message="Cancelled before it started.")

    def stop(self) -> None:
        """End the running job (recorded as interrupted, resumable) and the runner; queued jobs stay queued, and
        the next server marks them interrupted."""
        self.stopping = True
        current = self.current
        if current is not None:
            self._end(current[1])
        self.pending.put(None)
        self.thread.join(timeout=GRACE_S + 5)

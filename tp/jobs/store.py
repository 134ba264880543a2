"""Training jobs on disk: one folder per job under TP_JOBS_DIR, named by an id tp makes, holding job.json (the
record, written atomically), the upload, log.txt, progress.json and the run folder once the job succeeds.

A server that starts and finds a job recorded as queued or running that no process of its own runs marks
it `interrupted`: its checkpoints stay, and `resume_command` continues it.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from tp.files import write_json
from tp.serving.errors import NotFoundError

JOB_ID = re.compile(r"^[0-9a-f]{12}$")
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "cancelled", "interrupted")
RUN_NAME = "run"  # the run folder of a job is <job>/run; while it trains, <job>/.run.partial


class JobStore:
    """Job records by id; every change is one atomic rewrite of the job's job.json."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.mark_orphans()

    def folder(self, job_id: str) -> Path:
        return self.root / job_id

    def new_id(self) -> str:
        while True:
            job_id = secrets.token_hex(6)
            if not self.folder(job_id).exists():
                return job_id

    def create(self, job_id: str, record: dict[str, Any]) -> dict[str, Any]:
        record = {"id": job_id, "state": "queued", "created": time.time(), "started": None, "ended": None,
                  "message": None, "served_as": None, "pid": None, **record}
        self.write(record)
        return record

    def write(self, record: dict[str, Any]) -> None:
        write_json(self.folder(record["id"]) / "job.json", record)

    def get(self, job_id: str) -> dict[str, Any]:
        """The record of `job_id`: 404 for an id that is malformed or unknown (never a path outside the root)."""
        path = self.folder(job_id) / "job.json" if JOB_ID.match(job_id) else None
        if path is None or not path.is_file():
            raise NotFoundError(f"No job {job_id!r}: GET /api/v1/jobs lists the jobs.")
        return json.loads(path.read_text(encoding="utf-8"))

    def update(self, job_id: str, **changes: Any) -> dict[str, Any]:
        with self.lock:
            record = {**self.get(job_id), **changes}
            self.write(record)
            return record

    def all(self) -> list[dict[str, Any]]:
        """Every job, newest first."""
        records = []
        for path in self.root.glob("*/job.json"):
            if JOB_ID.match(path.parent.name):
                try:
                    records.append(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    continue  # a folder being removed
        return sorted(records, key=lambda record: record["created"], reverse=True)

    def mark_orphans(self) -> None:
        """Jobs a server that has stopped left queued or running: interrupted, with the command that resumes them;
        models it served are no longer served. Another live server's jobs (same folder) are left alone."""
        for record in self.all():
            if record["state"] in ACTIVE and not alive(record.get("server")):
                was = record["state"]
                record.update(state="interrupted", ended=time.time(), pid=None,
                              message=f"The server stopped while this job was {was}. Its checkpoints are kept: "
                                      f"`{resume_command(self.folder(record['id']))}` continues it.")
                self.write(record)
            if record.get("served_as") and not alive(record.get("served_by")):
                record.update(served_as=None, served_by=None)
                self.write(record)

    def remove_partial(self, job_id: str) -> None:
        """The unfinished run folder of a job (cancelled or failed): checkpoints and all."""
        shutil.rmtree(self.folder(job_id) / f".{RUN_NAME}.partial", ignore_errors=True)
        shutil.rmtree(self.folder(job_id) / f".{RUN_NAME}.search", ignore_errors=True)


def resume_command(folder: Path) -> str:
    """The shell command that continues an interrupted job from its last checkpoint."""
    command = folder / "command.json"
    if not command.is_file():
        return f"tp train --config {folder / '.run.partial' / 'config.yaml'} --resume"
    args = [arg for arg in json.loads(command.read_text(encoding="utf-8")) if arg != "--overwrite"]
    if "--search" in args:
        return shlex.join(["tp", *args[args.index("train"):]]) + "  (a search starts over: there is no --resume)"
    return shlex.join(["tp", *args[args.index("train"):], "--resume"])


def process_identity(pid: int | None = None) -> str | None:
    """`pid:start-time` of a live process (this one by default), None for a process that is gone or a zombie:
    what a job records of its server, so a reused pid is never taken for the server that started the job."""
    pid = pid or os.getpid()
    stat = Path(f"/proc/{pid}/stat")
    if stat.is_file():
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return None if fields[0] in ("Z", "X") else f"{pid}:{fields[19]}"
    try:  # no /proc (macOS): existence only
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return f"{pid}:"


def alive(identity: str | None) -> bool:
    """Whether the process recorded as `identity` (process_identity()) still runs."""
    if not identity or ":" not in str(identity):
        return False
    pid, _, started = str(identity).partition(":")
    found = process_identity(int(pid))
    return found is not None and (not started or found == identity)

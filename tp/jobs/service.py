"""Training jobs as the app offers them (REST and the Gradio tab call the same methods): inspect an upload,
create a job from it, list and watch jobs, read a log, cancel, and serve a finished model without a restart."""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tp.errors import InputError
from tp.jobs.command import allowed_bases, job_overrides, job_threads, plan_lines, train_command
from tp.jobs.runner import JobRunner
from tp.jobs.schemas import (
    CompressRequest,
    CurvePoint,
    InspectResponse,
    JobPublic,
    JobRequest,
    JobsResponse,
    LogResponse,
    Progress,
    PushRequest,
)
from tp.jobs.store import ACTIVE, RUN_NAME, JobStore, process_identity
from tp.jobs.uploads import data_source, inspect_source, save_upload, upload_suffix
from tp.serving.errors import ConflictError

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CURVE_KEYS = ("loss", "eval_loss", "eval_accuracy", "eval_macro_f1")


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def curve_points(log_history: list[dict[str, Any]]) -> list[CurvePoint]:
    """The Trainer's log entries that carry a loss or a validation metric (not the end-of-run summary)."""
    return [CurvePoint(**{"step": int(entry.get("step", 0)), "epoch": entry.get("epoch"),
                          **{key: entry[key] for key in CURVE_KEYS if key in entry}})
            for entry in log_history if any(key in entry for key in CURVE_KEYS)]


def task_options(request: JobRequest | None) -> dict[str, Any]:
    """What the data is read as (`tp train`'s data.task, data.text_pair_column, data.label_separator)."""
    if request is None:
        return {}
    return {"task": request.task, "text_pair_column": request.text_pair_column,
            "label_separator": request.label_separator}


class JobService:
    """The jobs folder, its runner, and the registry new models are served from."""

    def __init__(self, settings: Any, registry: Any) -> None:
        self.settings, self.registry = settings, registry
        self.store = JobStore(settings.jobs_dir)
        self.runner = JobRunner(self.store, job_threads(settings.job_threads), settings.job_max_minutes)

    # before a job: what the upload holds, and what tp would do with it
    def inspect(self, chunks: Iterable[bytes], filename: str | None, request: JobRequest | None = None,
                text_column: str | None = None, label_column: str | None = None) -> InspectResponse:
        """Columns, preview, label counts and baselines of an upload (and the plan, with settings); nothing kept."""
        folder = Path(tempfile.mkdtemp(prefix=".inspect-", dir=self.store.root))
        try:
            source = self._save(chunks, filename, folder)
            if request is not None:  # the columns `settings` names, unless the form fields name others
                text_column, label_column = text_column or request.text_column, label_column or request.label_column
            found = inspect_source(source, text_column, label_column, self.settings.max_upload_rows,
                                   **task_options(request))
            if request is not None and found["splits"]:
                request = request.model_copy(update={"text_column": found["text_column"] or request.text_column,
                                                     "label_column": found["label_column"]})
                found["plan"] = self._plan(request, source, found, folder)[1]
            return InspectResponse(**found)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _save(self, chunks: Iterable[bytes], filename: str | None, folder: Path) -> Path:
        upload = save_upload(chunks, folder, upload_suffix(filename), self.settings.max_upload_bytes)
        return data_source(upload, self.settings.max_upload_bytes)

    def _plan(self, request: JobRequest, source: Path, found: dict[str, Any], folder: Path) -> tuple[list[str], list]:
        overrides = job_overrides(request, source, found["task"], folder, self.runner.threads,
                                  self.settings.training_models)
        return overrides, plan_lines(overrides, found["splits"]["train"], len(found["label_counts"] or [0]),
                                     problem=found["problem"])

    # a job
    def create(self, chunks: Iterable[bytes], filename: str | None, request: JobRequest) -> JobPublic:
        """Check the upload and the settings as `tp train` would (columns, labels, two classes, base model), then
        queue the job; on any problem the job's folder is removed and the error says what to fix."""
        job_id = self.store.new_id()
        folder = self.store.folder(job_id)
        try:
            source = self._save(chunks, filename, folder)
            found = inspect_source(source, None if source.is_dir() else request.text_column, request.label_column,
                                   self.settings.max_upload_rows, **task_options(request))
            if not found["splits"]:
                missing = "label_column" if found["label_column"] is None else "text_column"
                raise InputError(f"Say which column holds the {missing.split('_')[0]}s: set `{missing}` to one of "
                                 f"{', '.join(found['columns'])}.")
            request = request.model_copy(update={"text_column": found["text_column"],
                                                 "label_column": found["label_column"]})
            overrides, plan = self._plan(request, source, found, folder)
            command = train_command(request, overrides)
            (folder / "command.json").write_text(json.dumps(command), encoding="utf-8")
            record = self.store.create(job_id, {
                "name": request.name or f"job-{job_id}", "filename": Path(filename or "upload").name[:200],
                "task": found["task"], "rows": found["rows"], "settings": request.model_dump(), "command": command,
                "plan": plan, "baselines": found["baselines"], "server": process_identity()})
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        self.runner.submit(job_id)
        return self.public(record)

    def public(self, record: dict[str, Any]) -> JobPublic:
        folder = self.store.folder(record["id"])
        progress = read_json(folder / "progress.json")
        state = record["state"]
        phase = {"queued": "queued", "succeeded": "done"}.get(state, progress.get("phase", "starting")
                                                              if state == "running" else state)
        step, planned = int(progress.get("step") or 0), int(progress.get("max_steps") or 0)
        metrics, warnings, baselines = None, [], record.get("baselines")
        if state == "succeeded" and record.get("kind", "train") == "train":
            from tp.evaluation.skill_check import warning_lines

            values = read_json(folder / RUN_NAME / "metrics.json")
            metrics = {key: values[key] for key in ("test_accuracy", "test_macro_f1", "train_seconds") if key in values}
            warnings = warning_lines(values.get("warnings"))
            baselines = {name: {k: scores[k] for k in ("accuracy", "macro_f1", "description")}
                         for name, scores in (values.get("baselines") or {}).items()} or baselines
        waiting = self.runner.waiting
        return JobPublic(
            **{key: record[key] for key in ("id", "name", "state", "created", "started", "ended", "message",
                                            "filename", "task", "rows", "command", "plan", "served_as")},
            kind=record.get("kind", "train"), parent=record.get("parent"),
            settings=JobRequest(**record["settings"]), baselines=baselines, metrics=metrics, warnings=warnings,
            queue_position=waiting.index(record["id"]) if record["id"] in waiting else None,
            progress=Progress(phase=phase, step=step, max_steps=planned, epoch=progress.get("epoch"),
                              fraction=1.0 if state == "succeeded" else min(1.0, step / planned) if planned else 0.0),
            curves=curve_points(progress.get("log_history") or []))

    def get(self, job_id: str) -> JobPublic:
        return self.public(self.store.get(job_id))

    def all(self) -> JobsResponse:
        s = self.settings
        return JobsResponse(jobs=[self.public(record) for record in self.store.all()], running=self.runner.running,
                            queued=list(self.runner.waiting), bases=allowed_bases(s.training_models),
                            limits={"max_upload_bytes": s.max_upload_bytes, "max_upload_rows": s.max_upload_rows,
                                    "job_max_minutes": s.job_max_minutes, "job_threads": self.runner.threads})

    def log(self, job_id: str, tail: int = 200) -> LogResponse:
        self.store.get(job_id)  # 404 for an unknown job
        path = self.store.folder(job_id) / "log.txt"
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else []
        # progress bars redraw with \r (their last state is kept) and colour with ANSI escapes (dropped)
        lines = [ANSI.sub("", line.rsplit("\r", 1)[-1]) for line in lines]
        return LogResponse(lines=lines[-tail:], total_lines=len(lines))

    def cancel(self, job_id: str) -> JobPublic:
        return self.public(self.runner.cancel(job_id))

    def serve(self, job_id: str, name: str | None = None) -> JobPublic:
        """Load a succeeded job's model into the running registry (blocking: call it off the event loop)."""
        from tp.serving.settings import ModelSpec

        record = self.store.get(job_id)
        if record["state"] != "succeeded" or record.get("kind", "train") != "train":
            raise ConflictError(f"Job {job_id} is a {record.get('kind', 'train')} job that is {record['state']}: only "
                                "a training job that succeeded can be served.")
        if record.get("served_as"):
            raise ConflictError(f"Job {job_id} is already served as {record['served_as']!r}.")
        name = name or record["name"]
        if name in self.registry.names:
            raise ConflictError(f"A model called {name!r} is already served: give another name.")
        folder = self.store.folder(job_id) / RUN_NAME
        if not folder.is_dir():
            raise InputError(f"Job {job_id}'s run folder is gone: train it again.")
        self.registry.add(ModelSpec(name, str(folder), True))
        return self.public(self.store.update(job_id, served_as=name, served_by=process_identity()))

    def resume(self, job_id: str) -> JobPublic:
        """Queue an interrupted training job again, to continue from its last checkpoint (`tp train --resume`)."""
        record = self.store.get(job_id)
        if record["state"] != "interrupted" or record.get("kind", "train") != "train":
            raise ConflictError(f"Job {job_id} is {record['state']}: only an interrupted training job resumes.")
        command = [arg for arg in record["command"] if arg != "--resume"]
        if "--search" not in command:  # a search starts over
            command.append("--resume")
        (self.store.folder(job_id) / "command.json").write_text(json.dumps(command), encoding="utf-8")
        record = self.store.update(job_id, state="queued", command=command, ended=None, message=None,
                                   server=process_identity())
        self.runner.submit(job_id)
        return self.public(record)

    # actions on the model a training job made, each a job of its own in the same queue
    def _action(self, parent_id: str, kind: str, arguments: Any, secrets: dict[str, str] | None = None) -> JobPublic:
        parent = self.store.get(parent_id)
        if parent.get("kind", "train") != "train" or parent["state"] != "succeeded":
            raise ConflictError(f"Job {parent_id} is a {parent.get('kind', 'train')} job that is {parent['state']}: "
                                f"only the model of a training job that succeeded can be {kind}ed.")
        busy = [r["id"] for r in self.store.all() if r.get("parent") == parent_id and r["state"] in ACTIVE]
        if busy:
            raise ConflictError(f"Job {busy[0]} is already working on this model: wait for it, or cancel it.")
        job_id = self.store.new_id()
        folder = self.store.folder(job_id)
        folder.mkdir(parents=True)
        command = [sys.executable, "-m", "tp", "optimize" if kind == "compress" else kind,
                   str(self.store.folder(parent_id) / RUN_NAME), *arguments(folder)]
        (folder / "command.json").write_text(json.dumps(command), encoding="utf-8")
        record = self.store.create(job_id, {
            "kind": kind, "parent": parent_id, "name": f"{parent['name']} ({kind})", "filename": parent["filename"],
            "task": parent["task"], "rows": parent["rows"], "settings": parent["settings"], "command": command,
            "plan": [], "baselines": None, "server": process_identity()})
        self.runner.submit(job_id, secrets)
        return self.public(record)

    def compress(self, job_id: str, request: CompressRequest) -> JobPublic:
        """The compression lab (`tp optimize`) on a finished job's model: variants under its run folder, each gated."""
        return self._action(job_id, "compress", lambda folder: [
            "--methods", request.methods, "--max-drop", str(request.max_drop), "--threads", str(self.runner.threads),
            "--no-memory"])

    def push(self, job_id: str, request: PushRequest) -> JobPublic:
        """`tp push` of a finished job's model: a dry run into the push job's folder unless `dry_run` is false. The
        token goes to the job's process environment only (never to its command, record or log)."""
        def arguments(folder: Path) -> list[str]:
            return ["--repo-id", request.repo_id, *(["--private"] if request.private else []),
                    *(["--force"] if request.force else []),
                    *(["--dry-run", str(folder / "publish")] if request.dry_run else [])]
        return self._action(job_id, "push", arguments, {"HF_TOKEN": request.token} if request.token else None)

    def close(self) -> None:
        self.runner.stop()

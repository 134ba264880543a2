"""What a job runs: the request turned into recipe overrides, the `tp train` command line made of them, and the
plan a person sees before starting (tp's choices and the memory plan), from the same overrides."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from tp.errors import InputError
from tp.jobs.schemas import JobRequest
from tp.jobs.store import RUN_NAME
from tp.sources import HUB_ID, hub_offline

BUILTIN_BASES = {"text": {"minilm": "builtin:minilm"}, "image": {"vit-tiny": "builtin:vit-tiny"}}


def allowed_bases(training_models: str | None) -> dict[str, str]:
    """Base models a job may start from, by the name a client picks: the built-in ones, then TP_TRAINING_MODELS."""
    bases = {name: source for task in BUILTIN_BASES.values() for name, source in task.items()}
    for entry in (training_models or "").split(","):
        name, _, folder = entry.strip().partition("=")
        if name and folder:
            bases[name.strip()] = str(Path(folder.strip()).expanduser().resolve())
    return bases


def resolve_base(name: str | None, task: str, training_models: str | None) -> str:
    """The model source for `name` (None: the task's built-in default); a Hub id only when online."""
    if name is None:
        return next(iter(BUILTIN_BASES[task].values()))
    bases = allowed_bases(training_models)
    if name in bases:
        return bases[name]
    offline = hub_offline()
    if HUB_ID.match(name) and "/" in name and not offline:
        return name
    why = " (a Hub id is taken only when the server is online; it runs with HF_HUB_OFFLINE=1)" if offline else ""
    raise InputError(f"base_model {name!r} is not one this server trains{why}: pick one of {', '.join(bases)}.")


def job_overrides(request: JobRequest, source: Path, task: str, folder: Path, threads: int,
                  training_models: str | None) -> list[str]:
    """The recipe of a job, as `--set` overrides on tp's defaults (what `tp train` and the plan both read)."""
    values: dict[str, Any] = {
        "name": RUN_NAME, "output_dir": str(folder), "data.source": str(source),
        "data.label_column": request.label_column, "model.source": resolve_base(request.base_model, task,
                                                                                training_models),
        "method.name": request.method, "training.cpu_threads": threads,
    }
    if task == "text" and request.text_column:
        values["data.text_column"] = request.text_column
    for key, value in (("data.text_pair_column", request.text_pair_column),
                       ("data.label_separator", request.label_separator)):
        if task == "text" and value is not None:
            values[key] = value
    if request.task != "auto":
        values["data.task"] = request.task
    for key, value in (("training.epochs", request.epochs), ("training.max_steps", request.max_steps),
                       ("model.max_length", request.max_length)):
        if value is not None:
            values[key] = value
    return [f"{key}={json.dumps(value)}" for key, value in values.items()]


def train_command(request: JobRequest, overrides: list[str]) -> list[str]:
    """`python -m tp train --set ...` (plus the search when asked): the same command a person would type."""
    command = [sys.executable, "-m", "tp", "train"]
    for override in overrides:
        command += ["--set", override]
    if request.search_trials:
        command += ["--search", str(request.search_trials)]
        if request.time_budget_minutes:
            command += ["--time-budget", str(request.time_budget_minutes)]
    return command


def job_threads(configured: int | None) -> int:
    """torch threads of a job: as configured, else half the cores (at least 1), leaving the rest to serving."""
    return configured or max(1, (os.cpu_count() or 2) // 2)


def plan_lines(overrides: list[str], train_rows: int, num_labels: int, budget_gib: float = 8.0,
               problem: str | None = None) -> list[str]:
    """What tp's defaults will pick for this job (`problem`: its data.task, none for single-label), and whether
    it fits a GPU of `budget_gib` (as `tp train` prints before it starts)."""
    from tp.config import load_recipe
    from tp.tasks import problem_named
    from tp.training.defaults import resolve_recipe
    from tp.training.memory_plan import format_plan, plan_memory

    recipe = load_recipe(None, overrides)
    recipe, choices = resolve_recipe(recipe, train_rows, num_labels, budget_gib,
                                     problem_type=problem_named(problem).name)
    plan = plan_memory(recipe, budget_gib, num_labels=num_labels)
    fits = "fits" if plan.fits else "does not fit"
    summary = (f"{fits} in {budget_gib:g} GB of GPU memory: batch {plan.batch_size} x {plan.sequence_length} "
               f"tokens, {plan.precision}, {plan.method}, peak {plan.peak / 2**30:.2f} GiB")
    return [summary, *(f"tp chooses {line}" for line in choices), "", format_plan(plan)]

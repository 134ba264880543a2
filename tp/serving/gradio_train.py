"""The demo's Train tab (TP_TRAINING=true): upload a file, pick its columns, see the labels and the baselines, start
a job, watch it learn, cancel it, and serve the model it made. Every event calls the same JobService as the REST
routes, and has an `api_name` for gradio_client (`train_inspect`, `train_start`, `train_watch`, `train_cancel`,
`train_serve`, `train_compress`, `train_push`, `train_watch_action`, `train_latest`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import gradio as gr
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from tp.errors import TpError
from tp.jobs.command import allowed_bases
from tp.jobs.schemas import CompressRequest, JobPublic, JobRequest, PushRequest
from tp.jobs.service import JobService
from tp.jobs.store import ACTIVE, RUN_NAME
from tp.jobs.uploads import UPLOAD_SUFFIXES
from tp.serving.gradio_train_data import baselines_markdown, data_markdown, plan_markdown
from tp.tasks import IMAGE, PROBLEM_RECIPES

POLL_S = 2.0  # how often a watched job's state, curves and log are read again
METHODS = ["auto", "lora", "full", "head", "freeze"]
JOB_HEADERS = ["job", "served as", "state", "progress", "file"]
INTRO = ("Train a classifier on your own file: a table (CSV, TSV, JSON, JSONL, Parquet) with a text and a label "
         "column, or a .zip of class folders of images. tp shows the labels and the scores of simple baselines "
         "first, then trains with `tp train` in its own process (one job at a time) while this app keeps "
         "answering. When it is done, **Serve it** adds the model to every tab and to `/api/v1/models`; the model can "
         "also be compressed (with the accuracy gate) and pushed to the Hub (private, a dry run first).")


def _chunks(path: str) -> Any:
    with Path(path).open("rb") as file:
        yield from iter(lambda: file.read(1 << 20), b"")


def curves_frame(view: JobPublic) -> Any:
    import pandas as pd

    rows = [{"step": point.step, "value": value, "series": key.replace("eval_", "validation ")}
            for point in view.curves for key, value in point.model_dump().items()
            if key in ("loss", "eval_loss", "eval_macro_f1") and value is not None]
    return pd.DataFrame(rows, columns=["step", "value", "series"])


def status_markdown(view: JobPublic) -> str:
    progress = view.progress
    done = (f" - step {progress.step:,} of {progress.max_steps:,} ({progress.fraction:.0%})"
            if progress.max_steps else "")
    queued = f" - {view.queue_position} job(s) before it" if view.queue_position else ""
    phase = f", {progress.phase}" if view.state == "running" else ""
    lines = [f"**Job {view.id}** ({view.name}): **{view.state}**{phase}{done}{queued}"]
    if view.message:
        lines.append(f"> {view.message}")
    return "\n\n".join(lines)


def result_markdown(view: JobPublic) -> str:
    if view.state != "succeeded":
        return ""
    parts = [baselines_markdown(view.baselines, view.metrics)]
    if view.warnings:
        parts.insert(0, "\n".join(["> ## ⚠ This model has not learned its task" if any(
            w.startswith("NO SKILL") for w in view.warnings) else "> ### Note", ">", *(f"> - {w}" for w in
                                                                                        view.warnings)]))
    if view.served_as:
        parts.append(f"Served as **{view.served_as}**: pick it in the other tabs, or POST /api/v1/predict with "
                     f'`"model": "{view.served_as}"`.')
    return "\n\n".join(parts)


def jobs_rows(jobs: JobService) -> list[list[Any]]:
    return [[view.id, view.served_as or view.name, view.state, f"{view.progress.fraction:.0%}", view.filename]
            for view in jobs.all().jobs]


def train_tab(jobs: JobService, demo: gr.Blocks, pickers: list[tuple[gr.Dropdown, Any]]) -> None:
    """The tab's components and events, inside the caller's Blocks. `pickers`: the other tabs' model pickers, each
    with a function naming the models it offers now; a model a job serves joins their choices."""
    bases = list(allowed_bases(jobs.settings.training_models))

    def request(text: str | None, label: str | None, base: str | None, method: str, epochs: float | None,
                steps: float | None, search: bool, trials: float, budget: float | None, name: str | None,
                task: str | None = "auto", pair: str | None = None, separator: str | None = None) -> JobRequest:
        try:
            return JobRequest(text_column=text or None, label_column=label or None, base_model=base or None,
                              method=method, epochs=epochs or None, max_steps=int(steps) if steps else None,
                              search_trials=int(trials) if search else None,
                              time_budget_minutes=budget if search and budget else None, name=name or None,
                              task=task or "auto", text_pair_column=pair or None, label_separator=separator or None)
        except ValidationError as error:
            raise gr.Error("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())) from None

    async def inspect(path: str | None, text: str | None, label: str | None, *settings: Any) -> tuple[Any, ...]:
        if not path:
            return gr.update(choices=[], value=None), gr.update(choices=[], value=None), None, "", ""
        try:
            found = await run_in_threadpool(jobs.inspect, _chunks(path), Path(path).name,
                                            request(text, label, *settings), text, label)
        except TpError as error:
            raise gr.Error(str(error)) from None
        columns = found.columns
        preview = [[row.get(column) for column in columns] for row in found.preview]
        return (gr.update(choices=columns, value=found.text_column, interactive=found.task != IMAGE.name),
                gr.update(choices=columns, value=found.label_column), {"headers": columns, "data": preview},
                data_markdown(found), plan_markdown(found.plan))

    async def start(path: str | None, text: str | None, label: str | None, *settings: Any) -> tuple[str, str]:
        if not path:
            raise gr.Error("Upload a file first.")
        try:
            view = await run_in_threadpool(jobs.create, _chunks(path), Path(path).name, request(text, label, *settings))
        except TpError as error:
            raise gr.Error(str(error)) from None
        return view.id, status_markdown(view)

    async def watch(job_id: str | None) -> Any:
        """Yields the job's state, curves, log, result, confusion matrix and jobs list until it ends."""
        if not job_id:
            yield ("No job yet: upload a file and start one.", None, "", "", None,
                   *[gr.update(interactive=False)] * 3, await run_in_threadpool(jobs_rows, jobs))
            return
        while True:
            try:
                view = await run_in_threadpool(jobs.get, job_id)
                log = await run_in_threadpool(jobs.log, job_id, 40)
            except TpError as error:
                raise gr.Error(str(error)) from None
            matrix = jobs.store.folder(view.id) / RUN_NAME / "reports" / "confusion_matrix.png"
            yield (status_markdown(view), curves_frame(view), "\n".join(log.lines), result_markdown(view),
                   str(matrix) if view.state == "succeeded" and matrix.is_file() else None,
                   gr.update(interactive=view.state == "succeeded" and not view.served_as),
                   *[gr.update(interactive=view.state == "succeeded")] * 2,
                   await run_in_threadpool(jobs_rows, jobs))
            if view.state not in ACTIVE:
                return
            await asyncio.sleep(POLL_S)

    async def compress(job_id: str | None, methods: str, max_drop: float | None) -> str:
        try:
            order = CompressRequest(methods=methods.replace(" ", ""), max_drop=1.0 if max_drop is None else max_drop)
            return (await run_in_threadpool(jobs.compress, job_id or "", order)).id
        except ValidationError as error:
            raise gr.Error(f"Methods: {error.errors()[0]['msg']}") from None
        except TpError as error:
            raise gr.Error(str(error)) from None

    async def push(job_id: str | None, repo: str, token: str | None, private: bool, dry_run: bool,
                   force: bool) -> str:
        try:
            order = PushRequest(repo_id=repo.strip(), token=token or None, private=private, dry_run=dry_run,
                                force=force)
            return (await run_in_threadpool(jobs.push, job_id or "", order)).id
        except ValidationError as error:
            raise gr.Error(f"Repository: {error.errors()[0]['msg']} (write OWNER/NAME)") from None
        except TpError as error:
            raise gr.Error(str(error)) from None

    async def watch_action(action_id: str | None) -> Any:
        """A compress or push job's state and log until it ends; then the compression report, if any."""
        while action_id:
            view = await run_in_threadpool(jobs.get, action_id)
            log = await run_in_threadpool(jobs.log, action_id, 30)
            report = jobs.store.folder(view.parent or "") / RUN_NAME / "reports" / "compression.md"
            shown = report.read_text(encoding="utf-8") if view.kind == "compress" and view.state == "succeeded" \
                and report.is_file() else ""
            yield status_markdown(view), "\n".join(log.lines), shown
            if view.state not in ACTIVE:
                return
            await asyncio.sleep(POLL_S)

    async def cancel(job_id: str | None) -> str:
        if not job_id:
            raise gr.Error("There is no job to cancel.")
        try:
            return status_markdown(await run_in_threadpool(jobs.cancel, job_id))
        except TpError as error:
            raise gr.Error(str(error)) from None

    async def serve(job_id: str | None) -> tuple[Any, ...]:
        if not job_id:
            raise gr.Error("There is no finished job to serve.")
        try:
            view = await run_in_threadpool(jobs.serve, job_id)
        except TpError as error:
            raise gr.Error(str(error)) from None
        return (result_markdown(view), gr.update(interactive=False),
                *(gr.update(choices=names(), visible=len(names()) > 1) for _, names in pickers))

    def pick(event: gr.SelectData) -> str | None:
        """A click on a row of the jobs list: watch that job."""
        return event.row_value[0] if event.row_value else None

    def latest() -> str | None:
        """On a page (re)load: the job that runs or waits, else the newest one."""
        found = jobs.all()
        return found.running or (found.queued[0] if found.queued else None) or \
            (found.jobs[0].id if found.jobs else None)

    with gr.Tab("Train"):
        gr.Markdown(INTRO)
        upload = gr.File(label="Training data", file_types=list(UPLOAD_SUFFIXES), type="filepath",
                         elem_id="train-upload")
        with gr.Row():
            text = gr.Dropdown([], label="Text column", allow_custom_value=True)
            label = gr.Dropdown([], label="Label column", allow_custom_value=True)
        with gr.Row():  # tp train's data.task, data.text_pair_column, data.label_separator
            problem = gr.Radio(list(PROBLEM_RECIPES), value="auto", label="Task (auto: one class per row; list cells "
                               "or a separator make it multi-label; regression: a number per row)")
            # "" (one text per row) rather than None: gradio_client calls that predate it need a default to fill in
            pair = gr.Dropdown([""], value="", label="Second text column (text pairs; empty: one text per row)",
                               allow_custom_value=True)
            separator = gr.Textbox("", label="Label separator (multi-label labels in one cell, e.g. |)", max_length=10)
        preview = gr.Dataframe(label="First rows", interactive=False, wrap=True)
        data = gr.Markdown(elem_id="train-data")
        with gr.Row():
            base = gr.Dropdown(bases, value=None, label="Base model (empty: minilm for texts, vit-tiny for images)",
                               allow_custom_value=True)
            method = gr.Radio(METHODS, value="auto", label="Method")
        with gr.Row():
            epochs = gr.Number(None, label="Epochs (0: tp's default)", minimum=0)
            steps = gr.Number(None, label="Max steps (0: no cap)", minimum=0, precision=0)
            name = gr.Textbox(label="Serve as (empty: job-<id>)", max_length=64)
        with gr.Row():
            search = gr.Checkbox(False, label="Search recipes, keep the best")
            trials = gr.Slider(2, 20, value=4, step=1, label="Trials")
            budget = gr.Number(15, label="Search time budget (minutes)", minimum=0)
        plan = gr.Markdown()
        with gr.Row():
            start_button = gr.Button("Start training", variant="primary")
            cancel_button = gr.Button("Cancel", variant="stop")
            serve_button = gr.Button("Serve it", interactive=False)
        with gr.Accordion("Compress or publish the model", open=False):
            with gr.Row():
                methods = gr.Textbox("int8-dynamic,onnx-int8", label="Compression methods (tp optimize --methods)")
                max_drop = gr.Number(1.0, label="Accuracy points a variant may lose (the gate)", minimum=0)
                compress_button = gr.Button("Compress it", interactive=False)
            with gr.Row():
                repo = gr.Textbox(label="Hub repository (OWNER/NAME)")
                token = gr.Textbox(label="Hub token (kept in memory for this push only)", type="password")
                private = gr.Checkbox(True, label="Private repository")
                dry_run = gr.Checkbox(True, label="Dry run: write the files, upload nothing")
                force = gr.Checkbox(False, label="Publish even if it learned nothing (the card says so)")
                push_button = gr.Button("Push it", interactive=False)
            action = gr.Textbox(label="Compress or push job id", interactive=False)
            action_status = gr.Markdown()
            action_log = gr.Textbox(label="Its log (last lines)", lines=8, max_lines=8, interactive=False)
            action_report = gr.Markdown()
        job = gr.Textbox(label="Job id", interactive=False)
        status = gr.Markdown(elem_id="train-status")
        curves = gr.LinePlot(x="step", y="value", color="series", label="Training loss and validation metrics")
        log = gr.Textbox(label="Log (last lines)", lines=10, max_lines=10, interactive=False, autoscroll=True)
        result = gr.Markdown(elem_id="train-result")
        matrix = gr.Image(label="Confusion matrix (test split)", type="filepath", interactive=False)
        listing = gr.Dataframe(headers=JOB_HEADERS, label="Jobs (newest first)", interactive=False)
    settings = [base, method, epochs, steps, search, trials, budget, name, problem, pair, separator]  # new ones last
    checked = [text, label, preview, data, plan]
    watched = [status, curves, log, result, matrix, serve_button, compress_button, push_button, listing]
    inspected = upload.upload(inspect, [upload, gr.State(None), gr.State(None), *settings], checked,
                              api_name="train_inspect")
    inspected.success(lambda shown: gr.update(choices=["", *(str(column) for column in getattr(shown, "columns", []))]),
                      [preview], [pair], api_visibility="private")  # the second text column: one of the upload's
    for component in (text, label, base, method, search, problem, pair):  # the plan follows the settings
        component.input(inspect, [upload, text, label, *settings], checked, api_visibility="private")
    for component in (epochs, steps, budget, separator):
        component.blur(inspect, [upload, text, label, *settings], checked, api_visibility="private")
    start_button.click(start, [upload, text, label, *settings], [job, status], api_name="train_start").success(
        watch, [job], watched, api_name="train_watch", concurrency_limit=None)
    cancel_button.click(cancel, [job], [status], api_name="train_cancel")
    acted = [action_status, action_log, action_report]
    compress_button.click(compress, [job, methods, max_drop], [action], api_name="train_compress").success(
        watch_action, [action], acted, api_name="train_watch_action", concurrency_limit=None)
    push_button.click(push, [job, repo, token, private, dry_run, force], [action], api_name="train_push").success(
        watch_action, [action], acted, api_visibility="private", concurrency_limit=None)
    serve_button.click(serve, [job], [result, serve_button, *(picker for picker, _ in pickers)],
                       api_name="train_serve")
    for picker, names in pickers:  # a page (re)load offers the models jobs have served since start-up
        demo.load(lambda names=names: gr.update(choices=names(), visible=len(names()) > 1), None, [picker],
                  api_visibility="private")
    demo.load(latest, None, [job], api_name="train_latest").success(watch, [job], watched, api_visibility="private",
                                                                    concurrency_limit=None)
    listing.select(pick, None, [job], api_visibility="private").success(
        watch, [job], watched, api_visibility="private", concurrency_limit=None)

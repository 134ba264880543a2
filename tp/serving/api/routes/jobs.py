"""Training jobs over REST (only when TP_TRAINING=true): inspect an upload, start a job, watch it, read its log,
cancel it, serve its model. The uploads are multipart/form-data, read here under TP_MAX_UPLOAD_BYTES (the API's
body guard, sized for predictions, leaves these routes alone)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from tp.errors import InputError
from tp.jobs.schemas import (
    CompressRequest,
    InspectResponse,
    JobPublic,
    JobRequest,
    JobsResponse,
    LogResponse,
    PushRequest,
    ServeRequest,
)
from tp.jobs.service import JobService
from tp.serving.api.constants import API_PREFIX
from tp.serving.api.errors import describe_validation_error
from tp.serving.api.responses import JOB_ERRORS
from tp.serving.errors import TooLargeError

router = APIRouter(prefix=API_PREFIX, tags=["training"])
off = APIRouter(prefix=API_PREFIX)
FORM_PART_BYTES = 64 << 10  # the settings field; the file part is bounded by the upload limit
FILE = {"type": "string", "format": "binary", "description": "A CSV, TSV, JSON, JSONL or Parquet table with a text "
        "and a label column, or a .zip of class folders of images."}
SETTINGS = {"type": "string", "description": "JobRequest as JSON, e.g. "
            '{"text_column": "text", "label_column": "label", "method": "lora", "epochs": 3}.'}


def _form_body(properties: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"], "properties": {"file": FILE, **properties}}}}}}


def jobs_of(request: Request) -> JobService:
    return request.app.state.jobs


async def _capped(request: Request, limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLargeError(f"The upload is over {limit:,} bytes (TP_MAX_UPLOAD_BYTES): send a smaller file.")
        yield chunk


async def read_form(request: Request) -> tuple[UploadFile, FormData]:
    """The multipart form, its one file part first; 415, 413 or 422 that say what to send instead."""
    limit = request.app.state.settings.max_upload_bytes + FORM_PART_BYTES
    if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
        raise HTTPException(415, "Send the upload as multipart/form-data: a `file` part (the table or zip) and, "
                                 "as JSON text, a `settings` part.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLargeError(f"The upload is {int(declared):,} bytes, over {limit:,} (TP_MAX_UPLOAD_BYTES): send a "
                            "smaller file.")
    parser = MultiPartParser(request.headers, _capped(request, limit), max_files=1, max_fields=8,
                             max_part_size=FORM_PART_BYTES)
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise InputError(f"The multipart body cannot be read: {error.message}.") from error
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InputError("The form has no `file` part: send the table (or the zip of images) as `file`.")
    return upload, form


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value.strip() else None


def job_request(form: FormData) -> JobRequest:
    raw = _text(form, "settings") or "{}"
    try:
        return JobRequest(**json.loads(raw))
    except json.JSONDecodeError as error:
        raise InputError(f"`settings` is not JSON ({error.msg} at position {error.pos}): send the JobRequest "
                         "object as JSON text.") from error
    except TypeError as error:
        raise InputError("`settings` should be a JSON object, like {\"label_column\": \"label\"}.") from error
    except ValidationError as error:
        lines = [describe_validation_error(problem) for problem in error.errors()]
        raise InputError("`settings`: " + "; ".join(lines)) from error


def _chunks(upload: UploadFile) -> Any:
    return iter(lambda: upload.file.read(1 << 20), b"")


@router.post("/jobs/inspect", summary="What an upload holds, before training: columns, preview, labels, baselines",
             openapi_extra=_form_body({"text_column": {"type": "string"}, "label_column": {"type": "string"},
                                       "settings": SETTINGS}), responses=JOB_ERRORS)
async def inspect_upload(request: Request) -> InspectResponse:
    upload, form = await read_form(request)
    settings = job_request(form) if _text(form, "settings") else None
    try:
        return await asyncio.to_thread(jobs_of(request).inspect, _chunks(upload), upload.filename, settings,
                                       _text(form, "text_column"), _text(form, "label_column"))
    finally:
        await upload.close()


@router.post("/jobs", status_code=202, summary="Start a training job on an uploaded file (queued; one runs at a time)",
             openapi_extra=_form_body({"settings": SETTINGS}), responses=JOB_ERRORS)
async def create_job(request: Request) -> JobPublic:
    upload, form = await read_form(request)
    settings = job_request(form)
    try:
        return await asyncio.to_thread(jobs_of(request).create, _chunks(upload), upload.filename, settings)
    finally:
        await upload.close()


@router.get("/jobs", summary="Every job (newest first), the queue, the base models and the limits")
async def list_jobs(request: Request) -> JobsResponse:
    return await asyncio.to_thread(jobs_of(request).all)


@router.get("/jobs/{job_id}", summary="One job: state, progress, curves, metrics beside the baselines",
            responses=JOB_ERRORS)
async def get_job(request: Request, job_id: str) -> JobPublic:
    return jobs_of(request).get(job_id)


@router.get("/jobs/{job_id}/log", summary="The last lines of a job's log", responses=JOB_ERRORS)
async def job_log(request: Request, job_id: str,
                  tail: Annotated[int, Query(ge=1, le=10_000, description="How many lines, from the end.")] = 200,
                  ) -> LogResponse:
    return jobs_of(request).log(job_id, tail)


@router.delete("/jobs/{job_id}", summary="Cancel a job: a queued one never runs, a running one is ended and its "
                                         "partial folder removed", responses=JOB_ERRORS)
async def cancel_job(request: Request, job_id: str) -> JobPublic:
    return await asyncio.to_thread(jobs_of(request).cancel, job_id)


@router.post("/jobs/{job_id}/serve", summary="Serve a finished job's model now, beside the others (no restart)",
             responses=JOB_ERRORS)
async def serve_job(request: Request, job_id: str, body: ServeRequest | None = None) -> JobPublic:
    return await asyncio.to_thread(jobs_of(request).serve, job_id, body.name if body else None)


@router.post("/jobs/{job_id}/resume", status_code=202, responses=JOB_ERRORS,
             summary="Queue an interrupted job again: it continues from its last checkpoint")
async def resume_job(request: Request, job_id: str) -> JobPublic:
    return await asyncio.to_thread(jobs_of(request).resume, job_id)


@router.post("/jobs/{job_id}/compress", status_code=202, responses=JOB_ERRORS,
             summary="Queue the compression lab on a finished job's model (variants gated on accuracy)")
async def compress_job(request: Request, job_id: str, body: CompressRequest | None = None) -> JobPublic:
    return await asyncio.to_thread(jobs_of(request).compress, job_id, body or CompressRequest())


@router.post("/jobs/{job_id}/push", status_code=202, responses=JOB_ERRORS,
             summary="Queue `tp push` of a finished job's model: private, and a dry run, unless told otherwise")
async def push_job(request: Request, job_id: str, body: PushRequest) -> JobPublic:
    return await asyncio.to_thread(jobs_of(request).push, job_id, body)


@off.api_route("/jobs", methods=["GET", "POST"], include_in_schema=False)
@off.api_route("/jobs/{rest:path}", methods=["GET", "POST", "DELETE"], include_in_schema=False)
async def training_off() -> None:
    raise HTTPException(404, "Training is off on this server: it is turned on with TP_TRAINING=true (then the "
                             "Train tab and /api/v1/jobs appear).")

"""The typed shapes of training jobs, shared by the REST routes (OpenAPI) and the Gradio tab."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tp.tasks import PROBLEM_RECIPES

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"]


class JobRequest(BaseModel):
    """What to train on the uploaded file (the `settings` part of POST /jobs, as JSON)."""

    model_config = ConfigDict(extra="forbid")

    text_column: str | None = Field(None, min_length=1, max_length=200,
                                    description="Column of the texts (tables); default: guessed, as /jobs/inspect "
                                                "shows (`text`, `review`, ..., else the longest strings).")
    label_column: str | None = Field(None, min_length=1, max_length=200,
                                     description="Column of the labels; default: guessed (`label`, `category`, ...).")
    base_model: str | None = Field(None, max_length=200,
                                   description="A base model of GET /jobs (`bases`), or a Hub id when the server "
                                               "is online; default: minilm for texts, vit-tiny for images.")
    method: Literal["auto", "lora", "full", "head", "freeze"] = Field("auto", description="How to fine-tune.")
    epochs: float | None = Field(None, gt=0, le=100, description="Passes over the training split (default: tp's).")
    max_steps: int | None = Field(None, ge=1, le=1_000_000, description="Stop after this many optimizer steps.")
    max_length: int | None = Field(None, ge=8, le=8192, description="Tokens per text (default 256).")
    search_trials: int | None = Field(None, ge=2, le=50,
                                      description="Search this many recipes and keep the best (off by default).")
    time_budget_minutes: float | None = Field(None, gt=0, le=10_080, description="The search's time budget.")
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][\w.-]{0,63}$",
                             description="The name the model is served as (default: job-<id>).")
    task: Literal[PROBLEM_RECIPES] = Field(  # Literal of a tuple: its members
        "auto", description="What a label is: `auto` (one class per row; list cells or `label_separator` make it "
                            "multi-label), `single_label`, `multi_label` or `regression` (a number per row).")
    text_pair_column: str | None = Field(None, min_length=1, max_length=200,
                                         description="Column of the second texts, for a model of text pairs "
                                                     "(similarity, entailment); default: one text per row.")
    label_separator: str | None = Field(None, min_length=1, max_length=10,
                                        description="Multi-label labels written in one cell, split at this (e.g. "
                                                    "`|` or `,`); list cells (JSON, JSONL, Parquet) need none.")

    @model_validator(mode="after")
    def _check_task_options(self) -> JobRequest:
        if self.label_separator is not None and self.task not in ("auto", "multi_label"):
            raise ValueError(f"`label_separator` splits multi-label cells, but `task` is {self.task!r}: set `task` "
                             "to multi_label, or leave `label_separator` out.")
        if self.text_pair_column is not None and self.text_pair_column in (self.text_column, self.label_column):
            raise ValueError(f"`text_pair_column` {self.text_pair_column!r} is also the text or label column: pick "
                             "the column of the second texts.")
        return self


class Progress(BaseModel):
    phase: str = Field(description="queued, starting, training, testing and saving, or done.")
    step: int = 0
    max_steps: int = 0
    epoch: float | None = None
    fraction: float = Field(0.0, ge=0, le=1, description="Steps done of the planned steps.")


class CurvePoint(BaseModel):
    """One entry of the Trainer's log: the training loss, or the validation metrics at an evaluation."""

    model_config = ConfigDict(extra="allow")

    step: int
    epoch: float | None = None
    loss: float | None = None
    eval_loss: float | None = None
    eval_accuracy: float | None = None
    eval_macro_f1: float | None = None


class BaselineScore(BaseModel):
    accuracy: float | None = Field(None, description="Test accuracy (multi-label: exact label sets); null for "
                                                     "regression.")
    macro_f1: float | None = Field(None, description="Test macro-F1; null for regression.")
    scores: dict[str, float] = Field(default_factory=dict, description="Every test score it has (`micro_f1`, "
                                     "`hamming_loss`; `rmse`, `mae`, `r2`...).")
    description: str


class JobPublic(BaseModel):
    id: str
    kind: Literal["train", "compress", "push"] = Field("train", description="A training job, or an action on the "
                                                                            "model a training job made (`parent`).")
    parent: str | None = Field(None, description="The training job whose model a compress or push job works on.")
    name: str = Field(description="The name the model is served as once it is done.")
    state: JobState
    created: float
    started: float | None = None
    ended: float | None = None
    message: str | None = Field(None, description="Why it failed or was interrupted, or what it says at the end.")
    filename: str = Field(description="The uploaded file's name as sent (shown only; tp stores it as its own).")
    task: Literal["text", "image"]
    rows: int
    settings: JobRequest
    command: list[str] = Field(description="The `tp train` command the job runs.")
    plan: list[str] = Field(description="tp's choices and the memory plan, as shown before it started.")
    queue_position: int | None = Field(None, description="0: next to run (queued jobs only).")
    progress: Progress
    curves: list[CurvePoint] = Field(description="The training loss and validation metrics so far.")
    metrics: dict[str, float] | None = Field(None, description="Test accuracy and macro-F1, once it succeeded.")
    baselines: dict[str, BaselineScore] | None = None
    warnings: list[str] = Field(default_factory=list, description="The no-skill check's warnings, if any.")
    served_as: str | None = Field(None, description="The model name it is served as (POST /jobs/{id}/serve).")


class JobsResponse(BaseModel):
    jobs: list[JobPublic]
    running: str | None = Field(description="The id of the job that runs now.")
    queued: list[str] = Field(description="Ids of the jobs waiting, next first.")
    bases: dict[str, str] = Field(description="Base models a job may start from: name -> source.")
    limits: dict[str, Any] = Field(description="Upload bytes and rows, and a job's longest run.")


class InspectResponse(BaseModel):
    rows: int
    columns: list[str]
    task: Literal["text", "image"]
    preview: list[dict[str, Any]] = Field(description="The first rows (long texts cut).")
    text_column: str | None = Field(description="The text column picked or guessed (None for images).")
    label_column: str | None
    problem: str | None = Field(None, description="The task tp will train, once the columns are known: "
                                "`single_label`, `multi_label` or `regression`.")
    text_pair_column: str | None = Field(None, description="The column of the second texts (pairs), if any.")
    label_counts: dict[str, int] | None = Field(description="Rows per label, once the columns are known (multi-label: "
                                                "rows carrying each label; they add up to more than the rows).")
    target: dict[str, float] | None = Field(None, description="Regression: the training split's values "
                                            "(mean, std, min, max); null for classifiers.")
    splits: dict[str, int] | None = Field(description="Rows of the train, validation and test splits tp will make.")
    baselines: dict[str, BaselineScore] | None = Field(description="The baselines' test scores on that split: the "
                                                                  "bar the model will be judged against.")
    plan: list[str] | None = Field(None, description="tp's choices and the memory plan for the given settings.")


class ServeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9][\w.-]{0,63}$", description="Default: the job's name.")


class LogResponse(BaseModel):
    lines: list[str]
    total_lines: int


class CompressRequest(BaseModel):
    """The compression lab on a finished job's model (`tp optimize`): every variant gated on accuracy."""

    model_config = ConfigDict(extra="forbid")
    methods: str = Field("int8-dynamic,onnx-int8", pattern=r"^[\w:.,+-]{1,200}$",
                         description="Comma-separated methods of `tp optimize` (e.g. int8-dynamic,prune-heads:0.3).")
    max_drop: float = Field(1.0, ge=0, le=100, description="Accuracy points a variant may lose and still pass.")


class PushRequest(BaseModel):
    """Publish a finished job's model (`tp push`): a dry run (files written, nothing uploaded) unless told."""

    model_config = ConfigDict(extra="forbid")
    repo_id: str = Field(pattern=r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$", description="OWNER/NAME.")
    token: str | None = Field(None, max_length=500, description="A Hub token with write access (kept in memory for "
                                                                "the job's process only; default: the server's).")
    private: bool = Field(True, description="Create the repository as private (the default).")
    dry_run: bool = Field(True, description="Write exactly what would be uploaded into the job's folder, upload "
                                            "nothing (the default: look at it first).")
    force: bool = Field(False, description="Publish a model flagged as having learned nothing (its card then says "
                                           "so at the top); refused otherwise.")

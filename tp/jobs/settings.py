"""The app's training settings (TP_TRAINING and the jobs' limits), mixed into ServerSettings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings


class TrainingSettings(BaseSettings):
    """What the Train tab and /api/v1/jobs may do; everything is off unless `training` is set."""

    training: bool = Field(False, description="Let the app train models: the Train tab and /api/v1/jobs (each job "
                                              "runs `tp train` in its own process). Off unless set; a public Space "
                                              "must choose it, and should set TP_API_KEY.")
    jobs_dir: Path = Field(Path("tp-jobs"), description="Where training jobs keep their upload, log, progress and "
                                                        "run folder (file names are tp's, never the client's).")
    max_upload_bytes: int = Field(50 << 20, ge=1024, le=1 << 34,
                                  description="Largest file a training job takes (bytes).")
    max_upload_rows: int = Field(200_000, ge=10, le=100_000_000, description="Most rows of a training table.")
    job_max_minutes: float = Field(120.0, gt=0, le=7 * 24 * 60,
                                   description="A job still running after this long is ended (and marked so).")
    job_threads: int | None = Field(None, ge=1, le=256,
                                    description="torch threads of a job's process (default: half the CPU's "
                                                "cores, at least 1, so the server keeps answering meanwhile).")
    training_models: str | None = Field(
        None, description="Local base models a job may fine-tune besides the built-in ones, comma-separated "
                          "`name=folder`. A Hub id is taken only when the server is online (HF_HUB_OFFLINE unset).")

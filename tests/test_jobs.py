"""Training jobs without a server: uploads checked before anything is queued (and nothing left behind when
refused), the command a job runs, records that survive a server's restart, curves read from the Trainer's log."""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tp.errors import InputError
from tp.jobs.command import job_overrides, resolve_base, train_command
from tp.jobs.schemas import JobRequest
from tp.jobs.service import JobService, curve_points
from tp.jobs.store import JobStore, process_identity
from tp.serving.errors import NotFoundError, TooLargeError
from tp.serving.settings import load_settings


@pytest.fixture
def service(tmp_path: Path, tiny_bert_dir: Path) -> JobService:
    settings = load_settings(model=str(tiny_bert_dir), training=True, jobs_dir=tmp_path / "jobs",
                             max_upload_bytes=1_000_000, max_upload_rows=500,
                             training_models=f"tiny-bert={tiny_bert_dir}")
    jobs = JobService(settings, registry=None)
    yield jobs
    jobs.close()


def table(frame: pd.DataFrame) -> list[bytes]:
    return [frame.to_csv(index=False).encode()]


def left_behind(jobs: JobService) -> list[str]:
    return sorted(path.name for path in jobs.store.root.iterdir())


def test_inspect_finds_the_columns_the_labels_and_the_baselines_of_the_split_to_come(bbc_frame: pd.DataFrame,
                                                                                      service: JobService) -> None:
    frame = bbc_frame.rename(columns={"text": "article", "label": "topic"})
    found = service.inspect(table(frame), "news.csv")
    assert (found.text_column, found.label_column, found.rows) == ("article", "topic", 120)
    assert found.label_counts == {label: 24 for label in sorted(frame["topic"].unique())}
    assert sum(found.splits.values()) == 120 and found.splits["test"] == 24  # tp's 20% stratified test split
    assert found.baselines["majority"].accuracy < 0.25  # five balanced topics
    assert found.baselines["tfidf_logreg"].macro_f1 > 0.5  # real articles: a linear model learns them
    assert len(found.preview) == 5 and found.preview[0]["article"].endswith("...")  # long texts cut
    assert left_behind(service) == []  # inspecting keeps nothing
    planned = service.inspect(table(frame), "news.csv", JobRequest(method="lora", base_model="tiny-bert"))
    assert planned.plan[0].startswith("fits in 8 GB") and any("learning rate" in line for line in planned.plan)


@pytest.mark.parametrize(("name", "body", "settings", "error", "says"), [
    ("model.exe", b"MZ\x90\x00", {}, InputError, "not a file a job can train on"),
    ("empty.csv", b"", {}, InputError, "empty"),
    ("huge.csv", b"text,label\n" + b"x,y\n" * 300_000, {}, TooLargeError, "TP_MAX_UPLOAD_BYTES"),
    ("rows.csv", b"text,label\n" + b"a,b\n" * 600, {}, InputError, "TP_MAX_UPLOAD_ROWS"),
    ("cols.csv", b"review,stars\ngood,5\nbad,1\n", {"text_column": "review", "label_column": "rating"}, InputError,
     "its columns are: review, stars"),
    ("one.csv", b"text,label\n" + b"fine film,pos\n" * 20, {}, InputError, "single class"),
    ("broken.parquet", b"not parquet at all", {}, InputError, "Could not read"),
])
def test_a_bad_upload_is_refused_with_the_fix_and_leaves_nothing(service: JobService, name: str, body: bytes,
                                                                 settings: dict, error: type, says: str) -> None:
    with pytest.raises(error, match=says):
        service.create([body], name, JobRequest(**settings))
    assert left_behind(service) == [] and service.runner.waiting == []


def test_a_zip_that_escapes_its_folder_is_refused(service: JobService) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("../../evil/cat/1.png", b"x")
    with pytest.raises(InputError, match="outside it"):
        service.create([buffer.getvalue()], "images.zip", JobRequest())
    assert left_behind(service) == []


def test_a_zip_of_class_folders_is_an_image_job(tmp_path: Path, service: JobService) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for label, shade in (("dark", 20), ("light", 230)):
            for index in range(6):
                image = io.BytesIO()
                Image.new("RGB", (16, 16), (shade + index,) * 3).save(image, "PNG")
                bundle.writestr(f"shapes/{label}/{index}.png", image.getvalue())
    found = service.inspect([buffer.getvalue()], "shapes.zip")
    assert found.task == "image" and found.text_column is None and found.label_counts == {"dark": 6, "light": 6}
    assert "pixels_logreg" in found.baselines


def test_the_command_is_tp_train_with_the_recipe_as_overrides(tmp_path: Path, tiny_bert_dir: Path) -> None:
    request = JobRequest(text_column="review", label_column="stars", base_model="tiny-bert", method="lora",
                         epochs=2, max_length=64, search_trials=3, time_budget_minutes=5)
    overrides = job_overrides(request, tmp_path / "upload.csv", "text", tmp_path, 1, f"tiny-bert={tiny_bert_dir}")
    command = train_command(request, overrides)
    assert command[:4] == [sys.executable, "-m", "tp", "train"] and command[-4:] == ["--search", "3",
                                                                                    "--time-budget", "5.0"]
    assert f'model.source="{tiny_bert_dir.resolve()}"' in overrides and 'data.text_column="review"' in overrides
    from tp.config import load_recipe

    recipe = load_recipe(None, overrides)  # tp train reads them as it would from a person's command line
    assert (recipe.model.max_length, recipe.training.epochs, recipe.method.name) == (64, 2.0, "lora")
    assert recipe.run_dir == tmp_path / "run"


def test_only_allowed_bases_and_no_hub_id_offline() -> None:
    assert resolve_base(None, "text", None) == "builtin:minilm"
    assert resolve_base(None, "image", None) == "builtin:vit-tiny"
    with pytest.raises(InputError, match="pick one of minilm, vit-tiny"):
        resolve_base("/etc", "text", None)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    with pytest.raises(InputError, match="only when the server is online"):
        resolve_base("bert-base-uncased/x", "text", None)


def test_a_restart_marks_orphaned_jobs_interrupted_and_leaves_a_live_servers_alone(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    (tmp_path / "0123456789ab").mkdir()
    (tmp_path / "0123456789ab" / "command.json").write_text(json.dumps(
        [sys.executable, "-m", "tp", "train", "--set", 'name="run"', "--set", 'data.source="/x/upload.csv"']))
    reused = f"{os.getpid()}:1"  # this pid, but not this process (another start time): a server long gone
    store.create("0123456789ab", {"server": f"{dead_pid}:0", "state": "running", "served_as": "mine",
                                  "served_by": reused})
    store.create("ba9876543210", {"server": process_identity(), "state": "queued"})
    JobStore(tmp_path)  # a new server on the same folder
    orphan, alive = store.get("0123456789ab"), store.get("ba9876543210")
    assert orphan["state"] == "interrupted" and orphan["served_as"] is None
    resume = orphan["message"].split("`")[1]
    assert shlex.split(resume) == ["tp", "train", "--set", 'name="run"', "--set", 'data.source="/x/upload.csv"',
                                   "--resume"]
    assert alive["state"] == "queued"
    with pytest.raises(NotFoundError, match="No job"):
        store.get("../../etc")


def test_curves_keep_the_losses_and_validation_metrics() -> None:
    history = [{"loss": 1.6, "step": 1, "epoch": 0.1}, {"eval_loss": 1.2, "eval_macro_f1": 0.4, "step": 2},
               {"train_runtime": 3.0, "step": 2}]
    points = curve_points(history)
    assert [(p.step, p.loss, p.eval_macro_f1) for p in points] == [(1, 1.6, None), (2, None, 0.4)]


def runner_job(tmp_path: Path, code: str, max_minutes: float = 5.0) -> dict:
    """A job whose process runs `code`, through a real JobRunner, until it ends."""
    import time

    from tp.jobs.runner import JobRunner

    store = JobStore(tmp_path)
    runner = JobRunner(store, threads=1, max_minutes=max_minutes)
    job_id = store.new_id()
    store.folder(job_id).mkdir()
    (store.folder(job_id) / "command.json").write_text(json.dumps([sys.executable, "-c", code]))
    store.create(job_id, {"kind": "push", "server": process_identity()})
    runner.submit(job_id)
    deadline = time.monotonic() + 60
    while store.get(job_id)["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
    runner.stop()
    return store.get(job_id)


def test_a_job_that_crashes_is_recorded_with_its_error_and_the_runner_goes_on(tmp_path: Path) -> None:
    record = runner_job(tmp_path, "import sys; print('loading'); sys.exit('error: the base model folder is empty')")
    assert record["state"] == "failed" and "error: the base model folder is empty" in record["message"]
    assert runner_job(tmp_path, "print('fine')")["state"] == "succeeded"


def test_a_job_past_its_time_limit_is_ended(tmp_path: Path) -> None:
    record = runner_job(tmp_path, "import time; time.sleep(120)", max_minutes=0.02)  # 1.2 s
    assert record["state"] == "failed" and "TP_JOB_MAX_MINUTES" in record["message"]

"""Training jobs through the real app (TP_TRAINING=true): real uploads of real BBC articles, `tp train` in its own
process on a tiny BERT, the REST lifecycle, predictions answered meanwhile, cancel, serve without a restart, the
Gradio tab driven by gradio_client, and a server stopped mid-job."""

from __future__ import annotations

import base64
import io
import json
import os
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest
from gradio_client import Client, handle_file

from tp.jobs.store import JOB_ID

pytest_plugins = ["app_server"]
QUICK = {"text_column": "article", "label_column": "topic", "base_model": "tiny-bert", "method": "full",
         "max_steps": 6, "max_length": 64}
LONG = {**QUICK, "max_steps": 100_000}  # runs until cancelled


def png() -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


@pytest.fixture(scope="module")
def news_csv(tmp_path_factory: pytest.TempPathFactory, bbc_frame: pd.DataFrame) -> Path:
    path = tmp_path_factory.mktemp("upload") / "news.csv"
    bbc_frame.rename(columns={"text": "article", "label": "topic"}).to_csv(path, index=False)
    return path


def launch_trainer(launch_app, folder: Path, tiny_vit_dir: Path, tiny_bert_dir: Path):
    return launch_app({"TP_MODELS": f"tiny-vit={tiny_vit_dir}", "TP_TRAINING": "true",
                       "TP_JOBS_DIR": str(folder / "jobs"), "TP_TRAINING_MODELS": f"tiny-bert={tiny_bert_dir}",
                       "TP_MAX_UPLOAD_BYTES": "400000", "TP_JOB_THREADS": "1"}, folder / "server.log")


@pytest.fixture(scope="module")
def trainer(launch_app, tmp_path_factory: pytest.TempPathFactory, tiny_vit_dir: Path, tiny_bert_dir: Path):
    server = launch_trainer(launch_app, tmp_path_factory.mktemp("trainer"), tiny_vit_dir, tiny_bert_dir)
    yield server
    assert server.stop() in (0, -15), server.log()[-3000:]


def post_job(url: str, path: Path, settings: dict, name: str | None = None) -> httpx.Response:
    with path.open("rb") as file:
        return httpx.post(f"{url}/api/v1/jobs", files={"file": (name or path.name, file, "text/csv")},
                          data={"settings": json.dumps(settings)}, timeout=120)


def wait_for(url: str, job_id: str, states: tuple[str, ...], timeout: float = 300) -> list[dict]:
    """Every view of the job until it reaches one of `states`."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen.append(httpx.get(f"{url}/api/v1/jobs/{job_id}", timeout=30).json())
        if seen[-1]["state"] in states:
            return seen
        time.sleep(0.5)
    raise TimeoutError(f"job {job_id} still {seen[-1]['state']}: {seen[-1]}")


def job_folders(url: str) -> set[str]:
    return {job["id"] for job in httpx.get(f"{url}/api/v1/jobs").json()["jobs"]}


def test_a_job_trains_is_watched_cancelled_and_served_while_the_server_answers(trainer, news_csv: Path) -> None:
    url = trainer.url
    with news_csv.open("rb") as file:
        found = httpx.post(f"{url}/api/v1/jobs/inspect", files={"file": ("news.csv", file)}, timeout=120).json()
    assert (found["text_column"], found["label_column"], found["rows"]) == ("article", "topic", 120)
    assert set(found["label_counts"]) == {"business", "entertainment", "politics", "sports", "tech"}
    quick = post_job(url, news_csv, {**QUICK, "name": "news-tiny"})
    assert quick.status_code == 202, quick.text
    first = quick.json()
    assert first["state"] in ("queued", "running") and first["command"][2:4] == ["tp", "train"]
    assert first["baselines"]["tfidf_logreg"]["accuracy"] > 0.5 and first["plan"][0].startswith("fits in 8 GB")
    long = post_job(url, news_csv, LONG).json()
    assert long["state"] == "queued" and long["queue_position"] == 0  # one job at a time
    answered = 0
    views = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # the server keeps answering while the job trains
        prediction = httpx.post(f"{url}/api/v1/predict", json={"inputs": {"image": png()}}, timeout=30)
        assert prediction.status_code == 200, prediction.text
        answered += 1
        views.append(httpx.get(f"{url}/api/v1/jobs/{first['id']}").json())
        if views[-1]["state"] not in ("queued", "running"):
            break
        time.sleep(0.3)
    done = views[-1]
    assert done["state"] == "succeeded", httpx.get(f"{url}/api/v1/jobs/{first['id']}/log").json()["lines"][-20:]
    assert answered >= 3 and any(view["state"] == "running" for view in views)
    assert {"test_accuracy", "test_macro_f1"} <= set(done["metrics"]) and done["progress"]["fraction"] == 1.0
    assert any(point["loss"] is not None for point in done["curves"])
    assert any(point["eval_macro_f1"] is not None for point in done["curves"])
    assert done["progress"]["max_steps"] == 6 and "majority" in done["baselines"]
    log = httpx.get(f"{url}/api/v1/jobs/{first['id']}/log", params={"tail": 5}).json()
    assert len(log["lines"]) == 5 and log["total_lines"] > 5
    # the queued job runs next; cancelling it ends its process and removes its partial folder
    running = wait_for(url, long["id"], ("running",))[-1]
    cancelled = httpx.delete(f"{url}/api/v1/jobs/{long['id']}", timeout=60).json()
    assert cancelled["state"] == "cancelled" and running["id"] == long["id"]
    assert httpx.delete(f"{url}/api/v1/jobs/{long['id']}").status_code == 409
    # serve the finished one: in /models and answering /predict at once, no restart
    served = httpx.post(f"{url}/api/v1/jobs/{first['id']}/serve", timeout=120)
    assert served.status_code == 200, served.text
    assert served.json()["served_as"] == "news-tiny"
    assert "news-tiny" in [model["name"] for model in httpx.get(f"{url}/api/v1/models").json()["models"]]
    answer = httpx.post(f"{url}/api/v1/predict", json={"inputs": "The striker scored twice.", "model": "news-tiny"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"][0]["label"] in found["label_counts"]
    again = httpx.post(f"{url}/api/v1/jobs/{first['id']}/serve")
    assert again.status_code == 409 and "already served" in again.json()["detail"]
    assert httpx.get(f"{url}/api/v1/jobs/ffffffffffff").status_code == 404
    listing = httpx.get(f"{url}/api/v1/jobs").json()
    assert {first["id"], long["id"]} <= {job["id"] for job in listing["jobs"]} and listing["running"] is None
    assert "tiny-bert" in listing["bases"] and listing["limits"]["max_upload_bytes"] == 400_000


@pytest.mark.parametrize(("body", "settings", "status", "says"), [
    (b"MZ\x90\x00", None, 422, "not a file a job can train on"),
    (b"review,stars\ngood,5\nbad,1\n", {"text_column": "review", "label_column": "rating"}, 422,
     "its columns are: review, stars"),
    (b"text,label\n" + b"fine film,pos\n" * 20, {}, 422, "single class"),
    (b"text,label\n" + b"a long enough row,x\n" * 30_000, {}, 413, "TP_MAX_UPLOAD_BYTES"),
    (b"text,label\na,b\nc,d\n", "{not json", 422, "`settings` is not JSON"),
    (b"text,label\na,b\nc,d\n", {"method": "magic"}, 422, "method"),
])
def test_a_bad_upload_gets_a_clear_4xx_and_leaves_nothing(trainer, body: bytes, settings, status: int,
                                                          says: str) -> None:
    before = set(os.listdir(Path(trainer.log_path).parent / "jobs"))
    name = "model.exe" if body.startswith(b"MZ") else "data.csv"
    data = {} if settings is None else {"settings": settings if isinstance(settings, str) else json.dumps(settings)}
    answer = httpx.post(f"{trainer.url}/api/v1/jobs", files={"file": (name, body)}, data=data, timeout=60)
    assert answer.status_code == status and says in answer.json()["detail"], answer.text
    assert set(os.listdir(Path(trainer.log_path).parent / "jobs")) == before


def test_a_job_wants_a_multipart_upload(trainer) -> None:
    answer = httpx.post(f"{trainer.url}/api/v1/jobs", json={"label_column": "label"})
    assert answer.status_code == 415 and "multipart/form-data" in answer.json()["detail"]


def test_training_is_off_by_default(app_server) -> None:
    answer = httpx.get(f"{app_server.url}/api/v1/jobs")
    assert answer.status_code == 404 and "TP_TRAINING=true" in answer.json()["detail"]
    assert "/api/v1/jobs" not in httpx.get(f"{app_server.url}/openapi.json").json()["paths"]


def test_the_train_tab_drives_a_whole_job_through_gradio_client(trainer, news_csv: Path) -> None:
    demo = Client(f"{trainer.url}/", verbose=False)
    defaults = [None, "auto", None, None, False, 4, 15, ""]  # base, method, epochs, steps, search, trials, ...
    text, label, preview, data, plan = demo.predict(handle_file(str(news_csv)), *defaults, api_name="/train_inspect")
    assert (text["value"], label["value"]) == ("article", "topic")
    assert "tfidf_logreg" in data and "What tp will do" in plan
    settings = ["tiny-bert", "full", None, 6, False, 4, None, "tab-tiny"]  # max_length: tp caps it at 128
    job_id, status = demo.predict(handle_file(str(news_csv)), "article", "topic", *settings, api_name="/train_start")
    assert JOB_ID.match(job_id) and f"Job {job_id}" in status
    watching = demo.submit(job_id, api_name="/train_watch")
    updates = list(watching)  # one update every 2 s until the job ends
    final_status, curves, log, result, matrix, listing = watching.result()  # gradio_client leaves buttons out
    assert len(updates) >= 2 and "**succeeded**" in final_status
    assert "this model" in result and matrix is not None and "run folder:" in log
    assert job_id in [row[0] for row in listing["data"]] and curves["data"]
    result, all_models, image_models = demo.predict(job_id, api_name="/train_serve")  # the button left out
    assert "Served as **tab-tiny**" in result and "tab-tiny" in [choice[0] for choice in all_models["choices"]]
    assert "tiny-vit" in [choice[0] for choice in image_models["choices"]]
    answer = httpx.post(f"{trainer.url}/api/v1/predict", json={"inputs": "Shares fell sharply.", "model": "tab-tiny"})
    assert answer.status_code == 200, answer.text


def test_the_task_pair_column_and_separator_are_inspected_over_rest_and_in_the_train_tab(trainer,
                                                                                        tmp_path: Path) -> None:
    from tiny_tasks import MULTI_LABEL_DATA, PAIRS_DATA

    pairs = tmp_path / "pairs.csv"
    pd.read_csv(PAIRS_DATA, sep="\t").head(120).to_csv(pairs, index=False)
    settings = {"text_column": "sentence1", "label_column": "score", "task": "regression",
                "text_pair_column": "sentence2", "base_model": "tiny-bert"}
    with pairs.open("rb") as file:
        answer = httpx.post(f"{trainer.url}/api/v1/jobs/inspect", files={"file": ("pairs.csv", file, "text/csv")},
                            data={"settings": json.dumps(settings)}, timeout=120)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert (found["problem"], found["text_pair_column"], found["label_counts"]) == ("regression", "sentence2", None)
    assert found["baselines"]["tfidf_ridge"]["scores"]["rmse"] > 0 and found["plan"]
    bad = post_job(trainer.url, pairs, {**settings, "label_separator": ","})
    assert bad.status_code == 422 and "label_separator" in bad.json()["detail"]

    tagged = tmp_path / "tagged.csv"
    rows = pd.read_json(MULTI_LABEL_DATA, lines=True).head(200)
    rows.assign(labels=rows["labels"].map("|".join)).to_csv(tagged, index=False)
    demo = Client(f"{trainer.url}/", verbose=False)
    defaults = [None, "auto", None, None, False, 4, 15, ""]  # as before the task fields, which come last
    *_, data, _ = demo.predict(handle_file(str(tagged)), *defaults, "multi_label", None, "|", api_name="/train_inspect")
    assert "share of rows" in data and "| aid_related |" in data
    with tagged.open("rb") as file:  # the plan is the one training will follow: a multi-label head's rate
        multi = {"text_column": "text", "label_column": "labels", "task": "multi_label", "label_separator": "|",
                 "base_model": "tiny-bert", "method": "full"}
        plan = httpx.post(f"{trainer.url}/api/v1/jobs/inspect", files={"file": ("tagged.csv", file, "text/csv")},
                          data={"settings": json.dumps(multi)}, timeout=120).json()["plan"]
    assert any(line.startswith("tp chooses learning rate 0.0003: the default for full fine-tuning of a multi-label "
                               "head") for line in plan)


def test_a_finished_job_is_compressed_and_pushed_as_a_dry_run_and_its_token_is_never_written(
        trainer, news_csv: Path) -> None:
    url = trainer.url
    trained = post_job(url, news_csv, QUICK).json()
    assert wait_for(url, trained["id"], ("succeeded", "failed"))[-1]["state"] == "succeeded"
    token = "hf_never_on_disk_0123456789"
    order = {"repo_id": "alice/news-tiny", "token": token}
    unskilled = httpx.post(f"{url}/api/v1/jobs/{trained['id']}/push", json=order).json()
    refused = wait_for(url, unskilled["id"], ("succeeded", "failed"))[-1]  # 6 steps of a tiny BERT learn nothing
    assert refused["state"] == "failed" and "learned nothing" in refused["message"]
    push = httpx.post(f"{url}/api/v1/jobs/{trained['id']}/push", json={**order, "force": True})
    assert push.status_code == 202, push.text
    assert push.json()["kind"] == "push" and {"--dry-run", "--private"} <= set(push.json()["command"])
    compress = httpx.post(f"{url}/api/v1/jobs/{trained['id']}/compress", json={"methods": "int8-dynamic"})
    assert compress.status_code == 409 and "already working on this model" in compress.json()["detail"]
    pushed = wait_for(url, push.json()["id"], ("succeeded", "failed"))[-1]
    assert pushed["state"] == "succeeded", httpx.get(f"{url}/api/v1/jobs/{pushed['id']}/log").json()["lines"]
    jobs_dir = Path(trainer.log_path).parent / "jobs"
    published = jobs_dir / pushed["id"] / "publish"
    assert (published / "README.md").is_file() and (published / "model.safetensors").is_file()
    assert not any(token.encode() in path.read_bytes() for path in jobs_dir.rglob("*") if path.is_file())
    compress = httpx.post(f"{url}/api/v1/jobs/{trained['id']}/compress", json={"methods": "int8-dynamic"})
    assert compress.status_code == 202, compress.text
    compressed = wait_for(url, compress.json()["id"], ("succeeded", "failed"))[-1]
    assert compressed["state"] == "succeeded", httpx.get(f"{url}/api/v1/jobs/{compressed['id']}/log").json()["lines"]
    report = json.loads((jobs_dir / trained["id"] / "run" / "reports" / "compression.json").read_text())
    assert "int8-dynamic" in json.dumps(report)
    refused = httpx.post(f"{url}/api/v1/jobs/{push.json()['id']}/serve")
    assert refused.status_code == 409 and "only a training job" in refused.json()["detail"]
    bad = httpx.post(f"{url}/api/v1/jobs/{trained['id']}/push", json={"repo_id": "no-owner"})
    assert bad.status_code == 422


def training_job(server, news_csv: Path) -> dict:
    """A long job, once it is in its training loop (its checkpoints' folder exists from then on)."""
    job = post_job(server.url, news_csv, LONG).json()
    view = wait_for(server.url, job["id"], ("running",))[-1]
    while view["progress"]["phase"] != "training":
        time.sleep(0.5)
        view = httpx.get(f"{server.url}/api/v1/jobs/{job['id']}").json()
    return view


def gone(pid: int, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_a_job_ends_with_its_server_and_the_next_server_says_it_was_interrupted(
        launch_app, tmp_path: Path, tiny_vit_dir: Path, tiny_bert_dir: Path, news_csv: Path) -> None:
    record = lambda job_id: json.loads((tmp_path / "jobs" / job_id / "job.json").read_text())  # noqa: E731
    first = launch_trainer(launch_app, tmp_path, tiny_vit_dir, tiny_bert_dir)
    try:
        stopped = training_job(first, news_csv)
        pid = record(stopped["id"])["pid"]
    finally:
        first.stop(timeout=60)  # SIGTERM: the server ends its job, and records it
    assert gone(pid) and record(stopped["id"])["state"] == "interrupted"
    second = launch_trainer(launch_app, tmp_path, tiny_vit_dir, tiny_bert_dir)
    try:
        killed = training_job(second, news_csv)
        pid = record(killed["id"])["pid"]
    finally:
        second.process.kill()  # SIGKILL: nothing is recorded, but the job dies with its server
    assert gone(pid) and record(killed["id"])["state"] == "running"
    third = launch_trainer(launch_app, tmp_path, tiny_vit_dir, tiny_bert_dir)
    try:
        views = {job["id"]: job for job in httpx.get(f"{third.url}/api/v1/jobs").json()["jobs"]}
        for job_id in (stopped["id"], killed["id"]):
            assert views[job_id]["state"] == "interrupted" and "--resume" in views[job_id]["message"]
            assert (tmp_path / "jobs" / job_id / ".run.partial").is_dir()  # its checkpoints are kept
        resumed = httpx.post(f"{third.url}/api/v1/jobs/{killed['id']}/resume")
        assert resumed.status_code == 202 and resumed.json()["command"][-1] == "--resume", resumed.text
        wait_for(third.url, killed["id"], ("running",))
        assert httpx.post(f"{third.url}/api/v1/jobs/{killed['id']}/resume").status_code == 409
    finally:
        third.stop(timeout=60)

"""The Space folder is self-contained: assembled by deploy_space.py, it boots as the Space would."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tp.publish.space import assemble_space, dockerfile_env
from tp.serving.process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "bbc-news-minilm"


@pytest.fixture(scope="module")
def space_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("space") / "tp-demo"
    done = subprocess.run([sys.executable, str(ROOT / "scripts/deploy_space.py"), "--space-id", "alice/tp-demo",
                           "--model", str(SHIPPED), "--source", str(ROOT), "--dry-run", str(folder)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return folder


def test_space_folder_contents_and_front_matter(space_dir: Path) -> None:
    from huggingface_hub import SpaceCard

    card = SpaceCard((space_dir / "README.md").read_text())
    assert card.data.sdk == "docker" and card.data.app_port == 7860 and card.data.license == "apache-2.0"
    assert (space_dir / "models/bbc-news-minilm/adapter/adapter_model.safetensors").is_file()
    assert not (space_dir / "models/bbc-news-minilm/model").exists()  # adapter only: the base comes from pip
    requirements = (space_dir / "requirements.txt").read_text()
    assert "torch==2.13.0" in requirements and "pytest" not in requirements
    env = dockerfile_env(space_dir)
    assert env["TP_MODEL"] == "bbc-news-minilm=models/bbc-news-minilm" and env["TP_PORT"] == "7860"
    assert 'CMD ["python", "app.py"]' in (space_dir / "Dockerfile").read_text()


def test_assembling_twice_replaces_the_folder(space_dir: Path) -> None:
    (space_dir / "stale.txt").write_text("left over")
    assemble_space("alice/tp-demo", str(SHIPPED), space_dir, source=ROOT)
    assert not (space_dir / "stale.txt").exists()


def test_space_folder_boots_on_its_own(space_dir: Path, tmp_path: Path) -> None:
    """Its own app.py, in that folder, in a fresh process, with the Dockerfile's settings."""
    found = subprocess.run([sys.executable, "-c", "import tp; print(tp.__file__)"], cwd=space_dir, capture_output=True,
                           text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    # the server below runs the Space folder's own copy of tp, even where tp is installed
    assert Path(found.stdout.strip()).resolve().is_relative_to(space_dir.resolve()), found.stdout + found.stderr
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TP_", "PYTHONPATH"))}
    env.update(dockerfile_env(space_dir))
    env.update({"TP_HOST": "127.0.0.1", "TP_PORT": str(port), "HF_HOME": str(tmp_path / "hf"),
                "XDG_CACHE_HOME": str(tmp_path / "cache"),  # the ONNX export, as a Space's ~/.cache would hold it
                "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"})
    log = tmp_path / "space.log"
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=space_dir, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    server = ServerProcess(process, port, log, time.perf_counter())
    try:
        server.wait_until("/api/v1/ready", timeout=240)
        models = httpx.get(f"{server.url}/api/v1/models", timeout=30).json()
        assert json.dumps(models).count("bbc-news-minilm") >= 1
        info = json.loads((SHIPPED / "tp.json").read_text())
        answer = httpx.post(f"{server.url}/api/v1/predict", json={"inputs": info["examples"]}, timeout=60)
        assert answer.status_code == 200
        assert [r["label"] for r in answer.json()["predictions"]] == info["labels"]
        from gradio_client import Client

        label, _ = Client(server.url, verbose=False).predict(info["examples"][3], "bbc-news-minilm",
                                                             api_name="/classify")
        assert label["label"] == "sports"
    finally:
        server.stop()


def test_a_training_space_turns_the_train_tab_on_and_says_what_it_needs(space_dir: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tp", "space", "--space-id", "alice/tp-trainer", "--model",
                           str(SHIPPED), "--source", str(ROOT), "--training", "--dry-run", str(tmp_path / "space")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "TP_API_KEY" in done.stdout and "not persistent unless storage is attached" in done.stdout
    assert dockerfile_env(tmp_path / "space")["TP_TRAINING"] == "true"
    assert "TP_TRAINING" not in dockerfile_env(space_dir)  # off unless asked

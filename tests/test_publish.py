"""Publishing: dry-run contents, card metadata, and every failure a push can meet (no network used)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hub_standin import HubStandIn

from tp.errors import PublishError
from tp.publish.run import assemble_model_repo, validate_card

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "bbc-news-minilm"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_bert_dir: Path, bbc_frame) -> Path:
    """A real (tiny) LoRA run folder: small enough to push through the stand-in Hub quickly."""
    from tp.config import load_recipe
    from tp.training.train import train

    folder = tmp_path_factory.mktemp("runs")
    csv = folder / "news.csv"
    bbc_frame.to_csv(csv, index=False)
    recipe = load_recipe(None, [f"model.source={tiny_bert_dir}", f"data.source={csv}", "model.max_length=32",
                                "training.max_steps=2", "training.batch_size=8", "method.name=lora",
                                f"output_dir={folder}", "name=tiny"])
    return train(recipe)


def _push(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """push_to_hub.py with --force: the 2-step tiny run has learned nothing (flagged), these tests are the upload's."""
    base = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE")}
    return subprocess.run([sys.executable, str(ROOT / "scripts/push_to_hub.py"), *args, "--force"], capture_output=True,
                          text=True, env={**base, **(env or {})}, timeout=300)


def test_dry_run_of_the_shipped_adapter_only_model(tmp_path: Path) -> None:
    run = tmp_path / "clone"
    shutil.copytree(SHIPPED, run, ignore=shutil.ignore_patterns("model", "eval", "variants"))
    files = assemble_model_repo(run, tmp_path / "dry", "alice/bbc-news-minilm")
    for name in ("README.md", "config.json", "model.safetensors", "tokenizer.json", "adapter/adapter_config.json",
                 "adapter/adapter_model.safetensors", "metrics.json", "reports/confusion_matrix.png"):
        assert name in files, name
    assert not [f for f in files if f.endswith((".bin", ".pt", ".pth", ".pkl"))]
    from transformers import pipeline

    info = json.loads((run / "tp.json").read_text())
    stock = pipeline("text-classification", model=str(tmp_path / "dry"), truncation=True)
    assert [r["label"] for r in stock(info["examples"])] == info["labels"]
    card = (tmp_path / "dry/README.md").read_text()
    assert 'model="alice/bbc-news-minilm"' in card
    validate_card(card, json.loads((run / "metrics.json").read_text()))


def test_card_validation_rejects_what_the_hub_would(tiny_run: Path) -> None:
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    card = (tiny_run / "README.md").read_text()
    validate_card(card, metrics)
    with pytest.raises(PublishError, match="not a Hub dataset id"):
        validate_card(card.replace("library_name:", "datasets:\n- /home/me/data.csv\nlibrary_name:"), metrics)
    with pytest.raises(PublishError, match="not a Hub licence id"):
        validate_card(card.replace("license: apache-2.0", "license: free-for-all"), metrics)
    with pytest.raises(PublishError, match="disagrees with metrics.json"):
        validate_card(card, {**metrics, "test_accuracy": metrics["test_accuracy"] + 0.1})
    assert "base_model:" not in card  # the tiny run's base is a local folder: no path in the metadata
    with pytest.raises(PublishError, match="is a local path"):
        validate_card(card.replace("library_name:", f"base_model: {tiny_run}\nlibrary_name:"), metrics)


def test_bad_arguments(tmp_path: Path, tiny_run: Path) -> None:
    done = _push(str(tiny_run), "--repo-id", "not a repo id", "--dry-run", str(tmp_path / "x"))
    assert done.returncode == 2 and "is not a repository id" in done.stderr
    done = _push(str(tmp_path), "--repo-id", "alice/x", "--dry-run", str(tmp_path / "x"))
    assert done.returncode == 2 and "not a finished run folder" in done.stderr


def test_push_without_a_token_fails_before_any_work(tmp_path: Path, tiny_run: Path) -> None:
    done = _push(str(tiny_run), "--repo-id", "alice/tiny", env={"HF_HOME": str(tmp_path)})
    assert done.returncode == 2 and "No Hugging Face token" in done.stderr


def test_push_offline_and_unreachable(tmp_path: Path, tiny_run: Path) -> None:
    env = {"HF_HOME": str(tmp_path), "HF_TOKEN": "hf_test"}
    done = _push(str(tiny_run), "--repo-id", "alice/tiny", env={**env, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 2 and "HF_HUB_OFFLINE=1 is set" in done.stderr
    done = _push(str(tiny_run), "--repo-id", "alice/tiny", env={**env, "HF_ENDPOINT": "http://127.0.0.1:9"})
    assert done.returncode == 2 and "Could not reach the Hugging Face Hub" in done.stderr


def test_push_sends_one_commit_with_every_file(tmp_path: Path, tiny_run: Path) -> None:
    with HubStandIn() as hub:
        done = _push(str(tiny_run), "--repo-id", "alice/tiny", "--private", "--revision", "v1",
                     env={"HF_HOME": str(tmp_path), "HF_TOKEN": "hf_test", "HF_ENDPOINT": hub.url})
    assert done.returncode == 0, done.stderr
    assert len(hub.created) == 1 and hub.created[0]["visibility"] == "private"
    assert len(hub.commits) == 1 and "/alice/tiny/commit/v1" in hub.commits[0]["path"]
    files = hub.commits[0]["files"]
    for name in ("README.md", "config.json", "model.safetensors", "adapter/adapter_model.safetensors", "tp.json"):
        assert name in files, name
    assert b"pipeline_tag: text-classification" in files["README.md"]


@pytest.mark.parametrize("route, status, role, message", [
    ("whoami-v2", 401, "write", "refused the token (401)"),
    (None, None, "read", "is read and cannot write to alice"),
    ("repos/create", 403, "write", "may not write to alice/tiny (403)"),
    ("commit", 403, "write", "may not write to alice/tiny (403)"),  # a name owned by someone else
])
def test_push_errors_are_one_clear_sentence(tmp_path: Path, tiny_run: Path, route, status, role, message) -> None:
    with HubStandIn(role=role) as hub:
        if route:
            hub.status[route] = status
        done = _push(str(tiny_run), "--repo-id", "alice/tiny",
                     env={"HF_HOME": str(tmp_path), "HF_TOKEN": "hf_test", "HF_ENDPOINT": hub.url})
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert not hub.commits


def test_push_into_an_existing_repo_updates_it(tmp_path: Path, tiny_run: Path) -> None:
    with HubStandIn() as hub:
        hub.status["repos/create"] = 409  # the Hub's answer when the repo exists already
        done = _push(str(tiny_run), "--repo-id", "alice/tiny",
                     env={"HF_HOME": str(tmp_path), "HF_TOKEN": "hf_test", "HF_ENDPOINT": hub.url})
    assert done.returncode == 0, done.stderr
    assert len(hub.commits) == 1 and not hub.unknown


def test_download_offline_says_where_it_looked(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts/download.py"), "alice/not-cached",
                           "--local-dir", str(tmp_path / "m")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "home")})
    assert done.returncode == 2 and "looked in" in done.stderr and "HF_HUB_OFFLINE=1" in done.stderr
    assert not (tmp_path / "m").exists()

"""Slow: resume after SIGKILL, accelerate with 2 processes, 8-bit LoRA. Run: pytest -m slow"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ["--config", str(ROOT / "configs/bbc-minilm-lora.yaml"), "--set", "data.max_train_samples=64",
          "--set", "data.max_eval_samples=32", "--set", "model.max_length=64", "--set", "training.batch_size=8",
          "--set", "training.eval_strategy=steps", "--set", "training.eval_steps=3",
          "--set", "training.min_steps=0", "--epochs", "2"]  # 8 steps an epoch, 16 in all
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def _train(output: Path, *extra: str, launcher: tuple[str, ...] = (sys.executable,)) -> subprocess.Popen:
    return subprocess.Popen([*launcher, str(ROOT / "scripts/train.py"), *RECIPE, "--output", str(output), *extra],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_gives_the_same_final_metrics(tmp_path: Path) -> None:
    straight = _train(tmp_path / "a", "--name", "run")
    assert straight.wait(timeout=900) == 0, straight.stdout.read()
    killed = _train(tmp_path / "b", "--name", "run")
    checkpoint = tmp_path / "b/.run.partial/checkpoints/checkpoint-6"  # mid-epoch 1 (8 steps an epoch)
    deadline = time.time() + 900
    while not (checkpoint / "trainer_state.json").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / "b/run").exists()  # nothing half-written where the run folder goes
    refused = _train(tmp_path / "b", "--name", "run")
    assert refused.wait(timeout=300) == 2 and "--resume" in refused.stdout.read()
    resumed = _train(tmp_path / "b", "--name", "run", "--resume")
    assert resumed.wait(timeout=900) == 0, resumed.stdout.read()
    a, b = _metrics(tmp_path / "a/run"), _metrics(tmp_path / "b/run")
    assert b["resumed"] is True and b["train_steps"] == a["train_steps"] == 16
    assert b["test_accuracy"] == a["test_accuracy"]
    assert b["eval_loss"] == pytest.approx(a["eval_loss"], abs=1e-5)


@pytest.mark.slow
def test_accelerate_launch_with_two_cpu_processes(tmp_path: Path) -> None:
    accelerate = (sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "2",
                  "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no")
    process = _train(tmp_path, "--name", "ddp", "--max-steps", "4", launcher=accelerate)
    output = process.communicate(timeout=900)[0]
    assert process.returncode == 0, output
    metrics = _metrics(tmp_path / "ddp")
    assert metrics["train_steps"] == 4 and metrics["test_size"] == 32
    assert (tmp_path / "ddp/model/model.safetensors").is_file()


@pytest.mark.slow
def test_8bit_lora_trains_on_the_cpu_and_merges_to_fp32(tmp_path: Path) -> None:
    process = _train(tmp_path, "--name", "int8", "--max-steps", "3", "--set", "model.load_in_8bit=true")
    output = process.communicate(timeout=900)[0]
    assert process.returncode == 0, output
    metrics = _metrics(tmp_path / "int8")
    assert metrics["quantized_base"] == "8bit"
    from transformers import pipeline

    stock = pipeline("text-classification", model=str(tmp_path / "int8/model"))
    assert stock("Parliament votes on the budget today.")[0]["label"] in json.loads(
        (tmp_path / "int8/tp.json").read_text())["labels"]

"""Image classification: methods on a tiny ViT, a tiny training run on real digits, resume, the planner for ViT."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tp.config import MethodConfig, ModelConfig, load_recipe
from tp.errors import ModelSourceError, TrainingError
from tp.models.image_classifier import ImageClassifier
from tp.models.loading import load_classifier
from tp.training.modeling import apply_method, count_parameters, load_base_classifier
from tp.training.train import train

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "configs/digits-vit.yaml"
QUICK = ["data.max_train_samples=60", "data.max_eval_samples=30", "training.max_steps=6", "training.batch_size=10",
         "training.eval_strategy=steps", "training.eval_steps=3", "training.logging_steps=1",
         "training.eval_batch_size=30"]
LABELS = ["a", "b", "c"]


def _vit(folder: Path) -> torch.nn.Module:
    return load_base_classifier(ModelConfig(source=str(folder)), LABELS, str(folder), image=True)


def _trainable(model: torch.nn.Module) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


def test_methods_train_what_they_say_on_a_vit(tiny_vit_dir: Path) -> None:
    lora = apply_method(_vit(tiny_vit_dir), MethodConfig(name="lora", lora_r=4))
    names = _trainable(lora)
    assert any("q_proj.lora_A" in n for n in names) and any("v_proj.lora_B" in n for n in names)
    assert all("lora_" in n or "classifier" in n for n in names)
    assert count_parameters(lora)[0] == 2 * 2 * 4 * (32 + 32) + 32 * 3 + 3  # 2 blocks x (q, v) x r x (in+out) + head
    out = lora(pixel_values=torch.randn(2, 3, 32, 32), labels=torch.tensor([0, 2]))
    out.loss.backward()
    assert all(p.grad is not None for n, p in lora.named_parameters() if "lora_B" in n)
    assert _trainable(apply_method(_vit(tiny_vit_dir), MethodConfig(name="head"))) == {"classifier.weight",
                                                                                      "classifier.bias"}
    frozen = _trainable(apply_method(_vit(tiny_vit_dir), MethodConfig(name="freeze", train_last_n_blocks=1)))
    assert any(n.startswith("vit.layers.1.") for n in frozen) and "vit.layernorm.weight" in frozen
    assert not any(n.startswith(("vit.layers.0.", "vit.embeddings.")) for n in frozen)
    full = apply_method(_vit(tiny_vit_dir), MethodConfig(name="full"))
    assert count_parameters(full)[0] == count_parameters(full)[1]


def test_mismatched_model_and_data_and_lora_from_scratch_are_refused(tmp_path: Path, tiny_bert_dir: Path) -> None:
    text_model = load_recipe(DIGITS, [*QUICK, f"model.source={tiny_bert_dir}", f"output_dir={tmp_path}"])
    with pytest.raises(TrainingError, match="is a text model but builtin:digits is an image dataset"):
        train(text_model)
    lora = load_recipe(DIGITS, [*QUICK, "method.name=lora", f"output_dir={tmp_path}", "name=lora"])
    with pytest.raises(TrainingError, match="no pretrained weights .* use method.name=full"):
        train(lora)
    hub = load_recipe(DIGITS, [*QUICK, "model.source=google/vit-base-patch16-224-in21k", "method.name=lora",
                               f"output_dir={tmp_path}", "name=hub"])
    with pytest.raises(ModelSourceError, match="HF_HUB_OFFLINE=1 forbids downloading it"):
        train(hub)  # offline: fails at once, with what to do


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("runs")
    return train(load_recipe(DIGITS, [*QUICK, f"output_dir={output}", "name=quick"]))


def test_run_folder_of_an_image_model(digits_run: Path) -> None:
    for name in ("model/model.safetensors", "model/config.json", "model/preprocessor_config.json", "metrics.json",
                 "config.yaml", "tp.json", "data_split.json", "reports/confusion_matrix.png",
                 "reports/training_curves.png", "README.md"):
        assert (digits_run / name).is_file(), name
    info = json.loads((digits_run / "tp.json").read_text())
    assert info["task"] == "image-classification" and info["labels"] == [str(d) for d in range(10)]
    assert info["image_size"] == [32, 32] and info["pretrained"] is False
    assert info["examples"] == [f"examples/{d}.png" for d in range(10)]
    assert all(Image.open(digits_run / path).size == (8, 8) for path in info["examples"])
    metrics = json.loads((digits_run / "metrics.json").read_text())
    assert metrics["train_steps"] == 6 and metrics["test_size"] == 30 and metrics["trainable_params"] > 100_000
    assert metrics["merge_max_logit_diff"] < 1e-5  # the saved model predicts what the trained one did
    split = json.loads((digits_run / "data_split.json").read_text())
    assert split["task"] == "image-classification" and split["test_fingerprint"] == info["data"]["test_fingerprint"]


def test_card_says_image_classification_and_from_scratch(digits_run: Path) -> None:
    from huggingface_hub import ModelCard

    card = ModelCard.load(digits_run / "README.md")
    data = card.data.to_dict()
    assert data["pipeline_tag"] == "image-classification" and "base_model" not in data  # no fake Hub base
    assert 'pipeline("image-classification"' in card.text and ".predict([Image.open(" in card.text
    assert "trained from scratch" in card.text and "no pretrained base" in card.text


def test_tp_and_the_stock_pipeline_agree_on_the_example_images(digits_run: Path) -> None:
    from transformers import pipeline

    info = json.loads((digits_run / "tp.json").read_text())
    images = [Image.open(digits_run / path) for path in info["examples"]]
    classifier = load_classifier(digits_run)
    assert isinstance(classifier, ImageClassifier) and classifier.labels == info["labels"]
    ours = classifier.predict(images)
    stock = pipeline("image-classification", model=str(digits_run / "model"), device="cpu")
    for image, mine in zip(images, ours, strict=True):
        theirs = stock(image.convert("RGB"), top_k=1)[0]
        assert theirs["label"] == mine["label"]
        assert theirs["score"] == pytest.approx(mine["score"], abs=1e-5)


def test_evaluate_script_reproduces_the_recorded_split(digits_run: Path, tmp_path: Path) -> None:
    from tp.cli.main import main

    assert main(["evaluate", str(digits_run), "--output", str(tmp_path / "eval")]) == 0
    result = json.loads((tmp_path / "eval/metrics.json").read_text())
    trained = json.loads((digits_run / "metrics.json").read_text())
    assert result["same_split_as_training"] is True and "images_per_second" in result
    assert result["test_accuracy"] == pytest.approx(trained["test_accuracy"])


def test_lora_on_a_vit_saves_adapter_and_merged_model(tiny_vit_dir: Path, tmp_path: Path) -> None:
    recipe = load_recipe(DIGITS, [*QUICK, f"model.source={tiny_vit_dir}", "method.name=lora", "method.lora_r=4",
                                  "training.max_steps=3", f"output_dir={tmp_path}", "name=lora"])
    run = train(recipe)
    assert (run / "adapter/adapter_model.safetensors").is_file() and (run / "model/model.safetensors").is_file()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["trainable_params"] == 2 * 2 * 4 * 64 + 32 * 10 + 10
    assert metrics["merge_max_logit_diff"] < 1e-4
    images = [Image.open(run / p) for p in json.loads((run / "tp.json").read_text())["examples"]]
    adapter_only = tmp_path / "adapter-only"
    shutil.copytree(run, adapter_only, ignore=shutil.ignore_patterns("model"))
    merged, from_adapter = load_classifier(run), load_classifier(adapter_only)
    assert np.abs(merged.predict_logits(images) - from_adapter.predict_logits(images)).max() < 1e-4


def test_a_killed_image_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    args = [sys.executable, str(ROOT / "scripts/train.py"), "--config", str(DIGITS), "--output", str(tmp_path),
            "--name", "run", *[f"--set={o}" for o in QUICK], "--max-steps", "30",
            "--set", "training.eval_strategy=steps", "--set", "training.eval_steps=2"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    killed = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    checkpoints = tmp_path / ".run.partial/checkpoints"
    deadline = time.time() + 300
    while not list(checkpoints.glob("checkpoint-*/trainer_state.json")) and time.time() < deadline:
        assert killed.poll() is None, killed.stderr.read()[-2000:]  # it must still be training
        time.sleep(0.05)
    time.sleep(0.3)  # let the checkpoint's files land, then kill mid-run
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    assert list(checkpoints.glob("checkpoint-*")) and not (tmp_path / "run").exists()
    recipe = load_recipe(DIGITS, [*QUICK, f"output_dir={tmp_path}", "name=run", "training.max_steps=30",
                                  "training.eval_strategy=steps", "training.eval_steps=2"])
    run = train(recipe, resume=True)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["resumed"] is True and metrics["train_steps"] == 30
    assert isinstance(load_classifier(run), ImageClassifier)


def test_planner_covers_vit() -> None:
    from tp.training.memory_plan import plan_memory

    tiny = plan_memory(load_recipe(DIGITS, []), num_labels=10)
    assert tiny.sequence_length == (32 // 4) ** 2 + 1
    assert tiny.total_params == tiny.trainable_params == 142_026  # full training of builtin:vit-tiny
    base = plan_memory(load_recipe(ROOT / "configs/cifar10-vit-lora.yaml", []), num_labels=10)
    assert base.sequence_length == 197  # (224 / 16)^2 patches + [CLS]
    assert base.trainable_params == 12 * 2 * 16 * (768 + 768) + 768 * 10 + 10  # LoRA r=16 on q/v + head
    assert 85_000_000 < base.total_params < 87_000_000  # ViT-B/16, from the config shipped in tp/ (offline)
    assert base.fits and base.budget_gib == 8.0
    from tp.cli.main import main

    assert main(["plan", "--config", str(ROOT / "configs/cifar10-vit-lora.yaml"), "--budget-gib", "8"]) == 0


@pytest.mark.slow
def test_digits_recipe_reaches_90_percent(tmp_path: Path) -> None:
    run = train(load_recipe(DIGITS, [f"output_dir={tmp_path}"]))
    assert json.loads((run / "metrics.json").read_text())["test_accuracy"] >= 0.90

"""Fine-tune a text or image classifier from a recipe with transformers.Trainer, into a run folder.

The data decides the task: an image source (builtin:digits, an image folder, a Hub image dataset) trains an
image classifier, whose processor turns images into `pixel_values` on the fly (augmenting training images).

Work happens in `<output_dir>/.<name>.partial/` (checkpoints every `save_steps`), so a run killed
mid-epoch resumes with `resume=True` from its last checkpoint; the finished run folder appears only
at the end, by a rename. Runs under `accelerate launch` (DDP) unchanged: only the main process writes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from tp.config import Recipe
from tp.errors import TrainingError
from tp.tasks import IMAGE, MULTI_LABEL


def _prepare_work_folder(recipe: Recipe, resume: bool, overwrite: bool, is_main: bool) -> Path:
    run_dir = recipe.run_dir
    work = run_dir.parent / f".{run_dir.name}.partial"
    if not is_main:
        return work
    if run_dir.exists() and not overwrite:
        raise TrainingError(f"{run_dir} already exists: pass --overwrite to replace it, or --name another.")
    saved = work / "config.yaml"
    if work.exists() and resume and saved.is_file():
        before = yaml.safe_load(saved.read_text(encoding="utf-8"))
        if before != recipe.to_dict():
            raise TrainingError(f"--resume: the recipe differs from the interrupted run's {saved}; "
                                "resume with the same recipe, or pass --overwrite to start over.")
    elif work.exists() and not overwrite:
        raise TrainingError(f"An interrupted run left {work}: pass --resume to continue it, "
                            "or --overwrite to start over.")
    elif work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    return work


def _tokenize(data: Any, tokenizer: Any, max_length: int, truncation: str) -> dict[str, Any]:
    from datasets import Dataset

    from tp.models.text_encoding import encode_texts

    def encode(batch: dict[str, list]) -> dict[str, list]:
        pairs = batch.get("text_pair")
        return dict(encode_texts(tokenizer, batch["text"], max_length, truncation, pairs=pairs))

    return {name: Dataset.from_dict(split).map(encode, batched=True,
                                               remove_columns=[c for c in ("text", "text_pair") if c in split])
            for name, split in data.items()}


def _training_arguments(recipe: Recipe, work: Path, precision: str) -> Any:
    import torch
    from transformers import TrainingArguments

    t = recipe.training  # resolved: learning rate and evaluation interval are set (tp.training.defaults)
    return TrainingArguments(
        output_dir=str(work / "checkpoints"), num_train_epochs=t.epochs, max_steps=t.max_steps,
        per_device_train_batch_size=t.batch_size, per_device_eval_batch_size=t.eval_batch_size,
        gradient_accumulation_steps=t.gradient_accumulation_steps, learning_rate=t.learning_rate,
        weight_decay=t.weight_decay, warmup_steps=t.warmup_ratio, seed=t.seed,  # float: a ratio
        eval_strategy=t.eval_strategy, eval_steps=t.eval_steps,
        # every evaluation is a checkpoint: the best one is kept (and loaded at the end), the last one resumes
        save_strategy=t.eval_strategy, save_steps=t.eval_steps, save_total_limit=2,
        load_best_model_at_end=True, metric_for_best_model=t.metric_for_best_model,
        greater_is_better=t.metric_for_best_model not in ("loss", "rmse", "mae"),
        logging_steps=t.logging_steps, report_to="none", fp16=precision == "fp16",
        bf16=precision == "bf16", dataloader_num_workers=0, dataloader_pin_memory=torch.cuda.is_available(),
        ddp_find_unused_parameters=False,
        # image rows hold indices that a transform turns into pixel_values: Trainer must not drop the columns
        remove_unused_columns=False, label_names=["labels"],  # peft's plain wrapper hides `labels` otherwise
    )


def _build_model(recipe: Recipe, labels: list[str], image: bool, problem_type: str) -> tuple[Any, Any, Any]:
    """(model with the method applied, tokenizer or image processor, resolved source)."""
    from transformers import AutoImageProcessor, AutoTokenizer

    from tp.console import quiet_loading
    from tp.models.image_classifier import is_image_model
    from tp.sources import resolve_model_source
    from tp.training.modeling import apply_method, architecture_of, load_base_classifier

    source = resolve_model_source(recipe.model.source, recipe.model.revision)
    config = json.loads((source.path / "config.json").read_text())
    if is_image_model(config) != image:
        kinds = ("an image", "a text") if is_image_model(config) else ("a text", "an image")
        raise TrainingError(f"{recipe.model.source} is {kinds[0]} model but {recipe.data.source} is {kinds[1]} "
                            "dataset: pair image models with image data and text models with text data.")
    if not source.pretrained and recipe.method.name != "full":
        raise TrainingError(f"{recipe.model.source} has no pretrained weights (it is trained from scratch): "
                            f"method.name={recipe.method.name} would train a random network; use method.name=full.")
    preprocessor = (AutoImageProcessor if image else AutoTokenizer).from_pretrained(source.path)
    quantized = recipe.model.load_in_8bit or recipe.model.load_in_4bit
    head = architecture_of(config["model_type"]).head if recipe.method.target_modules is None else ("classifier",)
    with quiet_loading():
        model = load_base_classifier(recipe.model, labels, str(source.path), head, image, source.pretrained,
                                     problem_type)
    if source.pretrained:
        print(f"the classification head ({', '.join(head)}) is new: it is trained from scratch for "
              f"{len(labels)} labels", flush=True)
    model = apply_method(model, recipe.method, quantized, recipe.training.gradient_checkpointing)
    return model, preprocessor, source


def _datasets_and_collator(data: Any, preprocessor: Any, recipe: Recipe,
                           splits: dict[str, dict[str, list]]) -> tuple[dict[str, Any], Any]:
    """Per split (`splits`: the data's, targets standardised for regression), a dataset Trainer can batch, and
    the collator that batches it."""
    if data.task == IMAGE.name:
        from tp.data.images import collate_images, image_datasets

        return image_datasets(data.splits, preprocessor, recipe.data.augmentation, recipe.training.seed), \
            collate_images
    from transformers import DataCollatorWithPadding

    return (_tokenize(splits, preprocessor, recipe.model.max_length, recipe.data.truncation),
            DataCollatorWithPadding(preprocessor))


def _parity_batch(data: Any, preprocessor: Any, recipe: Recipe) -> dict[str, Any]:
    """A few test inputs, as the model takes them, to compare the trained and the saved model."""
    test = data.splits["test"]
    if data.task == IMAGE.name:
        from tp.data.images import open_image, to_rgb

        return preprocessor(images=[to_rgb(open_image(x)) for x in test["image"][:8]], return_tensors="pt")
    from tp.models.text_encoding import encode_texts

    return encode_texts(preprocessor, test["text"][:8], recipe.model.max_length, recipe.data.truncation,
                        padding=True, return_tensors="pt", pairs=test["text_pair"][:8] if data.pairs else None)


def _run_info(recipe: Recipe, data: Any, source: Any, preprocessor: Any, out: Path) -> dict[str, Any]:
    """What tp.json records: labels, base, method, data; text length or image size, and examples."""
    info = {"name": recipe.name, "task": data.task, "problem_type": data.problem_type, "labels": data.labels,
            "text_pair": data.pairs, "base_model": source.name,
            "base_source": recipe.model.source, "pretrained": source.pretrained, "method": recipe.method.name,
            "data": data.record, "training": recipe.to_dict()["training"]}
    if data.task == IMAGE.name:
        from tp.data.images import processor_size, save_examples

        info["image_size"] = list(processor_size(preprocessor))  # [height, width]
        info["examples"] = save_examples(data.splits["test"], data.labels, out / "examples")
    else:
        from tp.data.labels import examples_per_label

        info["max_length"] = recipe.model.max_length
        info["truncation"] = recipe.data.truncation
        info["examples"] = examples_per_label(data.splits["test"], data.labels)
    return info


def _run_metrics(recipe: Recipe, trainer: Any, timing: Any, precision: str, resumed: bool) -> dict[str, Any]:
    """What a run measured besides test metrics: time, memory, parameters, versions."""
    import numpy as np
    import torch

    from tp.evaluation.metrics import package_versions, peak_rss_bytes, training_state_bytes
    from tp.training.modeling import count_parameters

    trainable, total = count_parameters(trainer.model)
    quantized = "8bit" if recipe.model.load_in_8bit else "4bit" if recipe.model.load_in_4bit else None
    metrics = {
        "train_seconds": round(timing.seconds(), 1), "train_steps": trainer.state.global_step,
        "step_seconds_median": round(float(np.median(timing.step_seconds)), 3) if timing.step_seconds else None,
        "trainable_params": trainable, "total_params": total, "peak_rss_bytes": peak_rss_bytes(),
        **training_state_bytes(trainer.model, trainer.optimizer),
        "device": "cuda" if torch.cuda.is_available() else "cpu", "precision": precision,
        "quantized_base": quantized, "dataset": recipe.data.source, "seed": recipe.training.seed,
        "resumed": resumed, "versions": package_versions(),
    }
    if torch.cuda.is_available():
        metrics["cuda_max_memory_allocated_bytes"] = torch.cuda.max_memory_allocated()
    return metrics


def train(recipe: Recipe, resume: bool = False, overwrite: bool = False, budget_gib: float = 8.0,
          deadline: float | None = None) -> Path:
    """Train `recipe` and write its run folder; prints the data, the choices and the memory plan first.

    `deadline` (time.monotonic()): stop training then, keeping the best checkpoint so far (the search's budget).
    Returns the run folder.
    """
    from tp.console import quiet_libraries

    with quiet_libraries():
        return _train(recipe, resume, overwrite, budget_gib, deadline)


def _train(recipe: Recipe, resume: bool, overwrite: bool, budget_gib: float, deadline: float | None) -> Path:
    import torch
    from accelerate import PartialState
    from transformers import EarlyStoppingCallback, Trainer, set_seed

    from tp.data.labels import format_label_counts
    from tp.data.prepare import prepare_data
    from tp.evaluation.skill_check import format_summary, judge_run
    from tp.files import publish_folder
    from tp.training.callbacks import PROGRESS_ENV, deadline_callback, progress_callback, timing_callback
    from tp.training.defaults import fit_max_length, planned_epochs, resolve_recipe
    from tp.training.memory_plan import format_plan, plan_memory
    from tp.training.modeling import pick_precision
    from tp.training.objectives import loss_for, selection_metric, target_scale, validation_metrics
    from tp.training.run_folder import merge_parity, save_trained_model, write_recipe, write_reports_and_card
    from tp.training.test_step import fold_and_describe, selection_record, test_metrics, training_splits

    state = PartialState()
    work = _prepare_work_folder(recipe, resume, overwrite, state.is_main_process)
    state.wait_for_everyone()
    precision = pick_precision(recipe.training.precision)
    if recipe.training.cpu_threads and not torch.cuda.is_available():
        torch.set_num_threads(recipe.training.cpu_threads)
    set_seed(recipe.training.seed)
    # 1. data, with the split and its label distribution recorded
    data = prepare_data(recipe.data)
    requested = recipe.to_dict()  # what --resume compares: the recipe as written, before tp's choices
    # 2. what tp decides from the data: method, learning rate, steps, evaluation interval, class weights
    metric, _ = selection_metric(recipe.training.metric_for_best_model, data.problem)
    recipe = dataclasses.replace(recipe, training=dataclasses.replace(recipe.training, metric_for_best_model=metric))
    recipe, choices = resolve_recipe(recipe, data.size("train"), len(data.labels), budget_gib, state.num_processes,
                                     data.problem_type)
    loss, weights, weights_why = loss_for(data.problem, recipe.training.class_weights, data.splits["train"]["label"],
                                          data.labels)
    scale = target_scale(data.splits["train"]["label"]) if data.problem.is_regression else None
    if state.is_main_process:
        write_recipe(work, requested, data.record)
        sizes = data.record["sizes"] if data.problem is MULTI_LABEL else None
        print(format_label_counts(data.record["label_counts"], sizes), flush=True)
        print("\n".join(f"tp chose {line}" for line in [*choices, weights_why]), flush=True)
        # on a CPU, plan for the GPU the recipe would get; on CUDA, for the precision actually used
        gpu_precision = precision if torch.cuda.is_available() else None
        print(format_plan(plan_memory(recipe, budget_gib, gpu_precision, num_labels=len(data.labels))), flush=True)
    # 3. model: base (optionally 8/4-bit; random for a built-in architecture) with a fresh head, then the method
    model, preprocessor, source = _build_model(recipe, data.labels, data.task == IMAGE.name, data.problem_type)
    if data.task != IMAGE.name:
        recipe, capped = fit_max_length(recipe, model.config)
        if capped:
            choices.append(capped)
            if state.is_main_process:
                print(f"tp chose {capped}", flush=True)
    # 4. train, resuming from the last checkpoint when asked; the best checkpoint by validation metric is kept
    tokenized, collator = _datasets_and_collator(data, preprocessor, recipe, training_splits(data, scale))
    # a kill while a checkpoint was being written leaves it without trainer_state.json (written last): skip it
    complete = [p for p in (work / "checkpoints").glob("checkpoint-*") if (p / "trainer_state.json").is_file()]
    checkpoints = sorted(complete, key=lambda p: int(p.name.split("-")[1]))
    resumed = bool(resume and checkpoints)
    saved_seconds = work / "elapsed.json"
    previous = json.loads(saved_seconds.read_text())["seconds"] if resumed and saved_seconds.is_file() else 0.0
    timing = timing_callback(work, previous)
    callbacks = [timing]
    if recipe.training.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(recipe.training.early_stopping_patience))
    if deadline is not None:
        callbacks.append(deadline_callback(deadline))
    if os.environ.get(PROGRESS_ENV):
        callbacks.append(progress_callback(Path(os.environ[PROGRESS_ENV])))
    trainer = Trainer(model=model, args=_training_arguments(recipe, work, precision),
                      train_dataset=tokenized["train"], eval_dataset=tokenized["validation"],
                      processing_class=preprocessor, data_collator=collator,
                      compute_loss_func=loss, compute_metrics=validation_metrics(data.problem, data.labels),
                      callbacks=callbacks)
    trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if resumed else None)
    # 5. test on the recorded split (the best checkpoint is loaded), judged against the baselines
    metrics, outputs = test_metrics(trainer, tokenized, data, scale)
    if state.is_main_process:
        metrics.update(base_model=source.name,
                       **_run_metrics(recipe, trainer, timing, precision, resumed))
        metrics.update(class_weights=dict(zip(data.labels, weights, strict=True)) if weights else None,
                       choices=[*choices, weights_why],
                       selection=selection_record(trainer, recipe.training.metric_for_best_model, scale),
                       epochs_planned=round(planned_epochs(recipe.training, data.size("train"),
                                                           state.num_processes), 3))
        judge_run(metrics, data.splits, data.labels, data.problem)
        # 6. the run folder, written in a temporary folder and renamed at the end
        out = work / "out"
        write_recipe(out, recipe.to_dict(), data.record)
        info = _run_info(recipe, data, source, preprocessor, out)
        info.update(fold_and_describe(trainer.model, outputs, scale))
        merged = save_trained_model(out, trainer.model, preprocessor, info)
        metrics["merge_max_logit_diff"] = merge_parity(trainer.model, merged, _parity_batch(data, preprocessor, recipe))
        write_reports_and_card(out, metrics, info, trainer.state.log_history, outputs)
        publish_folder(out, recipe.run_dir, overwrite=overwrite)
        shutil.rmtree(work)
        print(format_summary(metrics), flush=True)
    state.wait_for_everyone()
    return recipe.run_dir

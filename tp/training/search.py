"""A time-boxed hyperparameter search: method, learning rate, epochs and class weights, by validation macro-F1.

Trial 1 is tp's defaults (so the winner is never worse than them on validation); optuna's TPE sampler picks
the rest. Every trial is a full run (`tp.training.train`) into `<output_dir>/.<name>.search/`, stopped at the
budget's deadline with its best checkpoint kept; only the best trial's folder is kept and becomes the run,
with every trial recorded in `reports/search.{json,md,png}` and in metrics.json (`search`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tp.config import Recipe
from tp.errors import ConfigError, TrainingError

LEARNING_RATES = {"lora": (2e-4, 3e-3), "full": (1e-5, 1.5e-4)}  # log-uniform ranges per method
EPOCHS = (1.0, 10.0)
SELECTION = "macro_f1"  # trials are compared on validation macro-F1, whatever the recipe selects by


@dataclass
class SearchConfig:
    trials: int
    time_budget_minutes: float | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ConfigError(f"`--search` should be at least 1 trial, got {self.trials}.")
        if self.time_budget_minutes is not None and self.time_budget_minutes <= 0:
            raise ConfigError(f"`--time-budget` should be positive minutes, got {self.time_budget_minutes}.")


def trial_recipe(recipe: Recipe, params: dict[str, Any], folder: Path) -> Recipe:
    """The recipe of one trial: `params` (method, lr_<method>, epochs, class_weights) over `recipe`."""
    method = params["method"]
    training = dataclasses.replace(recipe.training, learning_rate=params[f"lr_{method}"], epochs=params["epochs"],
                                   max_steps=-1, min_steps=0, class_weights=params["class_weights"],
                                   metric_for_best_model=SELECTION)
    return dataclasses.replace(recipe, output_dir=str(folder), method=dataclasses.replace(recipe.method, name=method),
                               training=training)


def _read(run: Path) -> dict[str, Any]:
    return json.loads((run / "metrics.json").read_text(encoding="utf-8"))


def _defaults_params(run: Path) -> dict[str, Any]:
    """The defaults trial in the search's parameters, from what its run resolved and recorded."""
    import yaml

    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8"))
    method, metrics = config["method"]["name"], _read(run)
    return {"method": method, f"lr_{method}": config["training"]["learning_rate"],
            "epochs": round(float(metrics["epochs_planned"]), 2),
            "class_weights": "balanced" if metrics.get("class_weights") else "none"}


def _distributions(params: dict[str, Any]) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    method = params["method"]
    low, high = LEARNING_RATES.get(method, (1e-5, 3e-3))
    lr = params[f"lr_{method}"]
    return {"method": CategoricalDistribution(["lora", "full"] if method in LEARNING_RATES else [method]),
            f"lr_{method}": FloatDistribution(min(low, lr), max(high, lr), log=True),
            "epochs": FloatDistribution(min(EPOCHS[0], params["epochs"]), max(EPOCHS[1], params["epochs"])),
            "class_weights": CategoricalDistribution(["none", "balanced"])}


def _suggest(trial: Any, methods: list[str], epochs: tuple[float, float]) -> dict[str, Any]:
    method = trial.suggest_categorical("method", methods)
    low, high = LEARNING_RATES[method]
    return {"method": method, f"lr_{method}": trial.suggest_float(f"lr_{method}", low, high, log=True),
            "epochs": round(trial.suggest_float("epochs", *epochs), 2),
            "class_weights": trial.suggest_categorical("class_weights", ["none", "balanced"])}


def _row(number: int, params: dict[str, Any], run: Path, seconds: float) -> dict[str, Any]:
    metrics = _read(run)
    method = params["method"]
    return {"trial": number, "method": method, "learning_rate": params[f"lr_{method}"], "epochs": params["epochs"],
            "class_weights": params["class_weights"], "validation_macro_f1": metrics["selection"]["value"],
            "steps": metrics["train_steps"], "seconds": round(seconds, 1), "defaults": number == 1}


def search(recipe: Recipe, config: SearchConfig, budget_gib: float = 8.0, overwrite: bool = False) -> Path:
    """Run up to `config.trials` trials within the time budget; the best by validation macro-F1 becomes the run."""
    import optuna

    from tp.files import publish_folder
    from tp.training.search_report import write_search_report
    from tp.training.train import train

    if recipe.data.task == "regression":
        raise ConfigError("--search compares trials on validation macro-F1, which a regression run does not have: "
                          "train without --search (multi-label and single-label runs can be searched).")
    final = recipe.run_dir
    if final.exists() and not overwrite:
        raise TrainingError(f"{final} already exists: pass --overwrite to replace it, or --name another.")
    work = final.parent / f".{final.name}.search"
    shutil.rmtree(work, ignore_errors=True)
    start = time.monotonic()
    deadline = start + config.time_budget_minutes * 60 if config.time_budget_minutes else None
    rows: list[dict[str, Any]] = []
    kept: dict[str, Any] = {}  # the best trial so far: {"value", "run", "trial"}

    def run_trial(number: int, trial_of: Any, params: dict[str, Any] | None) -> float:
        left = f", {max(0.0, deadline - time.monotonic()) / 60:.1f} min left" if deadline else ""
        print(f"\n=== search: trial {number} of {config.trials}{left} ===", flush=True)
        began = time.monotonic()
        run = train(trial_of(work / f"trial-{number}"), budget_gib=budget_gib, deadline=deadline)
        rows.append(_row(number, params or _defaults_params(run), run, time.monotonic() - began))
        value = rows[-1]["validation_macro_f1"]
        value = -1.0 if value is None else value
        if not kept or value > kept["value"]:
            if kept:
                shutil.rmtree(kept["run"].parent, ignore_errors=True)  # only the best trial's folder is kept
            kept.update(value=value, run=run, trial=number)
        else:
            shutil.rmtree(run.parent, ignore_errors=True)
        return value

    # trial 1: tp's defaults as they resolve on this data, compared on the same validation metric
    defaults = dataclasses.replace(recipe, training=dataclasses.replace(recipe.training,
                                                                        metric_for_best_model=SELECTION))
    value = run_trial(1, lambda folder: dataclasses.replace(defaults, output_dir=str(folder)), None)
    first = {key: rows[0][key] for key in ("method", "epochs", "class_weights")}
    first[f"lr_{first['method']}"] = rows[0]["learning_rate"]
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=config.seed))
    study.add_trial(optuna.trial.create_trial(params=first, distributions=_distributions(first), value=value))
    epochs = (min(EPOCHS[0], first["epochs"]), max(EPOCHS[1], first["epochs"]))  # the defaults' epochs included
    for number in range(2, config.trials + 1):
        if first["method"] not in LEARNING_RATES:
            print(f"search: method {first['method']} has no search space (lora and full do)", flush=True)
            break
        if deadline is not None and _too_late(rows, deadline):
            print(f"search: stopping after {number - 1} trials: the time budget is spent", flush=True)
            break
        trial = study.ask()
        params = _suggest(trial, ["lora", "full"], epochs)
        study.tell(trial, run_trial(number, lambda folder, p=params: trial_recipe(recipe, p, folder), params))
    write_search_report(kept["run"], rows, kept["trial"], config, time.monotonic() - start)
    publish_folder(kept["run"], final, overwrite=overwrite)
    shutil.rmtree(work, ignore_errors=True)
    return final


def _too_late(rows: list[dict[str, Any]], deadline: float) -> bool:
    """No new trial when less than a third of the shortest trial so far is left: it could learn nothing."""
    shortest = min(row["seconds"] for row in rows)
    return deadline - time.monotonic() < max(30.0, math.ceil(shortest / 3))

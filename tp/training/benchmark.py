"""Compare training methods (lora, full, head) on the same data, steps and seed, each in its own process.

Each method runs `tp train` in a fresh process so its peak RSS is its own; the numbers come
from the run folders' metrics.json. Ratios are lora/full, measured in the same benchmark run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# each method at a learning rate that suits it (a fresh head and LoRA want more than full fine-tuning)
LEARNING_RATES = {"lora": 1e-3, "full": 5e-5, "head": 5e-3, "freeze": 1e-4}
GOALS = {"training_state_ratio": 0.35, "step_time_ratio": 0.8, "accuracy_points": 1.0}


def run_method(method: str, recipe: str, output: Path, overrides: list[str]) -> dict[str, Any]:
    """Train one method in a subprocess; return its metrics.json."""
    command = [sys.executable, "-m", "tp", "train", "--config", recipe, "--output", str(output),
               "--name", method, "--set", f"method.name={method}",
               "--set", f"training.learning_rate={LEARNING_RATES[method]}"]
    for override in overrides:
        command += ["--set", override]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads((output / method / "metrics.json").read_text())


def summarize(metrics: dict[str, Any]) -> dict[str, Any]:
    keys = ("step_seconds_median", "peak_rss_bytes", "training_state_bytes", "weights_bytes", "gradients_bytes",
            "optimizer_bytes", "trainable_params", "total_params", "test_accuracy", "test_macro_f1",
            "train_steps", "train_seconds")
    return {key: metrics.get(key) for key in keys}


def compare(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """lora/full ratios and whether each goal is met."""
    lora, full = results["lora"], results["full"]
    ratios = {
        "training_state_ratio": lora["training_state_bytes"] / full["training_state_bytes"],
        "step_time_ratio": lora["step_seconds_median"] / full["step_seconds_median"],
        "peak_rss_ratio": lora["peak_rss_bytes"] / full["peak_rss_bytes"],
        "trainable_ratio": lora["trainable_params"] / full["trainable_params"],
        "accuracy_points": 100 * (full["test_accuracy"] - lora["test_accuracy"]),
    }
    ratios["goals_met"] = {name: ratios[name] <= limit for name, limit in GOALS.items()}
    return ratios


def benchmark_training(recipe: str, methods: list[str], overrides: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as folder:
        results = {m: summarize(run_method(m, recipe, Path(folder), overrides)) for m in methods}
    report: dict[str, Any] = {"recipe": recipe, "overrides": overrides, "methods": results}
    if "lora" in results and "full" in results:
        report["lora_vs_full"] = compare(results)
    return report


def format_report(report: dict[str, Any]) -> str:
    mib = 1024**2
    lines = [f"{'method':8} {'step s':>7} {'peak RSS MiB':>13} {'state MiB':>10} {'trainable':>11} {'accuracy':>9}"]
    for method, m in report["methods"].items():
        lines.append(f"{method:8} {m['step_seconds_median']:7.2f} {m['peak_rss_bytes'] / mib:13.0f} "
                     f"{m['training_state_bytes'] / mib:10.1f} {m['trainable_params']:11,} {m['test_accuracy']:9.4f}")
    if "lora_vs_full" in report:
        r = report["lora_vs_full"]
        lines.append(f"lora/full: training state {r['training_state_ratio']:.3f}x (goal <= 0.35), step time "
                     f"{r['step_time_ratio']:.2f}x (goal <= 0.8), peak RSS {r['peak_rss_ratio']:.2f}x, "
                     f"accuracy {-r['accuracy_points']:+.2f} points (goal within 1)")
    return "\n".join(lines)

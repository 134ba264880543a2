"""Benchmark training methods: `tp benchmark training --epochs 1 --json bench.json`.

Trains lora, full and head on the same data, steps and seed (each in its own process) and prints step
time, peak process memory, training-state memory (weights + gradients + optimizer states, counted from
the tensors), trainable parameters and accuracy, with the lora/full ratios.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tp.training.benchmark import benchmark_training, format_report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="configs/bbc-minilm-lora.yaml",
                        help="recipe YAML (default: the shipped model's, from a checkout)")
    parser.add_argument("--methods", default="lora,full,head", help="comma-separated methods")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--max-steps", type=int, default=-1, help="cap steps for a quick check")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override")
    parser.add_argument("--json", type=Path, help="also write the report here")


def run(args: argparse.Namespace) -> int:
    overrides = [f"training.epochs={args.epochs}", f"training.max_steps={args.max_steps}", *args.set]
    report = benchmark_training(args.config, args.methods.split(","), overrides)
    print(format_report(report))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0

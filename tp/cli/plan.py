"""Will it fit in a GPU memory budget? `tp plan --config configs/sst2-distilbert-lora-8bit.yaml --budget-gib 8`.

Estimates peak GPU memory (weights by dtype, gradients, optimizer states, activations) before training and
suggests batch size / accumulation / checkpointing that fit. Exit code 0 if it fits, 1 if not.
"""

from __future__ import annotations

import argparse
import json

from tp.config import load_recipe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="recipe YAML")
    parser.add_argument("--budget-gib", type=float, default=8.0, help="GPU memory budget (default 8)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    from tp.training.memory_plan import format_plan, plan_memory

    plan = plan_memory(load_recipe(args.config, args.set), budget_gib=args.budget_gib)
    print(json.dumps(plan.to_dict(), indent=2) if args.json else format_plan(plan))
    return 0 if plan.fits else 1

"""Will it fit? `python scripts/plan_memory.py --config configs/sst2-distilbert-lora-8bit.yaml --budget-gib 8`.

Estimates peak GPU memory (weights by dtype, gradients, optimizer states, activations) before training and
suggests batch size / accumulation / checkpointing that fit. Exit code 0 if it fits, 1 if not.
"""

from __future__ import annotations

import argparse
import json
import sys

import _bootstrap  # noqa: F401

from tp.config import load_recipe
from tp.errors import TpError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True, help="recipe YAML")
    parser.add_argument("--budget-gib", type=float, default=8.0, help="GPU memory budget (default 8)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override")
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    args = parser.parse_args(argv)
    try:
        from tp.memory_plan import format_plan, plan_memory

        plan = plan_memory(load_recipe(args.config, args.set), budget_gib=args.budget_gib)
    except TpError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(plan.to_dict(), indent=2) if args.json else format_plan(plan))
    return 0 if plan.fits else 1


if __name__ == "__main__":
    sys.exit(main())

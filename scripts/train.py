"""Fine-tune a classifier from a recipe: `python scripts/train.py --config configs/bbc-minilm-lora.yaml`.

Image recipes train the same way (the data decides the task): `--config configs/digits-vit.yaml --output models`.

Overrides: `--epochs 1`, `--output runs`, `--name my-run`, or any `--set section.key=value`.
Works under `accelerate launch` (e.g. `accelerate launch --cpu --num_processes 2 scripts/train.py ...`).
"""

from __future__ import annotations

import argparse
import sys

import _bootstrap  # noqa: F401  (imports tp from the checkout)

from tp.config import load_recipe
from tp.errors import TpError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="recipe YAML (default: built-in defaults)")
    parser.add_argument("--name", help="run name (folder under --output)")
    parser.add_argument("--output", help="folder that holds run folders (default: runs)")
    parser.add_argument("--epochs", type=float, help="training epochs")
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any recipe value, e.g. --set training.batch_size=8")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    parser.add_argument("--budget-gib", type=float, default=8.0, help="GPU memory budget for the plan")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = list(args.set)
    for flag, key in ((args.name, "name"), (args.output, "output_dir"), (args.epochs, "training.epochs"),
                      (args.max_steps, "training.max_steps")):
        if flag is not None:
            overrides.append(f"{key}={flag}")
    try:
        recipe = load_recipe(args.config, overrides)
        from tp.training import train

        run_dir = train(recipe, resume=args.resume, overwrite=args.overwrite, budget_gib=args.budget_gib)
    except TpError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"run folder: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

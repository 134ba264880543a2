"""Fine-tune a classifier from a recipe: `python scripts/train.py --config configs/bbc-minilm-lora.yaml`.

Or from data alone, with the built-in MiniLM and defaults tp picks from the data (printed before training):
`python scripts/train.py --data reviews.tsv --text-column review --label-column rating`.
`--search 8 --time-budget 30` tries up to 8 settings (method, learning rate, epochs, class weights) within
30 minutes and keeps the best by validation macro-F1; trial 1 is the defaults.

Image recipes train the same way (the data decides the task): `--config configs/digits-vit.yaml --output models`.

Overrides: `--epochs 1`, `--output runs`, `--name my-run`, or any `--set section.key=value`.
Works under `accelerate launch` (e.g. `accelerate launch --cpu --num_processes 2 scripts/train.py ...`).
"""

from __future__ import annotations

import argparse
import json
import sys

import _bootstrap  # noqa: F401  (imports tp from the checkout)

from tp.config import load_recipe
from tp.errors import ConfigError, TpError
from tp.skill_check import warning_lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="recipe YAML (default: built-in defaults)")
    parser.add_argument("--data", help="dataset source: a CSV/TSV/JSON/Parquet file, a folder, a Hub id (data.source)")
    parser.add_argument("--text-column", help="column holding the text (data.text_column)")
    parser.add_argument("--label-column", help="column holding the label (data.label_column)")
    parser.add_argument("--search", type=int, metavar="N", help="search up to N trials, keep the best")
    parser.add_argument("--time-budget", type=float, metavar="MINUTES", help="the search's time budget")
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
                      (args.max_steps, "training.max_steps"), (args.data, "data.source"),
                      (args.text_column, "data.text_column"), (args.label_column, "data.label_column")):
        if flag is not None:
            overrides.append(f"{key}={json.dumps(flag) if isinstance(flag, str) else flag}")
    if args.time_budget is not None and args.search is None:
        print("error: --time-budget bounds a search: give --search N too", file=sys.stderr)
        return 2
    try:
        recipe = load_recipe(args.config, overrides)
        if args.search is not None:
            from tp.search import SearchConfig, search

            if args.resume:
                raise ConfigError("--resume continues one interrupted run; a search starts over (drop --resume).")
            run_dir = search(recipe, SearchConfig(args.search, args.time_budget, recipe.training.seed),
                             args.budget_gib, args.overwrite)
        else:
            from tp.training import train

            run_dir = train(recipe, resume=args.resume, overwrite=args.overwrite, budget_gib=args.budget_gib)
    except TpError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"run folder: {run_dir}")
    warnings = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")).get("warnings")
    if warnings:  # the last lines a user sees: loud when the model learned nothing
        print("\n".join(warning_lines(warnings)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

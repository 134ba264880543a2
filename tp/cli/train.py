"""Fine-tune a classifier: `tp train --config configs/bbc-minilm-lora.yaml`, or from data alone:
`tp train --data reviews.tsv --text-column review --label-column rating`; multi-label (`--label-separator ,` or
list labels), regression (`--task regression`) and text pairs (`--text-pair-column`) the same way.

The recipe's values can be overridden (`--set training.batch_size=8`); `--search N --time-budget MIN` tries up to
N recipes within the budget and keeps the best by validation macro-F1. Writes a run folder (adapter or model,
metrics.json, card, reports); the last lines say loudly when the model learned nothing.
"""

from __future__ import annotations

import argparse
import json

from tp.config import load_recipe
from tp.errors import ConfigError
from tp.tasks import PROBLEM_RECIPES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="recipe YAML (default: built-in defaults)")
    parser.add_argument("--data", help="dataset source: a CSV/TSV/JSON/Parquet file, a folder, a Hub id (data.source)")
    parser.add_argument("--text-column", help="column holding the text (data.text_column)")
    parser.add_argument("--label-column", help="column holding the label (data.label_column)")
    parser.add_argument("--text-pair-column", help="column holding the second text of a pair (data.text_pair_column)")
    parser.add_argument("--task", choices=PROBLEM_RECIPES,
                        help="what a label is: one class, several (multi_label) or a number (regression) (data.task)")
    parser.add_argument("--label-separator", help="multi-label rows as delimited strings: the separator, e.g. ',' "
                                                  "(data.label_separator)")
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


def run(args: argparse.Namespace) -> int:
    from tp.evaluation.skill_check import warning_lines

    overrides = list(args.set)
    for flag, key in ((args.name, "name"), (args.output, "output_dir"), (args.epochs, "training.epochs"),
                      (args.max_steps, "training.max_steps"), (args.data, "data.source"),
                      (args.text_column, "data.text_column"), (args.label_column, "data.label_column"),
                      (args.text_pair_column, "data.text_pair_column"), (args.task, "data.task"),
                      (args.label_separator, "data.label_separator")):
        if flag is not None:
            overrides.append(f"{key}={json.dumps(flag) if isinstance(flag, str) else flag}")
    if args.time_budget is not None and args.search is None:
        raise ConfigError("--time-budget bounds a search: give --search N too")
    recipe = load_recipe(args.config, overrides)
    if args.search is not None:
        from tp.training.search import SearchConfig, search

        if args.resume:
            raise ConfigError("--resume continues one interrupted run; a search starts over (drop --resume).")
        run_dir = search(recipe, SearchConfig(args.search, args.time_budget, recipe.training.seed),
                         args.budget_gib, args.overwrite)
    else:
        from tp.training.train import train

        run_dir = train(recipe, resume=args.resume, overwrite=args.overwrite, budget_gib=args.budget_gib)
    print(f"run folder: {run_dir}")
    warnings = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")).get("warnings")
    if warnings:  # the last lines a user sees: loud when the model learned nothing
        print("\n".join(warning_lines(warnings)))
    return 0

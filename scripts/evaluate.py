"""Evaluate a model on a dataset: `python scripts/evaluate.py models/bbc-news-minilm`.

MODEL is a run folder, a model folder or a Hub id. Without --data (or with --data naming the run's own data
source) a run folder is evaluated on its recorded --split. Any other --data (file, folder, image folder, Hub id,
builtin) is evaluated whole: every row with an input and a label (of its --split when the source has splits),
whatever its number of classes, labels matched to the model's by name; texts for a text model, images for an
image model (`python scripts/evaluate.py models/digits-vit`).
Writes metrics.json and confusion_matrix.png to --output (default: MODEL/eval/<dataset> for folders).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import _bootstrap  # noqa: F401

from tp.config import DataConfig, build_dataclass
from tp.errors import TpError


def rows_line(metrics: dict[str, Any]) -> str:
    """What was evaluated: `evaluated 379 rows of test.tsv (2 dropped: empty text)`, or the recorded split."""
    source, size = metrics["dataset"], metrics["test_size"]
    if metrics["rows"] == "recorded split":
        return f"evaluated {size} rows: the {metrics['split']} split of {source} recorded by the run"
    name = Path(source).name if Path(source).expanduser().exists() else source
    dropped = {reason.replace("_", " "): count for reason, count in metrics["rows_dropped"].items() if count}
    if not dropped:
        return f"evaluated {size} rows of {name}"
    if len(dropped) == 1:
        why = next(iter(dropped))
    else:
        why = ", ".join(f"{count} {reason}" for reason, count in dropped.items())
    return f"evaluated {size} rows of {name} ({sum(dropped.values())} dropped: {why})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="run folder, model folder or Hub id")
    parser.add_argument("--data", help="dataset source (default: the run's recorded data)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--image-column", default="image", help="image column of a Hub image dataset (cifar10: img)")
    parser.add_argument("--config-name", help="Hub dataset configuration")
    parser.add_argument("--split", default="test", choices=["train", "validation", "test"])
    parser.add_argument("--output", type=Path, help="folder for metrics.json and confusion_matrix.png")
    args = parser.parse_args(argv)
    try:
        from tp.evaluation import evaluate_model

        data = None
        if args.data:
            data = build_dataclass(DataConfig, {"source": args.data, "text_column": args.text_column,
                                                "label_column": args.label_column, "config_name": args.config_name,
                                                "image_column": args.image_column})
        output = args.output
        if output is None and Path(args.model).is_dir():
            output = Path(args.model) / "eval" / (Path(args.data).stem if args.data else "recorded-split")
        metrics = evaluate_model(args.model, data, args.split, output)
    except TpError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(rows_line(metrics))
    summary = {k: metrics[k] for k in ("test_accuracy", "test_macro_f1", "test_size", "same_split_as_training")}
    print(json.dumps(summary, indent=2))
    if output is not None:
        print(f"wrote {output / 'metrics.json'} and {output / 'confusion_matrix.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

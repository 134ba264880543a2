"""Evaluate a model on a dataset: `tp evaluate models/bbc-news-minilm`.

MODEL is a run folder, a model folder or a Hub id. Without --data (or with --data naming the run's own data
source) a run folder is evaluated on its recorded --split. Any other --data (file, folder, image folder, Hub id,
builtin) is evaluated whole: every row with an input and a label (of its --split when the source has splits),
whatever its number of classes, labels matched to the model's by name; texts for a text model, images for an
image model (`tp evaluate models/digits-vit`). The metrics are the model's problem's: a multi-label model's
--label-column holds lists of labels (or names joined by --label-separator), scored at the run's thresholds
(micro-/macro-F1, subset accuracy, Hamming loss); a regression model's holds numbers (MAE, RMSE, R², Pearson,
Spearman); a pair model reads --text-pair-column too (default: the one its run was trained with).
Writes metrics.json (and, for one label per row, confusion_matrix.png) to --output (default:
MODEL/eval/<dataset> for folders).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tp.config import DataConfig, build_dataclass

SUMMARY_KEYS = {None: ("test_accuracy", "test_macro_f1"),  # problem_type -> the metrics printed
                "multi_label_classification": ("test_micro_f1", "test_macro_f1", "test_accuracy", "test_hamming_loss"),
                "regression": ("test_rmse", "test_mae", "test_r2", "test_pearson", "test_spearman")}


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="run folder, model folder or Hub id")
    parser.add_argument("--data", help="dataset source (default: the run's recorded data)")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--text-pair-column", help="pair models: the second text's column (default: the run's)")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--label-separator", help="multi-label models: the character between a row's labels when "
                        "the column holds delimited strings (e.g. ',')")
    parser.add_argument("--image-column", default="image", help="image column of a Hub image dataset (cifar10: img)")
    parser.add_argument("--config-name", help="Hub dataset configuration")
    parser.add_argument("--split", default="test", choices=["train", "validation", "test"])
    parser.add_argument("--output", type=Path, help="folder for metrics.json and confusion_matrix.png")


def run(args: argparse.Namespace) -> int:
    from tp.evaluation.evaluate import evaluate_model

    data = None
    if args.data:
        data = build_dataclass(DataConfig, {"source": args.data, "text_column": args.text_column,
                                            "label_column": args.label_column, "config_name": args.config_name,
                                            "image_column": args.image_column,
                                            "text_pair_column": args.text_pair_column,
                                            "label_separator": args.label_separator})
    output = args.output
    if output is None and Path(args.model).is_dir():
        output = Path(args.model) / "eval" / (Path(args.data).stem if args.data else "recorded-split")
    metrics = evaluate_model(args.model, data, args.split, output)
    print(rows_line(metrics))
    shown = SUMMARY_KEYS.get(metrics.get("problem_type"), SUMMARY_KEYS[None])
    summary = {k: metrics[k] for k in (*shown, "test_size", "same_split_as_training")}
    print(json.dumps(summary, indent=2))
    if output is not None:
        plot = f" and {output / 'confusion_matrix.png'}" if "test_confusion_matrix" in metrics else ""
        print(f"wrote {output / 'metrics.json'}{plot}")
    return 0

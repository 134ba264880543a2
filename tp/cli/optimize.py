"""Compress a run folder and measure every variant against it: `tp optimize models/bbc-news-minilm`.

Text runs and image (ViT) runs alike: `tp optimize models/digits-vit`.

Methods (comma-separated, `--methods`): int8-dynamic, prune-heads:F, prune-magnitude:F, onnx-int8, bnb-8bit,
distill:L and prune-layers:L (a student with L of the run's layers). A variant can build on a student:
`distill:3+onnx-int8` quantizes the 3-layer student (the student is trained once for all its variants).
Each variant goes to RUN_DIR/variants/<name>/ (written atomically, loadable with
tp.compression.variants.load_variant). All are evaluated next to the fp32 baseline on the run's recorded
test split; a variant that loses more than --max-drop accuracy points (multi-label: micro-F1 points;
regression: whose RMSE grows more than --max-drop % of fp32's) is marked rejected. distill and prune-layers
train students on one label per text and refuse multi-label and regression runs. Writes
RUN_DIR/reports/compression.{md,png,json} and adds the table to RUN_DIR/README.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_METHODS = "int8-dynamic,prune-heads:0.3,prune-magnitude:0.5,onnx-int8,bnb-8bit"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a text or image (ViT) run folder (tp.json, config.yaml, "
                        "adapter/ or model/)")
    parser.add_argument("--methods", default=DEFAULT_METHODS, help=f"default: {DEFAULT_METHODS}")
    parser.add_argument("--max-drop", type=float, default=1.0,
                        help="how much worse than fp32 a variant may be on the test split (the gate): accuracy "
                        "points (one label per text), micro-F1 points (multi-label), or %% more RMSE than fp32's "
                        "(regression: 1 allows 1.20 -> 1.212)")
    parser.add_argument("--recover-epochs", type=float, default=0.0,
                        help="fine-tune pruned variants for this many epochs on the train split")
    parser.add_argument("--distill-epochs", type=float, default=3.0, help="distill: epochs on the train split "
                        "(early stopping on validation macro-F1 may end sooner)")
    parser.add_argument("--temperature", type=float, default=2.0, help="distill: softmax temperature of the targets")
    parser.add_argument("--alpha", type=float, default=0.5, help="distill: weight of the soft targets (1 - alpha: "
                        "the labels)")
    parser.add_argument("--student-lr", type=float, default=8e-5, help="learning rate of distill and prune-layers")
    parser.add_argument("--prune-layers-epochs", type=float, default=1.0,
                        help="prune-layers: fine-tuning epochs on the labels after dropping layers")
    parser.add_argument("--search-trials", type=int, default=4, help="int8-dynamic: when int8 loses more than "
                        "--max-drop on validation, try keeping the 1, 2, 4... most sensitive layers in fp32 (0: off)")
    parser.add_argument("--limit", type=int, help="evaluate on N test examples spread over the split (quick runs)")
    parser.add_argument("--latency-texts", type=int, default=40,
                        help="test inputs (texts or images) timed one by one at batch 1")
    parser.add_argument("--threads", type=int, help="CPU threads while measuring (default: torch's default)")
    parser.add_argument("--reuse", action="store_true",
                        help="re-measure variants already in RUN_DIR/variants instead of rebuilding them")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory probe processes")


def run(args: argparse.Namespace) -> int:
    from tp.compression.config import CompressionConfig, parse_methods
    from tp.compression.optimize import optimize_run
    from tp.compression.report import input_noun, markdown_table, rows

    config = CompressionConfig(methods=parse_methods(args.methods), max_drop=args.max_drop,
                               recover_epochs=args.recover_epochs, limit=args.limit,
                               distill_epochs=args.distill_epochs, distill_temperature=args.temperature,
                               distill_alpha=args.alpha, student_learning_rate=args.student_lr,
                               prune_layers_epochs=args.prune_layers_epochs, search_trials=args.search_trials,
                               latency_texts=args.latency_texts, threads=args.threads,
                               measure_memory=not args.no_memory, reuse=args.reuse)
    summary = optimize_run(args.run_dir, config)
    print(markdown_table(rows(summary), inputs=input_noun(summary)))
    print(f"wrote {args.run_dir / 'reports' / 'compression.md'}, compression.png and the card section")
    return 1 if summary["failures"] else 0

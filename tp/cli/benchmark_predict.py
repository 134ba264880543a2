"""tp predict against a pipeline() loop, one text a call, on real BBC News texts: `tp benchmark predict --rows 500`.

Both run in the same process on the same file (`--model`, default models/bbc-news-minilm) and CPU threads.

Prints texts/s of both (predicting, and end to end with the model load), their ratio, label agreement and the
CPU. tp runs with --backend (auto: ONNX Runtime when installed; its one-off export lands in TP_CACHE_DIR and is
counted as load time on a first run).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="models/bbc-news-minilm", help="text model: run folder, folder, Hub id")
    parser.add_argument("--rows", type=int, default=500, help="BBC News texts in the file")
    parser.add_argument("--batch-size", type=int, default=32, help="tp predict's batch size")
    parser.add_argument("--part-size", type=int, default=1000, help="tp predict's rows per part")
    parser.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"], help="tp predict's backend")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds the texts are split into, alternating which of the two runs first")
    parser.add_argument("--json", type=Path, help="write the results here")


def run(args: argparse.Namespace) -> int:
    from tp.files import write_json
    from tp.predict.benchmark import format_report, run_benchmark

    report = run_benchmark(args.model, args.rows, args.batch_size, args.backend, args.part_size, args.rounds)
    print(format_report(report))
    if args.json:
        write_json(args.json, report)
        print(f"results: {args.json}")
    return 0

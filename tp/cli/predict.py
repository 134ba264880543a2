"""Predict every row of a file or image folder: `tp predict MODEL --data texts.csv --output predictions.csv`.

Writes the input's columns plus the model's answer to OUT (.csv, .jsonl or .parquet), rows in input order:
`label` and `score` (the top label's probability; --all-scores adds one `score_<label>` probability per label);
for a multi-label model `labels`, the labels whose sigmoid score reaches their threshold (the run's, tuned on
validation, or --threshold for all), a list in JSONL/Parquet and joined by --label-separator in CSV (--all-scores
adds each label's sigmoid score as `score_<label>`); for a regression model `value`. Text models read
--text-column of a CSV/TSV/JSON/JSONL/Parquet file, and a pair model also --text-pair-column (both default to
the columns its run was trained on); image models read --image-column (image file paths,
relative to the data file's folder), or --data names a folder of images (all of them, recursively; OUT then
has a `path` column). The input is streamed in parts of --part-size rows: each part is written to a hidden
folder beside OUT (.OUT.parts/) as it is done, so a rerun after an interruption (even kill -9) picks up where it
stopped; the parts are merged into OUT at the end. Scale out over processes or GPUs, each taking every N-th part:
`accelerate launch --num_processes N -m tp predict ...` (on a CPU-only machine add --multi_gpu: without it
accelerate starts one process) or `torchrun --nproc-per-node N -m tp predict ...`.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="run folder, model folder, compressed variant or Hub id")
    parser.add_argument("--data", type=Path, required=True,
                        help="table file (.csv, .tsv, .json, .jsonl, .parquet) or, for an image model, a folder")
    parser.add_argument("--output", type=Path, required=True, help="the predictions: .csv, .jsonl or .parquet")
    parser.add_argument("--text-column", help="column holding the texts (default: text; a pair model: the first "
                        "text's column of its training data)")
    parser.add_argument("--text-pair-column", help="pair models: column holding the second text (default: the one "
                        "its run was trained with)")
    parser.add_argument("--threshold", type=float, help="multi-label models: one sigmoid threshold for every label "
                        "(default: each label's own, tuned on validation)")
    parser.add_argument("--label-separator", default="|",
                        help="multi-label models, CSV output: joins a row's labels (JSONL and Parquet hold lists)")
    parser.add_argument("--image-column", default="image",
                        help="column holding image paths, relative to the data file's folder (image models)")
    parser.add_argument("--batch-size", type=int, default=32, help="inputs per forward pass")
    parser.add_argument("--part-size", type=int, default=1000,
                        help="rows per part: the unit of streaming, resuming and sharding")
    parser.add_argument("--all-scores", action="store_true", help="add one score_<label> column per label "
                        "(softmax probabilities; multi-label: sigmoid scores)")
    parser.add_argument("--prefix", default="", help="prefix of the added columns (pred_ gives pred_label, ...)")
    parser.add_argument("--backend", default="auto", choices=["auto", "torch", "onnx"],
                        help="auto: ONNX Runtime for text models on a CPU when installed, else torch")
    parser.add_argument("--quantize", default="none", choices=["none", "int8"],
                        help="int8: ONNX Runtime with int8 weights (text models on a CPU)")
    parser.add_argument("--device", default="auto", help="auto (this process's GPU when there is one), cpu, cuda:N")
    parser.add_argument("--threads", type=int, help="torch threads (default: the cores shared among processes)")
    parser.add_argument("--overwrite", action="store_true", help="start over: drop done parts and replace OUT")
    parser.add_argument("--max-parts", type=int, metavar="K",
                        help="stop after predicting K parts; a rerun does the rest")
    parser.add_argument("--encoding", default="utf-8", help="text encoding of CSV/TSV/JSON input")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (default: on a terminal)")


def run(args: argparse.Namespace) -> int:
    from tp.predict.run import PredictConfig, predict

    cfg = PredictConfig(args.model, args.data, args.output, args.text_column, args.image_column, args.batch_size,
                        args.part_size, args.all_scores, args.prefix, args.backend, args.quantize, args.device,
                        args.threads, args.overwrite, args.max_parts, args.encoding,
                        False if args.no_progress else None, args.text_pair_column, args.threshold,
                        args.label_separator)
    result = predict(cfg)
    if result.status == "finished before":
        print(f"{result.output} is complete already: nothing to predict (--overwrite predicts again)")
        return 0
    how = f"{result.rows} {result.unit} in {result.predict_seconds:.1f} s ({result.rate:.1f} {result.unit}/s, " \
          f"{result.backend} on {result.device}; model loaded in {result.load_seconds:.1f} s)"
    skipped = f"; {result.parts_skipped} part(s) done by an earlier run" if result.parts_skipped else ""
    if result.status == "done":
        print(f"predicted {how}{skipped}")
        print(f"wrote {result.output}: {result.rows_written} rows")
    elif result.status == "stopped":
        print(f"predicted {how}{skipped}")
        print(f"stopped after {result.parts_predicted} part(s) (--max-parts): rerun the command to go on")
    else:
        print(f"predicted {how}{skipped}; the main process merges the parts into {result.output}")
    return 0

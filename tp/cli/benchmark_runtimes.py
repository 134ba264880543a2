"""ONNX Runtime against OpenVINO on the same ONNX graph tp serves: `tp benchmark runtimes --quantize int8`.

Both read the cached export of `--model` (made first when missing) and classify the run's test texts in
interleaved rounds, in one process, with the same threads. Prints texts/s (batches), p50 latency (one text a
call), test accuracy and label agreement of each, their ratio, and the CPU. OpenVINO is optional (`pip install
openvino`); without it only ONNX Runtime is measured, and the report says so.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, default=Path("models/bbc-news-minilm"), help="a text run folder")
    parser.add_argument("--quantize", default="int8", choices=["int8", "none"], help="the export's precision")
    parser.add_argument("--threads", type=int, default=1, help="threads of each runtime")
    parser.add_argument("--batch-size", type=int, default=8, help="texts a batch")
    parser.add_argument("--max-length", type=int, default=256, help="tokens a text at most")
    parser.add_argument("--texts", type=int, default=200, help="test texts, spread over the split")
    parser.add_argument("--singles", type=int, default=40, help="of those, timed one a call")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--json", type=Path, help="write the results here")


def run(args: argparse.Namespace) -> int:
    from tp.files import write_json
    from tp.serving.onnx_serving import default_cache_dir
    from tp.serving.runtime_benchmark import compare_runtimes, format_report

    report = compare_runtimes(args.model, args.quantize, args.threads, args.batch_size, args.max_length,
                              args.texts, args.singles, args.rounds, default_cache_dir())
    print(format_report(report))
    if args.json:
        write_json(args.json, report)
        print(f"results: {args.json}")
    return 0

"""Benchmark tp's server against a naive per-request `pipeline()` server on the same model and load.

    python scripts/benchmark_serving.py --json reports/serving.json

Starts the naive baseline and tp (fp32 and int8, on ONNX Runtime, tp's CPU default, and on torch) on free
loopback ports (measuring each cold start),
drives them in interleaved rounds with 32 concurrent clients sending real BBC News test texts
(throughput, p50/p95 latency, errors), then measures the FLOP efficiency of fp32 batches against a
matmul peak measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import _bootstrap  # noqa: F401  (imports tp from the checkout)

from tp.serving.benchmark.run import BenchmarkConfig, format_report, run_benchmark
from tp.serving.settings import DEFAULT_MODEL_DIR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="run folder to serve")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=1024,
                        help="measured requests per server (one text each), split into the rounds; 256 a round (8 "
                             "cycles of 32 clients) keeps a round's ramp-up and drain small")
    parser.add_argument("--max-tokens", type=int, default=256, help="tokens per text, for both servers")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds the requests are split into")
    parser.add_argument("--no-int8", action="store_true", help="skip the int8 runs of tp")
    parser.add_argument("--no-torch", action="store_true",
                        help="skip the reference servers (fp32 on ONNX Runtime only, int8 on torch)")
    parser.add_argument("--tp-env", action="append", default=[], metavar="TP_X=VALUE",
                        help="extra setting for tp's servers, e.g. --tp-env TP_WORKERS=2 --tp-env TP_THREADS=1")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    cfg = BenchmarkConfig(args.model, args.clients, args.requests, min(args.requests, 32), args.max_tokens,
                          not args.no_int8, not args.no_torch, args.rounds,
                          dict(item.split("=", 1) for item in args.tp_env))
    with tempfile.TemporaryDirectory(prefix="tp-bench-logs-") as logs:
        results = run_benchmark(cfg, Path(logs))
    print(format_report(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

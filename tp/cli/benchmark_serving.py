"""Benchmark tp's server against a naive per-request `pipeline()` server on the same model and load.

    tp benchmark serving --json reports/serving.json
    tp benchmark serving --soak 30        # one server, 30 minutes of mixed load: memory, errors, latency

Starts the naive baseline and tp (fp32 and int8, on ONNX Runtime, tp's CPU default, and on torch) on free
loopback ports (measuring each cold start),
drives them in interleaved rounds with 32 concurrent clients sending real BBC News test texts
(throughput, p50/p95 latency, errors), then measures the FLOP efficiency of fp32 batches against a
matmul peak measured in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, default=Path("models/bbc-news-minilm"), help="run folder to serve")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 32; 64 for the soak)")
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
    soak = parser.add_argument_group("soak", "instead of the comparison: one server under a long mixed load")
    soak.add_argument("--soak", type=float, metavar="MINUTES",
                      help="run the soak for this long (64 clients mixing texts, images, explanations, bad inputs "
                           "and clients that disconnect; loopback only) and write soak.json and soak.png")
    soak.add_argument("--soak-requests", type=int, default=500_000,
                      help="stop the soak after this many requests, if its time has not run out first")
    soak.add_argument("--soak-models", nargs="+", type=Path,
                      default=[Path("models/bbc-news-minilm"), Path("models/digits-vit")],
                      help="model folders to serve (a text model first; an image model beside it is driven too)")
    soak.add_argument("--report-dir", type=Path, help="where soak.json and soak.png go (default: the reports/ folder "
                      "of the first model)")


def run(args: argparse.Namespace) -> int:
    if args.soak is not None:
        return run_soak(args)
    from tp.files import write_json
    from tp.serving.benchmark.run import BenchmarkConfig, format_report, run_benchmark

    cfg = BenchmarkConfig(args.model, args.clients or 32, args.requests, min(args.requests, 32), args.max_tokens,
                          not args.no_int8, not args.no_torch, args.rounds,
                          dict(item.split("=", 1) for item in args.tp_env))
    with tempfile.TemporaryDirectory(prefix="tp-bench-logs-") as logs:
        results = run_benchmark(cfg, Path(logs))
    print(format_report(results))
    if args.json:
        write_json(args.json, results)
        print(f"results: {args.json}")
    return 0


def run_soak(args: argparse.Namespace) -> int:
    from tp.files import write_json
    from tp.serving.benchmark.soak import SoakConfig
    from tp.serving.benchmark.soak_report import format_report, plot_soak, run_soak_benchmark

    models = {folder.resolve().name: folder.resolve() for folder in args.soak_models}
    cfg = SoakConfig(minutes=args.soak, max_requests=args.soak_requests, clients=args.clients or 64)
    env = dict(item.split("=", 1) for item in args.tp_env)
    with tempfile.TemporaryDirectory(prefix="tp-soak-") as logs:
        result = run_soak_benchmark(models, cfg, Path(logs) / "server.log", env)
    print(format_report(result))
    reports = args.report_dir or args.soak_models[0] / "reports"
    write_json(reports / "soak.json", result)
    plot_soak(result, reports / "soak.png")
    print(f"report: {reports / 'soak.json'}, {reports / 'soak.png'}")
    return 0

"""Benchmarks, each against a baseline measured in the same run: `tp benchmark KIND`, KIND one of
realdata, serving, training, predict, runtimes."""

from __future__ import annotations

import argparse

from tp.cli import (
    benchmark_predict,
    benchmark_realdata,
    benchmark_runtimes,
    benchmark_serving,
    benchmark_training,
)
from tp.cli.docs import summary

KINDS = {"realdata": benchmark_realdata, "serving": benchmark_serving, "training": benchmark_training,
         "predict": benchmark_predict, "runtimes": benchmark_runtimes}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    for name, module in KINDS.items():
        sub = kinds.add_parser(name, help=summary(module.__doc__ or ""), description=module.__doc__,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        sub.set_defaults(run=module.run)

"""The `tp` command: one subcommand per stage of the loop (data -> train -> evaluate -> compress -> publish -> serve).

Every subcommand turns a TpError into one line on stderr and exit status 2; the library does the work.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from tp import __version__
from tp.cli.docs import summary
from tp.errors import TpError

# subcommand -> module of tp.cli with add_arguments(parser) and run(args) -> exit status
COMMANDS = {"train": "train", "evaluate": "evaluate", "predict": "predict", "plan": "plan", "optimize": "optimize",
            "push": "push", "download": "download", "space": "space", "serve": "serve", "benchmark": "benchmark"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f"tp.cli.{module_name}")
        doc = module.__doc__ or ""
        sub = commands.add_parser(name, help=summary(doc), description=doc,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(sub)
        if hasattr(module, "run"):  # `benchmark` has subcommands of its own, each with its run
            sub.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except TpError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""`python scripts/benchmark_training.py ...` is `tp benchmark training ...` (see `tp benchmark training --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "training", *sys.argv[1:]]))

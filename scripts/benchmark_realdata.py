"""`python scripts/benchmark_realdata.py ...` is `tp benchmark realdata ...` (see `tp benchmark realdata --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "realdata", *sys.argv[1:]]))

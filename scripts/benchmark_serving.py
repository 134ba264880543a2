"""`python scripts/benchmark_serving.py ...` is `tp benchmark serving ...` (see `tp benchmark serving --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["benchmark", "serving", *sys.argv[1:]]))

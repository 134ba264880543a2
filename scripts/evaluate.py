"""`python scripts/evaluate.py ...` is `tp evaluate ...` (see `tp evaluate --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["evaluate", *sys.argv[1:]]))

"""`python scripts/plan_memory.py ...` is `tp plan ...` (see `tp plan --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["plan", *sys.argv[1:]]))

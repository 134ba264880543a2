"""`python scripts/optimize.py ...` is `tp optimize ...` (see `tp optimize --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["optimize", *sys.argv[1:]]))

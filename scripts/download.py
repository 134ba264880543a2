"""`python scripts/download.py ...` is `tp download ...` (see `tp download --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["download", *sys.argv[1:]]))

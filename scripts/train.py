"""`python scripts/train.py ...` is `tp train ...` (see `tp train --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))

"""`python scripts/push_to_hub.py ...` is `tp push ...` (see `tp push --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["push", *sys.argv[1:]]))

"""`python scripts/deploy_space.py ...` is `tp space ...` (see `tp space --help`)."""

import sys

from tp.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["space", *sys.argv[1:]]))

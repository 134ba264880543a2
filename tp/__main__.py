"""`python -m tp ...` is the `tp` command."""

import sys

from tp.cli.main import main

sys.exit(main())

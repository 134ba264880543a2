"""The memory probe's own process, started by `tp optimize`: `python -m tp.cli.memory_probe VARIANT_FOLDER INPUTS`
loads the variant in a fresh interpreter and prints its RSS (runtime floor, loaded, peak) as one JSON line."""

import sys

from tp.compression.measure import probe

if __name__ == "__main__":
    probe(sys.argv[1], sys.argv[2])

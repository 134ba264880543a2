"""Download a model from the Hub: `python scripts/download.py me/my-model --local-dir models/my-model`.

Fetches only safetensors weights, configs, tokenizer/processor files and the card, at a pinned
`--revision` if given. With HF_HUB_OFFLINE=1 it reports where it looked. The app accepts the same Hub id
in its settings and goes the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _bootstrap  # noqa: F401

from tp.errors import TpError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo_id", help="OWNER/NAME on the Hub")
    parser.add_argument("--revision", help="branch, tag or commit to pin")
    parser.add_argument("--local-dir", type=Path, help="copy the files here (default: the Hugging Face cache)")
    args = parser.parse_args(argv)
    try:
        from tp.hub import download
        from tp.publish import check_repo_id

        folder = download(check_repo_id(args.repo_id), args.local_dir, args.revision)
    except TpError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"downloaded to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

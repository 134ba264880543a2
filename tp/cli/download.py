"""Download a model from the Hub: `tp download me/my-model --local-dir models/my-model`.

Fetches only safetensors weights, configs, tokenizer/processor files and the card, at a pinned
`--revision` if given. With HF_HUB_OFFLINE=1 it reports where it looked. The app accepts the same Hub id
in its settings and goes the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("repo_id", help="OWNER/NAME on the Hub")
    parser.add_argument("--revision", help="branch, tag or commit to pin")
    parser.add_argument("--local-dir", type=Path, help="copy the files here (default: the Hugging Face cache)")


def run(args: argparse.Namespace) -> int:
    from tp.publish.hub import download
    from tp.publish.run import check_repo_id

    folder = download(check_repo_id(args.repo_id), args.local_dir, args.revision)
    print(f"downloaded to {folder}")
    return 0

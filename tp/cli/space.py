"""Deploy a Space running tp's app.

    tp space --space-id me/tp-demo --model models/bbc-news-minilm [--dry-run DIR]

Assembles a self-contained Space folder (app.py, tp/, requirements, the Vue client sources, the model or
its Hub id, README front matter, a Dockerfile) and uploads it as one commit. `--dry-run DIR` writes the
folder to DIR and uploads nothing (start it with `cd DIR && python app.py` to try it locally).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--space-id", required=True, help="OWNER/NAME of the Space")
    parser.add_argument("--model", required=True, help="a run folder, or the Hub id of a published model")
    parser.add_argument("--private", action="store_true", help="create the Space as private")
    parser.add_argument("--license", default="apache-2.0")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN, then the saved login)")
    parser.add_argument("--source", type=Path, default=Path("."),
                        help="the tp checkout the Space runs (app.py, tp/, requirements.txt; default: here)")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="write the Space folder to DIR, upload nothing")
    parser.add_argument("--training", action="store_true",
                        help="turn the Train tab and /api/v1/jobs on in the Space (TP_TRAINING=true)")


def run(args: argparse.Namespace) -> int:
    from tp.publish.hub import publish
    from tp.publish.run import check_repo_id
    from tp.publish.space import TRAINING_NOTE, assemble_space

    check_repo_id(args.space_id)
    if args.dry_run:
        files = assemble_space(args.space_id, args.model, args.dry_run, args.license, args.source, args.training)
        if args.training:
            print(TRAINING_NOTE)
        print(f"dry run: {len(files)} files in {args.dry_run} (nothing uploaded); try it with "
              f"`cd {args.dry_run} && python app.py`")
        return 0
    if args.training:
        print(TRAINING_NOTE)
    url = publish(lambda folder: assemble_space(args.space_id, args.model, folder, args.license, args.source,
                                                args.training),
                  args.space_id, args.token, repo_type="space", private=args.private, space_sdk="docker",
                  message="Deploy tp's app")
    print(f"deployed: {url}")
    return 0

"""Deploy a Space running tp's app.

    python scripts/deploy_space.py --space-id me/tp-demo --model models/bbc-news-minilm [--dry-run DIR]

Assembles a self-contained Space folder (app.py, tp/, requirements, the Vue client sources, the model or
its Hub id, README front matter, a Dockerfile) and uploads it as one commit. `--dry-run DIR` writes the
folder to DIR and uploads nothing (start it with `cd DIR && python app.py` to try it locally).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import _bootstrap  # noqa: F401

from tp.errors import TpError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--space-id", required=True, help="OWNER/NAME of the Space")
    parser.add_argument("--model", required=True, help="a run folder, or the Hub id of a published model")
    parser.add_argument("--private", action="store_true", help="create the Space as private")
    parser.add_argument("--license", default="apache-2.0")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN, then the saved login)")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="write the Space folder to DIR, upload nothing")
    args = parser.parse_args(argv)
    try:
        from tp.hub import resolve_token, upload
        from tp.publish import check_repo_id
        from tp.space import assemble_space

        check_repo_id(args.space_id)
        if args.dry_run:
            files = assemble_space(args.space_id, args.model, args.dry_run, args.license)
            print(f"dry run: {len(files)} files in {args.dry_run} (nothing uploaded); try it with "
                  f"`cd {args.dry_run} && python app.py`")
            return 0
        token = resolve_token(args.token)
        staging = Path(tempfile.mkdtemp(prefix="tp-space-"))
        try:
            assemble_space(args.space_id, args.model, staging / "space", args.license)
            url = upload(staging / "space", args.space_id, token, repo_type="space", private=args.private,
                         space_sdk="docker", message="Deploy tp's app")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except TpError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"deployed: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

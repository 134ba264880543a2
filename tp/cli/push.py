"""Publish a run folder to the Hub: `tp push runs/my-run --repo-id me/my-model`.

Checks first (token present, whoami, write access, card metadata valid), then uploads one commit with the
merged model at the root (stock `pipeline(model="me/my-model")` loads it), the adapter under adapter/, the
card, metrics and reports. `--dry-run DIR` writes exactly those files to DIR and needs no network.

A run flagged as having learned nothing (its metrics.json `warnings`) is refused unless --force.
`--variant NAME` publishes a compressed variant (`RUN_DIR/variants/NAME/`, made by tp optimize)
instead, with a card reporting its own measured accuracy; one its accuracy gate rejected only with --force.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tp.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a finished run folder (e.g. models/bbc-news-minilm)")
    parser.add_argument("--repo-id", required=True, help="OWNER/NAME on the Hub")
    parser.add_argument("--what", choices=["merged", "adapter", "both"],
                        help="what to publish (default: both, or merged for a run without an adapter)")
    parser.add_argument("--variant", metavar="NAME", help="publish the compressed variant RUN_DIR/variants/NAME")
    parser.add_argument("--force", action="store_true",
                        help="publish a run flagged as having learned nothing, or a variant its accuracy gate rejected")
    parser.add_argument("--private", action="store_true", help="create the repository as private")
    parser.add_argument("--revision", help="branch to push to (created if missing)")
    parser.add_argument("--license", default="apache-2.0", help="licence id for the card (default apache-2.0)")
    parser.add_argument("--token", help="Hub token (default: HF_TOKEN, then the saved login)")
    parser.add_argument("--dry-run", type=Path, metavar="DIR", help="write the files to DIR, upload nothing")


def run(args: argparse.Namespace) -> int:
    from tp.publish.hub import publish
    from tp.publish.run import assemble_model_repo, check_repo_id
    from tp.publish.variant import assemble_variant_repo

    check_repo_id(args.repo_id)
    if args.variant and args.what:
        raise ConfigError("--what applies to the run's own model; --variant publishes a variant: give one of them")

    def assemble(dest: Path) -> list[str]:
        if args.variant:
            return assemble_variant_repo(args.run_dir, args.variant, dest, args.repo_id, args.license,
                                         args.force)
        return assemble_model_repo(args.run_dir, dest, args.repo_id, args.what, args.license,
                                   args.force)

    if args.dry_run:
        files = assemble(args.dry_run)
        print(f"dry run: {len(files)} files written to {args.dry_run} (nothing uploaded):")
        print("\n".join(f"  {name}" for name in files))
        print("\n" + (args.dry_run / "README.md").read_text(encoding="utf-8"))
        return 0
    url = publish(assemble, args.repo_id, args.token, private=args.private, revision=args.revision,
                  message=f"Publish {args.run_dir.name}{f' ({args.variant})' if args.variant else ''} with tp")
    print(f"published: {url}")
    return 0

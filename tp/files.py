"""Atomic writes: a JSON file, and a folder staged beside its destination and renamed into place when complete."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tp.errors import TrainingError


def write_json(path: Path, value: Any) -> None:
    """Write `value` as JSON to a temporary file beside `path`, then rename it: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def publish_folder(tmp: Path, final: Path, overwrite: bool = False) -> Path:
    """Rename a finished temporary folder to `final`; an old `final` is replaced only if asked."""
    if final.exists():
        if not overwrite:
            raise TrainingError(f"{final} already exists: choose another name, or pass --overwrite.")
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old)
    else:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, final)
    return final


@contextmanager
def staged_folder(dest: Path) -> Iterator[Path]:
    """A temporary folder beside `dest`, renamed to `dest` (replacing it) only when the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_folder(staging, dest, overwrite=True)

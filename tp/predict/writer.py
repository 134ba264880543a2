"""Part files and their merge: what makes a bulk prediction resumable and shardable.

Beside OUT lives a hidden folder `.OUT.parts/` with `manifest.json` (what the job is: model, data, columns,
part size; a rerun with other settings is refused rather than mixed), one `part-000012.<ext>` per part of the
input and, once that file is whole, its done marker `part-000012.done` (rows and columns). A part file and its
marker are each written to a temporary name and renamed, so after a kill -9 a part is either done or redone.
When every part is done the main process concatenates them in input order into a temporary file beside OUT,
renames it to OUT (atomic) and removes the parts folder.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tp.errors import ConfigError, DataError

if TYPE_CHECKING:
    import pandas as pd

OUTPUT_SUFFIXES = (".csv", ".jsonl", ".parquet")
MANIFEST = "manifest.json"
FORMAT = "tp-predict-parts/1"


def check_output(output: Path) -> str:
    """The output's format from its suffix; anything but csv, jsonl and parquet is a ConfigError."""
    suffix = output.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise ConfigError(f"--output {output} has an unsupported suffix {suffix or '(none)'!r}: name it "
                          f"*{', *'.join(OUTPUT_SUFFIXES)}.")
    if output.is_dir():
        raise ConfigError(f"--output {output} is a folder: name a file, e.g. {output / 'predictions.csv'}.")
    return suffix


def _write_atomic(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` into a temporary file beside `path`, then rename it to `path`."""
    tmp = path.parent / f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp"  # the umask's permissions
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class PartStore:
    """The parts folder of one output file."""

    def __init__(self, output: Path, manifest: dict[str, Any]) -> None:
        self.output = Path(output)
        self.suffix = check_output(self.output)
        self.folder = self.output.parent / f".{self.output.name}.parts"
        self.manifest = {"format": FORMAT, **manifest, "output_format": self.suffix[1:]}

    def part_path(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}{self.suffix}"

    def marker(self, index: int) -> Path:
        return self.folder / f"part-{index:06d}.done"

    def is_done(self, index: int) -> bool:
        return self.marker(index).is_file() and self.part_path(index).is_file()

    def done_parts(self) -> list[int]:
        return sorted(int(path.stem.split("-")[1]) for path in self.folder.glob("part-*.done")) \
            if self.folder.is_dir() else []

    def finished(self) -> bool:
        """OUT exists and no parts folder: an earlier run completed."""
        return self.output.is_file() and not self.folder.is_dir()

    def prepare(self, overwrite: bool) -> None:
        """Start the parts folder, or check that the one there is of the same job (main process)."""
        if overwrite and self.folder.exists():
            shutil.rmtree(self.folder)
        for stale in self.output.parent.glob(f".{self.output.name}.*.tmp"):  # a merge killed half-way
            stale.unlink(missing_ok=True)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.folder.mkdir(exist_ok=True)
        path = self.folder / MANIFEST
        if path.is_file():
            self.check_manifest()
        else:
            text = json.dumps(self.manifest, indent=2) + "\n"
            _write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))

    def check_manifest(self) -> None:
        """The job in the parts folder must be this one; else say what differs and how to go on."""
        path = self.folder / MANIFEST
        if not path.is_file():
            raise DataError(f"{self.folder} has no {MANIFEST}: the main process did not start it; rerun the "
                            "command (with --overwrite to start over).")
        recorded = json.loads(path.read_text(encoding="utf-8"))
        changed = [f"{key} ({recorded.get(key)!r}, now {value!r})" for key, value in self.manifest.items()
                   if recorded.get(key) != value]
        if changed:
            raise ConfigError(f"{self.output} was started by another job ({len(self.done_parts())} parts done in "
                              f"{self.folder}); changed: {'; '.join(changed)}. Rerun with the same settings to "
                              "finish it, or pass --overwrite to start over.")

    def write_part(self, index: int, frame: pd.DataFrame) -> None:
        """Write one part's rows (no header: the merge writes one), then its done marker."""
        def write(tmp: Path) -> None:
            if self.suffix == ".csv":
                frame.to_csv(tmp, index=False, header=False)
            elif self.suffix == ".jsonl":
                frame.to_json(tmp, orient="records", lines=True, force_ascii=False)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                try:
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                    raise DataError(f"Part {index} cannot be stored as Parquet ({error}): a column mixes types; "
                                    "write .csv or .jsonl instead.") from error
                pq.write_table(table, tmp)

        _write_atomic(self.part_path(index), write)
        record = json.dumps({"rows": len(frame), "columns": [str(c) for c in frame.columns]})
        _write_atomic(self.marker(index), lambda tmp: tmp.write_text(record + "\n", encoding="utf-8"))

    def wait_for(self, count: int, notice: Callable[[str], None], poll: float = 0.5) -> None:
        """Until parts 0..count-1 are all done (the other processes write theirs); a notice each minute."""
        last = time.monotonic()
        while missing := [i for i in range(count) if not self.is_done(i)]:
            if time.monotonic() - last >= 60:
                shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
                notice(f"waiting for {len(missing)} part(s) from the other processes: {shown}")
                last = time.monotonic()
            time.sleep(poll)

    def merge(self, count: int) -> int:
        """Concatenate parts 0..count-1 in order into OUT (atomically), remove the parts folder; rows written."""
        records = [json.loads(self.marker(i).read_text(encoding="utf-8")) for i in range(count)]
        columns = records[0]["columns"]
        if any(record["columns"] != columns for record in records):
            raise DataError(f"The parts in {self.folder} have different columns: pass --overwrite to start over.")
        parts = [self.part_path(i) for i in range(count)]
        _write_atomic(self.output, lambda tmp: _concatenate(parts, tmp, self.suffix, columns))
        shutil.rmtree(self.folder, ignore_errors=True)
        return sum(record["rows"] for record in records)


def _concatenate(parts: list[Path], target: Path, suffix: str, columns: list[str]) -> None:
    """One file from the part files, one part in memory at a time at most."""
    if suffix in (".csv", ".jsonl"):
        with target.open("wb") as out:
            if suffix == ".csv":
                import pandas as pd

                out.write(pd.DataFrame(columns=columns).to_csv(index=False).encode("utf-8"))
            for part in parts:
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:  # CSV cells and JSON values may give one part int64 and the next double or null: one common schema
        schema = pa.unify_schemas([pq.read_schema(part).remove_metadata() for part in parts],
                                  promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise DataError(f"The parts' columns have types that do not combine ({error}): write .csv or .jsonl "
                        "instead, or make the column's values of one type.") from error
    with pq.ParquetWriter(target, schema) as writer:
        for part in parts:
            table = pq.read_table(part).replace_schema_metadata(None)
            writer.write_table(table.select(schema.names).cast(schema))

"""Read the rows to predict in parts of a fixed number of rows, so memory stays bounded on any file size.

A part is the unit of streaming, of resuming and of sharding: part i holds rows i * part_size to
(i + 1) * part_size of the input, in its order. Sources: CSV/TSV (cells kept as written: strings, an empty cell
stays ""), JSON Lines, Parquet (record batches) and a plain JSON array (read whole: use JSONL for big files),
or, for image models, a folder of image files (recursively, in sorted order, hidden paths skipped), which
gives one `path` column. Every problem is a DataError that says which file, column or row, and what to fix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tp.data.images import IMAGE_SUFFIXES
from tp.errors import DataError
from tp.tasks import IMAGE

if TYPE_CHECKING:
    import pandas as pd
    from PIL import Image

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".json", ".parquet")
FOLDER_COLUMN = "path"


def _rechunk(frames: Iterator[pd.DataFrame], size: int) -> Iterator[pd.DataFrame]:
    """Frames of exactly `size` rows (the last one shorter) from frames of any sizes."""
    import pandas as pd

    pending: list[pd.DataFrame] = []
    count = 0
    for frame in frames:
        pending.append(frame)
        count += len(frame)
        while count >= size:
            whole = pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]
            yield whole.iloc[:size].reset_index(drop=True)
            rest = whole.iloc[size:]
            pending, count = ([rest] if len(rest) else []), len(rest)
    if count:
        yield (pd.concat(pending, ignore_index=True) if len(pending) > 1 else pending[0]).reset_index(drop=True)


def _table_frames(path: Path, size: int, encoding: str) -> tuple[Iterator[pd.DataFrame], int | None]:
    """(frames of `size` rows, the row count when the format records it) of one table file."""
    import pandas as pd

    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        reader = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str, keep_default_na=False,
                             chunksize=size, encoding=encoding)
        return iter(reader), None
    if suffix == ".jsonl":  # one record a line: counting them is cheap next to predicting them
        with path.open("rb") as handle:
            total = sum(1 for line in handle if line.strip())
        return iter(pd.read_json(path, lines=True, chunksize=size, encoding=encoding)), total
    if suffix == ".json":
        from tp.data.sources import read_table

        frame = read_table(path, encoding)
        return (frame.iloc[i:i + size].reset_index(drop=True) for i in range(0, len(frame), size)), len(frame)
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    batches = (batch.to_pandas() for batch in parquet.iter_batches(batch_size=size))
    return _rechunk(batches, size), parquet.metadata.num_rows


def _image_files(folder: Path) -> list[Path]:
    """Image files under `folder`, sorted by their relative path; hidden files and folders skipped."""
    return sorted((path for path in folder.rglob("*")
                   if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES
                   and not any(part.startswith(".") for part in path.relative_to(folder).parts)),
                  key=lambda path: path.relative_to(folder).as_posix())


@dataclass
class Source:
    """An input opened for prediction: its parts, the column that holds the inputs and what identifies it."""

    path: Path
    column: str
    columns: list[str]
    total: int | None  # rows, when known before reading the parts (not for CSV/TSV: cells may span lines)
    fingerprint: dict[str, Any]
    part_size: int
    folder: bool = False
    _frames: Iterator[pd.DataFrame] = field(default_factory=lambda: iter(()), repr=False)
    _first: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def base(self) -> Path:
        """The folder that relative image paths start from."""
        return self.path if self.folder else self.path.parent

    def part_rows(self, index: int) -> int | None:
        """Rows of part `index` (None when the total is unknown)."""
        if self.total is None:
            return None
        return max(0, min(self.part_size, self.total - index * self.part_size))

    def parts(self) -> Iterator[tuple[int, pd.DataFrame]]:
        """(part index, its rows) in input order; a read error names the part's rows."""
        index = 0
        if self._first is not None:
            yield 0, self._first
            index = 1
        while True:
            try:
                frame = next(self._frames)
            except StopIteration:
                return
            except (ValueError, UnicodeDecodeError, OSError) as error:
                first = index * self.part_size + 1
                raise DataError(f"Could not read rows {first}-{first + self.part_size - 1} of {self.path}: "
                                f"{error}. Fix the file there (or re-save it) and rerun: done parts are kept.") \
                    from error
            yield index, frame
            index += 1

    def texts(self, frame: pd.DataFrame, index: int, column: str | None = None) -> list[str]:
        """The texts of a part (of `column`, default the source's); a missing one (null) is an error naming its
        row."""
        column = column or self.column
        texts = []
        for offset, value in enumerate(frame[column].tolist()):
            if value is None or (isinstance(value, float) and value != value):
                raise DataError(f"Row {index * self.part_size + offset + 1} of {self.path.name} has no text in "
                                f"column {column!r}: fill it in or drop the row.")
            texts.append(value if isinstance(value, str) else str(value))
        return texts

    def open_images(self, frame: pd.DataFrame, index: int, positions: list[int]) -> list[Image.Image]:
        """The images of rows `positions` of a part, opened; an unreadable one is an error naming its row."""
        from tp.data.images import open_image

        values = frame[self.column].tolist()
        images = []
        for position in positions:
            value = values[position]
            try:
                images.append(open_image(self._image_item(value)))
            except Exception as error:  # PIL raises many kinds (UnidentifiedImageError, OSError, SyntaxError...)
                row = index * self.part_size + position + 1
                where = (f"Image {self.path / str(value)}" if self.folder else
                         f"Row {row} of {self.path.name} (column {self.column!r}: {_short(value)})")
                raise DataError(f"{where} is not a readable image ({type(error).__name__}: {error}): fix the "
                                "file or the path, or drop the row, and rerun: done parts are kept.") from error
        return images

    def _image_item(self, value: Any) -> Any:
        if isinstance(value, bytes):
            return {"bytes": value, "path": None}
        if isinstance(value, dict):
            if value.get("bytes") or not value.get("path"):
                return value
            value = value["path"]
        if not isinstance(value, str) or not value.strip():
            raise ValueError("not an image path")
        path = Path(value).expanduser()
        return {"bytes": None, "path": str(path if path.is_absolute() else self.base / path)}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def open_source(path: Path, task: str, column: str, part_size: int, encoding: str = "utf-8") -> Source:
    """Open `path` for a model of `task`, reading its first part to check the column; no rows is an error."""
    import pandas as pd

    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"--data {path} does not exist: check the path.")
    option = "--image-column" if task == IMAGE.name else "--text-column"
    if path.is_dir():
        if task != IMAGE.name:
            raise DataError(f"--data {path} is a folder; a text model reads a table file "
                            f"({', '.join(TABLE_SUFFIXES)}) with a {option} column.")
        files = _image_files(path)
        if not files:
            raise DataError(f"--data {path} holds no image files ({', '.join(IMAGE_SUFFIXES)}), in any subfolder.")
        names = [file.relative_to(path).as_posix() for file in files]
        digest = hashlib.sha256()
        for name, file in zip(names, files, strict=True):
            digest.update(f"{name}\0{file.stat().st_size}\0".encode())
        fingerprint = {"data": str(path.resolve()), "images": len(files), "listing": digest.hexdigest()[:16]}
        frames = (pd.DataFrame({FOLDER_COLUMN: names[i:i + part_size]}) for i in range(0, len(names), part_size))
        return Source(path, FOLDER_COLUMN, [FOLDER_COLUMN], len(names), fingerprint, part_size, True,
                      frames, next(frames))
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"--data {path} has an unsupported suffix {suffix or '(none)'!r}: use one of "
                        f"{', '.join(TABLE_SUFFIXES)}" + (", or a folder of images." if option == "--image-column"
                                                          else "."))
    stat = path.stat()
    if stat.st_size == 0:
        raise DataError(f"--data {path} is empty: it needs a header (or keys) and at least one row.")
    try:
        frames, total = _table_frames(path, part_size, encoding)
        first = next(frames, None)
    except UnicodeDecodeError as error:
        raise DataError(f"{path} is not valid {encoding}: re-save it as UTF-8 or pass --encoding "
                        "(e.g. latin-1).") from error
    except pd.errors.EmptyDataError as error:
        raise DataError(f"--data {path} is empty: it needs a header and at least one row.") from error
    except (ValueError, pd.errors.ParserError, OSError) as error:
        raise DataError(f"Could not read {path} as {suffix[1:].upper()}: {error}") from error
    if first is None or not len(first):
        raise DataError(f"--data {path} has no rows to predict (a header alone, or an empty list).")
    columns = [str(name) for name in first.columns]
    if column not in first.columns:
        raise DataError(f"{path.name} has no column {column!r}; its columns are: {', '.join(columns)}. "
                        f"Name the one to predict on with {option} NAME.")
    fingerprint = {"data": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return Source(path, column, columns, total, fingerprint, part_size, False, frames, first)

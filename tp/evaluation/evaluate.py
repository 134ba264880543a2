"""Evaluate any classifier (run folder, model folder, Hub id) on any dataset the loader accepts, texts or images.

A run is evaluated on its recorded split when no data is given or the data is its own source; any other data
is evaluated whole: every labelled row, whatever its number of classes, labels matched to the model's by name.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from tp.config import DataConfig, build_dataclass
from tp.data.prepare import fingerprint, labelled_rows, prepare_data
from tp.errors import DataError
from tp.evaluation.metrics import classification_metrics, peak_rss_bytes
from tp.evaluation.reports import plot_confusion_matrix
from tp.files import write_json
from tp.models.loading import load_classifier
from tp.tasks import Classifier, task_named


def recorded_data_config(model_dir: Path) -> DataConfig | None:
    """The data section of a run folder's recipe, to rebuild exactly its recorded split."""
    path = Path(model_dir) / "config.yaml"
    if not path.is_file():
        return None
    # the data section only: a run trained by an older tp may hold training keys this version no longer has
    return build_dataclass(DataConfig, yaml.safe_load(path.read_text(encoding="utf-8")).get("data") or {}, "data")


def map_labels(data_labels: list[str], model_labels: list[str]) -> list[int]:
    """For each dataset label index, the model's index of the same label name."""
    if all(name in model_labels for name in data_labels):
        return [model_labels.index(name) for name in data_labels]
    generic = [f"LABEL_{i}" for i in range(len(model_labels))]
    if model_labels == generic and all(name.isdigit() and int(name) < len(model_labels) for name in data_labels):
        return [int(name) for name in data_labels]  # an unnamed head: integer labels are indices
    missing = sorted(set(data_labels) - set(model_labels))
    raise DataError(f"The dataset's labels {missing} are not labels of the model ({', '.join(model_labels)}): "
                    "check data.label_column, or evaluate on data with the model's classes.")


def _predict(classifier: Classifier, items: list[Any], batch_size: int) -> list[int]:
    predictions: list[int] = []
    for start in range(0, len(items), 256):  # open image files a chunk at a time, not all at once
        inputs = classifier.open(items[start:start + 256])
        predictions += classifier.predict_logits(inputs, batch_size).argmax(-1).tolist()
    return predictions


def evaluate_classifier(classifier: Classifier, inputs: list[Any], labels: list[int],
                        batch_size: int = 32) -> dict[str, Any]:
    """Metrics of `classifier` on texts (or image items) whose labels are already model indices."""
    start = time.perf_counter()
    predictions = _predict(classifier, inputs, batch_size)
    seconds = time.perf_counter() - start
    metrics = classification_metrics(labels, predictions, classifier.labels)
    unit = classifier.spec.unit
    metrics.update({"eval_seconds": round(seconds, 2), f"{unit}_per_second": round(len(inputs) / seconds, 1)})
    return metrics


def same_source(given: str, recorded: str) -> bool:
    """Whether `given` names the run's recorded data source: the same string, or the same file or folder."""
    if given == recorded:
        return True
    paths = [Path(source).expanduser() for source in (given, recorded)]
    return all(path.exists() for path in paths) and paths[0].resolve() == paths[1].resolve()


def _labels_to_model(names: list[str], model_labels: list[str]) -> list[int]:
    """Model indices of per-row label names: matched by name (integers for an unnamed LABEL_i head)."""
    present = sorted(set(names))
    index = dict(zip(present, map_labels(present, model_labels), strict=True))
    return [index[name] for name in names]


def _same(classifier: Classifier, test_fingerprint: str) -> bool | None:
    """Whether rows hash like the test split the run recorded at training (None: it recorded none)."""
    expected = classifier.info.get("data", {}).get("test_fingerprint")
    return expected == test_fingerprint if expected else None


def _check_task(model: str | Path, classifier: Classifier, task: str, source: str) -> None:
    if task != classifier.task:
        inputs = task_named(task).unit
        raise DataError(f"{model} is a model for {classifier.task} but {source} holds {inputs}: evaluate it "
                        f"on {classifier.task.split('-')[0]} data.")


def _recorded_split(model: str | Path, classifier: Classifier, data: DataConfig,
                    split: str) -> tuple[list[Any], list[int], dict[str, Any]]:
    """Inputs and model labels of a split rebuilt the way the run recorded it, and its description."""
    prepared = prepare_data(data)
    _check_task(model, classifier, prepared.task, data.source)
    if split not in prepared.splits:
        raise DataError(f"Unknown split {split!r}: use train, validation or test.")
    to_model = map_labels(prepared.labels, classifier.labels)
    chosen = prepared.splits[split]
    test = prepared.record["test_fingerprint"]
    return chosen[prepared.inputs], [to_model[y] for y in chosen["label"]], {
        "rows": "recorded split", "split": split, "split_fingerprint": test if split == "test" else None,
        "same_split_as_training": _same(classifier, test)}


def _every_row(model: str | Path, classifier: Classifier, data: DataConfig,
               split: str) -> tuple[list[Any], list[int], dict[str, Any]]:
    """Inputs and model labels of every labelled row of a user's data (its `split` if it has splits)."""
    inputs, names, record = labelled_rows(data, split)
    _check_task(model, classifier, record["task"], data.source)
    if not inputs:
        raise DataError(f"{data.source} has no rows with an input and a label (dropped: {record['dropped']}).")
    labels = _labels_to_model(names, classifier.labels)
    key = task_named(record["task"]).input
    found = fingerprint({key: inputs, "label": labels})
    return inputs, labels, {"rows": "every row", "split": record["split"], "rows_read": record["rows_read"],
                            "rows_dropped": record["dropped"], "split_fingerprint": found,
                            "same_split_as_training": _same(classifier, found)}


def evaluate_model(model: str | Path, data: DataConfig | None = None, split: str = "test",
                   output: Path | None = None) -> dict[str, Any]:
    """Evaluate `model` and write reports: on the run's recorded `split` (no `data`, or `data` naming the run's
    own source), else on every labelled row of `data` (its `split` when the source has splits)."""
    classifier = load_classifier(model)
    recorded = recorded_data_config(Path(model)) if Path(model).is_dir() else None
    if data is None and recorded is None:
        raise DataError(f"{model} records no dataset: pass --data (a file, a folder, a Hub id, builtin:bbc-news "
                        "or builtin:digits).")
    if data is None or (recorded is not None and same_source(data.source, recorded.source)):
        data = recorded or data  # the recorded recipe (seed, sizes, columns) rebuilds exactly the run's split
        inputs, labels, scope = _recorded_split(model, classifier, data, split)
    else:
        inputs, labels, scope = _every_row(model, classifier, data, split)
    metrics = evaluate_classifier(classifier, inputs, labels)
    metrics.update({"model": str(model), "dataset": data.source, **scope, "peak_rss_bytes": peak_rss_bytes()})
    if output is not None:
        output = Path(output)
        write_json(output / "metrics.json", metrics)
        what = scope["split"] if scope["rows"] == "recorded split" else f"{len(inputs)} rows"
        plot_confusion_matrix(metrics["test_confusion_matrix"], classifier.labels,
                              output / "confusion_matrix.png",
                              f"{Path(str(model)).name} on {data.source} ({what}): {metrics['test_accuracy']:.3f}")
    return metrics

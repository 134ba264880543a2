"""Evaluate any classifier (run folder, model folder, Hub id) on any dataset the loader accepts, texts or images."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from tp.classifier import TextClassifier, load_classifier
from tp.config import DataConfig, build_dataclass
from tp.data import prepare_data
from tp.errors import DataError
from tp.image_classifier import ImageClassifier
from tp.metrics import classification_metrics, peak_rss_bytes
from tp.reports import plot_confusion_matrix
from tp.run_folder import write_json


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


def _predict(classifier: TextClassifier | ImageClassifier, inputs: list[Any], batch_size: int) -> list[int]:
    if classifier.task != "image-classification":
        return classifier.predict_logits(inputs, batch_size).argmax(-1).tolist()
    from tp.image_data import open_image

    predictions: list[int] = []
    for start in range(0, len(inputs), 256):  # open image files a chunk at a time, not all at once
        images = [open_image(item) for item in inputs[start:start + 256]]
        predictions += classifier.predict_logits(images, batch_size).argmax(-1).tolist()
    return predictions


def evaluate_classifier(classifier: TextClassifier | ImageClassifier, inputs: list[Any], labels: list[int],
                        batch_size: int = 32) -> dict[str, Any]:
    """Metrics of `classifier` on texts (or image items) whose labels are already model indices."""
    start = time.perf_counter()
    predictions = _predict(classifier, inputs, batch_size)
    seconds = time.perf_counter() - start
    metrics = classification_metrics(labels, predictions, classifier.labels)
    unit = "images" if classifier.task == "image-classification" else "texts"
    metrics.update({"eval_seconds": round(seconds, 2), f"{unit}_per_second": round(len(inputs) / seconds, 1)})
    return metrics


def evaluate_model(model: str | Path, data: DataConfig | None = None, split: str = "test",
                   output: Path | None = None) -> dict[str, Any]:
    """Evaluate `model` on a split of `data` (default: the run's own recorded split) and write reports."""
    classifier = load_classifier(model)
    recorded = recorded_data_config(Path(model)) if Path(model).is_dir() else None
    data = data or recorded
    if data is None:
        raise DataError(f"{model} records no dataset: pass --data (a file, a folder, a Hub id, builtin:bbc-news "
                        "or builtin:digits).")
    prepared = prepare_data(data)
    if prepared.task != classifier.task:
        raise DataError(f"{model} is a model for {classifier.task} but {data.source} holds "
                        f"{prepared.inputs}s: evaluate it on {classifier.task.split('-')[0]} data.")
    if split not in prepared.splits:
        raise DataError(f"Unknown split {split!r}: use train, validation or test.")
    to_model = map_labels(prepared.labels, classifier.labels)
    chosen = prepared.splits[split]
    metrics = evaluate_classifier(classifier, chosen[prepared.inputs], [to_model[y] for y in chosen["label"]])
    expected = classifier.info.get("data", {}).get("test_fingerprint")
    metrics.update({"model": str(model), "dataset": data.source, "split": split,
                    "split_fingerprint": prepared.record["test_fingerprint"] if split == "test" else None,
                    "same_split_as_training": expected == prepared.record["test_fingerprint"] if expected else None,
                    "peak_rss_bytes": peak_rss_bytes()})
    if output is not None:
        output = Path(output)
        write_json(output / "metrics.json", metrics)
        plot_confusion_matrix(metrics["test_confusion_matrix"], classifier.labels,
                              output / "confusion_matrix.png",
                              f"{Path(str(model)).name} on {data.source} ({split}): {metrics['test_accuracy']:.3f}")
    return metrics

"""Evaluate any classifier (run folder, model folder, Hub id) on any dataset the loader accepts, texts or images.

A run is evaluated on its recorded split when no data is given or the data is its own source; any other data
is evaluated whole: every labelled row, whatever its number of classes, labels matched to the model's by name.
The metrics are the model's problem's (tp.evaluation.problem_metrics.score_outputs): a multi-label model's rows
carry sets of label names (scored at the run's thresholds), a regression model's numbers; a pair model reads
its two text columns (the ones its run recorded unless the data names others).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import yaml

from tp.config import DataConfig, build_dataclass
from tp.data.labels import multi_hot
from tp.data.prepare import fingerprint, labelled_rows, prepare_data
from tp.errors import DataError
from tp.evaluation.metrics import peak_rss_bytes
from tp.evaluation.problem_metrics import score_outputs
from tp.evaluation.reports import plot_confusion_matrix
from tp.files import write_json
from tp.models.loading import load_classifier
from tp.tasks import MULTI_LABEL, REGRESSION, SINGLE_LABEL, Classifier, Problem, task_named


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


def _logits(classifier: Classifier, items: list[Any], batch_size: int) -> Any:
    import numpy as np

    chunks = []
    for start in range(0, len(items), 256):  # open image files a chunk at a time, not all at once
        inputs = classifier.open(items[start:start + 256])
        chunks.append(classifier.predict_logits(inputs, batch_size))
    return np.concatenate(chunks) if chunks else np.zeros((0, len(classifier.labels)), dtype=np.float32)


def problem_of(classifier: Classifier) -> Problem:
    """The classifier's problem (an image classifier: one label per image)."""
    return getattr(classifier, "problem", SINGLE_LABEL)


def evaluate_classifier(classifier: Classifier, inputs: list[Any], labels: list[Any],
                        batch_size: int = 32) -> dict[str, Any]:
    """Metrics of `classifier` on texts, pairs or image items whose labels are already model targets: indices,
    multi-hot rows in the model's label order, or numbers."""
    start = time.perf_counter()
    logits = _logits(classifier, inputs, batch_size)
    seconds = time.perf_counter() - start
    problem = problem_of(classifier)
    metrics = score_outputs(problem, labels, logits, classifier.labels, getattr(classifier, "thresholds", None))
    unit = classifier.spec.unit
    metrics.update({"problem_type": problem.name, "eval_seconds": round(seconds, 2),
                    f"{unit}_per_second": round(len(inputs) / seconds, 1)})
    return metrics


def same_source(given: str, recorded: str) -> bool:
    """Whether `given` names the run's recorded data source: the same string, or the same file or folder."""
    if given == recorded:
        return True
    paths = [Path(source).expanduser() for source in (given, recorded)]
    return all(path.exists() for path in paths) and paths[0].resolve() == paths[1].resolve()


def _labels_to_model(names: list[Any], model_labels: list[str], problem: Problem) -> list[Any]:
    """Model targets of per-row labels: indices matched by name (integers for an unnamed LABEL_i head); for
    multi-label, multi-hot rows in the model's label order; numbers as they are."""
    if problem is REGRESSION:
        return [float(value) for value in names]
    if problem is MULTI_LABEL:
        present = sorted({name for row in names for name in row})
        index = dict(zip(present, map_labels(present, model_labels), strict=True))
        return [multi_hot((index[name] for name in row), len(model_labels)) for row in names]
    present = sorted(set(names))
    index = dict(zip(present, map_labels(present, model_labels), strict=True))
    return [index[name] for name in names]


def split_targets(labels: list[Any], data_labels: list[str], model_labels: list[str], problem: Problem) -> list[Any]:
    """A prepared split's targets in the model's terms (its label indices, or label order for multi-hot rows)."""
    if problem is REGRESSION:
        return list(labels)
    to_model = map_labels(data_labels, model_labels)
    if problem is MULTI_LABEL:  # the data's label j is the model's label to_model[j]
        return [multi_hot((to_model[j] for j, on in enumerate(row) if on), len(model_labels)) for row in labels]
    return [to_model[y] for y in labels]


def split_inputs(split: dict[str, list], key: str) -> list[Any]:
    """A prepared split's inputs: texts or image items, or (text, text_pair) tuples for pairs."""
    if "text_pair" in split:
        return list(zip(split["text"], split["text_pair"], strict=True))
    return list(split[key])


def _same(classifier: Classifier, test_fingerprint: str) -> bool | None:
    """Whether rows hash like the test split the run recorded at training (None: it recorded none)."""
    expected = classifier.info.get("data", {}).get("test_fingerprint")
    return expected == test_fingerprint if expected else None


def _check_task(model: str | Path, classifier: Classifier, task: str, source: str) -> None:
    if task != classifier.task:
        inputs = task_named(task).unit
        raise DataError(f"{model} is a model for {classifier.task} but {source} holds {inputs}: evaluate it "
                        f"on {classifier.task.split('-')[0]} data.")


def _check_problem(model: str | Path, classifier: Classifier, problem_type: str, pairs: bool, source: str) -> None:
    problem = problem_of(classifier)
    if problem_type != problem.name:
        raise DataError(f"{model} is a {problem.name.replace('_', ' ')} model but the labels of {source} make a "
                        f"{problem_type.replace('_', ' ')} problem: evaluate it on data labelled like its training "
                        "data (check --label-column).")
    if pairs != bool(getattr(classifier, "pairs", False)):
        fix = "drop --text-pair-column" if pairs else "name the second text's column with --text-pair-column"
        raise DataError(f"{model} reads {'text pairs' if not pairs else 'single texts'} but {source} was read as "
                        f"{'pairs' if pairs else 'single texts'}: {fix}.")


def for_model(data: DataConfig, classifier: Classifier) -> DataConfig:
    """`data` read the way `classifier` reads: its problem's labels, and a pair model's recorded second column."""
    changes: dict[str, Any] = {}
    problem = problem_of(classifier)
    if data.task == "auto" and problem is not SINGLE_LABEL:
        changes["task"] = problem.recipe
    recorded = classifier.info.get("data") or {}
    if getattr(classifier, "pairs", False) and not data.text_pair_column and recorded.get("text_pair_column"):
        changes["text_pair_column"] = recorded["text_pair_column"]
    return dataclasses.replace(data, **changes) if changes else data


def _recorded_split(model: str | Path, classifier: Classifier, data: DataConfig,
                    split: str) -> tuple[list[Any], list[int], dict[str, Any]]:
    """Inputs and model labels of a split rebuilt the way the run recorded it, and its description."""
    prepared = prepare_data(data)
    _check_task(model, classifier, prepared.task, data.source)
    _check_problem(model, classifier, prepared.problem_type, prepared.pairs, data.source)
    if split not in prepared.splits:
        raise DataError(f"Unknown split {split!r}: use train, validation or test.")
    chosen = prepared.splits[split]
    targets = split_targets(chosen["label"], prepared.labels, classifier.labels, prepared.problem)
    test = prepared.record["test_fingerprint"]
    return split_inputs(chosen, prepared.inputs), targets, {
        "rows": "recorded split", "split": split, "split_fingerprint": test if split == "test" else None,
        "same_split_as_training": _same(classifier, test)}


def _every_row(model: str | Path, classifier: Classifier, data: DataConfig,
               split: str) -> tuple[list[Any], list[int], dict[str, Any]]:
    """Inputs and model labels of every labelled row of a user's data (its `split` if it has splits)."""
    inputs, names, record = labelled_rows(data, split)
    _check_task(model, classifier, record["task"], data.source)
    _check_problem(model, classifier, record["problem_type"], bool(data.text_pair_column), data.source)
    if not inputs:
        raise DataError(f"{data.source} has no rows with an input and a label (dropped: {record['dropped']}).")
    labels = _labels_to_model(names, classifier.labels, problem_of(classifier))
    key = task_named(record["task"]).input
    rows = {"text": [a for a, _ in inputs], "text_pair": [b for _, b in inputs]} if data.text_pair_column else \
        {key: inputs}
    found = fingerprint({**rows, "label": labels})
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
        inputs, labels, scope = _every_row(model, classifier, for_model(data, classifier), split)
    metrics = evaluate_classifier(classifier, inputs, labels)
    metrics.update({"model": str(model), "dataset": data.source, **scope, "peak_rss_bytes": peak_rss_bytes()})
    if output is not None:
        output = Path(output)
        write_json(output / "metrics.json", metrics)
        if "test_confusion_matrix" not in metrics:  # multi-label and regression: metrics.json says it all
            return metrics
        what = scope["split"] if scope["rows"] == "recorded split" else f"{len(inputs)} rows"
        plot_confusion_matrix(metrics["test_confusion_matrix"], classifier.labels,
                              output / "confusion_matrix.png",
                              f"{Path(str(model)).name} on {data.source} ({what}): {metrics['test_accuracy']:.3f}")
    return metrics

"""The lab's data: a run's fp32 classifier and its recorded splits, texts or images, and how to encode them.

A text run's splits hold texts; an image run's hold image items (`tp.image_data.open_image` opens them).
The test split is opened once, since every variant classifies it several times; train and validation
items are opened a batch at a time (head importance, recovery fine-tuning). A pair run's inputs are
(text, text_pair) tuples; its targets are what the model's loss takes: label indices, multi-hot rows in the
model's label order (multi-label) or numbers (regression). `scorer` scores outputs the problem's way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tp.compression.gate_metric import Scorer, scorer_of
from tp.compression.variants import is_variant_folder
from tp.data.prepare import prepare_data
from tp.errors import ConfigError, DataError
from tp.evaluation.evaluate import recorded_data_config, split_inputs, split_targets
from tp.models.classifier import TextClassifier
from tp.models.image_classifier import ImageClassifier
from tp.models.loading import load_classifier


@dataclass
class LabData:
    """The run's baseline classifier and its recorded splits, targets already in the model's terms."""

    run_dir: Path
    classifier: TextClassifier | ImageClassifier
    splits: dict[str, tuple[list[Any], list[Any]]]  # texts, pairs or image items (the test split: opened images)
    same_split_as_training: bool | None
    baseline_folder: Path | None = None  # the fp32 model saved like a variant (bnb-8bit loads from it)
    built: dict[str, tuple[Any, dict[str, Any]]] = field(default_factory=dict)  # label -> (student, details)
    teacher: dict[str, Any] = field(default_factory=dict)  # the teacher's train logits and validation score

    @property
    def is_image(self) -> bool:
        return self.classifier.spec.is_image

    @property
    def scorer(self) -> Scorer:
        """Scores outputs the run's problem's way (the gate's metric among them)."""
        return scorer_of(self.classifier)

    @property
    def preprocessor(self) -> Any:
        """What turns inputs into model inputs, saved in every variant folder: tokenizer or image processor."""
        return self.classifier.preprocessor

    def open(self, items: list[Any]) -> list[Any]:
        """Texts as they are; image items as PIL images."""
        return self.classifier.open(items)

    def encode(self, items: list[Any]) -> dict[str, Any]:
        """Model inputs for a batch of split items: texts tokenized the run's truncation way, or pixel_values."""
        return self.classifier.encode(self.classifier.open(items))

    def batches(self, split: str, count: int, batch_size: int = 16) -> list[dict[str, Any]]:
        """`count` examples spread over a split, encoded in batches that carry their `labels`."""
        import torch

        items, labels = spread(self.splits[split], count)
        return [{**self.encode(items[i:i + batch_size]), "labels": torch.tensor(labels[i:i + batch_size])}
                for i in range(0, len(items), batch_size)]


def spread(split: tuple[list[Any], list[Any]], count: int | None) -> tuple[list[Any], list[Any]]:
    """`count` examples spread evenly over a split: splits are ordered by class, so the first N are one class."""
    texts, labels = split
    if count is None or count >= len(texts):
        return split
    chosen = np.linspace(0, len(texts) - 1, count).round().astype(int).tolist()
    return [texts[i] for i in chosen], [labels[i] for i in chosen]


def load_lab_data(run_dir: Path, limit: int | None = None) -> LabData:
    """Load the run's fp32 model and rebuild its recorded train/validation/test split (texts or images)."""
    if is_variant_folder(run_dir):
        raise ConfigError(f"{run_dir} is a compressed variant: run the lab on the run folder it came from.")
    data = recorded_data_config(run_dir)
    if data is None:
        raise DataError(f"{run_dir} has no config.yaml with a data section: the lab evaluates a run folder "
                        "on its own recorded test split.")
    classifier = load_classifier(run_dir)
    prepared = prepare_data(data)
    if prepared.task != classifier.task:
        raise DataError(f"{run_dir} holds a {classifier.task} model but its recorded data makes "
                        f"{prepared.task} splits: the lab needs the data the run was trained on.")
    splits = {name: (split_inputs(split, prepared.inputs),
                     split_targets(split["label"], prepared.labels, classifier.labels, prepared.problem))
              for name, split in prepared.splits.items()}
    splits["test"] = spread(splits["test"], limit)
    expected = classifier.info.get("data", {}).get("test_fingerprint")
    same = expected == prepared.record["test_fingerprint"] if expected else None
    lab = LabData(Path(run_dir), classifier, splits, same)
    lab.splits["test"] = (lab.open(splits["test"][0]), splits["test"][1])  # opened once, classified many times
    return lab

"""Load a text classifier from a run folder, a model folder or a Hub id, and predict with it.

A run folder holds `tp.json` (labels, base model, task), `adapter/` (LoRA) and usually `model/`
(merged weights). Without `model/`, as in the shipped `models/bbc-news-minilm/`, the adapter is
applied to the base named in `tp.json` and merged in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tp.sources import resolve_model_source
from tp.tasks import SINGLE_LABEL, TEXT, Problem, Task, problem_named

if TYPE_CHECKING:
    import numpy as np
    import torch

RUN_FILE = "tp.json"


def read_run_info(folder: Path) -> dict[str, Any]:
    """The `tp.json` of a run folder ({} for a plain model folder)."""
    path = Path(folder) / RUN_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def auto_classes(image: bool) -> tuple[Any, Any]:
    """(model class, preprocessor class) for a text or an image classifier; only that task's are imported."""
    if image:
        from transformers import AutoImageProcessor, AutoModelForImageClassification

        return AutoModelForImageClassification, AutoImageProcessor
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    return AutoModelForSequenceClassification, AutoTokenizer


def label_config(labels: list[str], problem_type: str | None = None) -> dict[str, Any]:
    """The config values that name a head's outputs: labels, their count and how to read them."""
    values: dict[str, Any] = {"num_labels": len(labels), "id2label": dict(enumerate(labels)),
                              "label2id": {name: i for i, name in enumerate(labels)}}
    if problem_type:
        values["problem_type"] = problem_type
    return values


def merge_adapter(adapter_dir: Path, base: str, labels: list[str], trust_remote_code: bool = False,
                  image: bool = False, use_peft: bool = False, problem_type: str | None = None) -> torch.nn.Module:
    """Apply a saved LoRA adapter (with its head) to a fresh fp32 base and merge it.

    Plain LoRA adapters merge without importing peft (tp.models.lora_merge: seconds less of cold start); other
    adapter kinds, or `use_peft=True`, go through peft's merge_and_unload.
    """
    from tp.models.lora_merge import merge_lora_weights

    source = resolve_model_source(base)
    model_class, _ = auto_classes(image)
    model = model_class.from_pretrained(
        source.path, **label_config(labels, problem_type), trust_remote_code=trust_remote_code,
        **({"ignore_mismatched_sizes": True} if image else {}))  # an image base may carry a 1000-class head
    merged = None if use_peft else merge_lora_weights(model, adapter_dir)
    if merged is None:
        from peft import PeftModel

        merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.name_or_path = base
    return merged


@dataclass
class TextClassifier:
    """A loaded sequence classifier with its tokenizer, labels and run information."""

    model: Any
    tokenizer: Any
    labels: list[str]
    max_length: int = 256
    info: dict[str, Any] = field(default_factory=dict)
    task: str = TEXT.name
    truncation: str = "head"  # how the run cut long texts at training (tp.models.text_encoding): cut them alike here
    problem_type: str = SINGLE_LABEL.name  # how logits are read (tp.tasks.Problem)
    thresholds: list[float] | None = None  # multi-label: each label's decision threshold, tuned on validation
    pairs: bool = False  # each input is a (text, text_pair) pair

    @property
    def spec(self) -> Task:
        return TEXT

    @property
    def problem(self) -> Problem:
        return problem_named(self.problem_type)

    @property
    def preprocessor(self) -> Any:
        return self.tokenizer

    def open(self, items: list[Any]) -> list[Any]:
        """Texts are their own inputs; a pair model takes `(text, text_pair)` tuples (or such mappings, lists)."""
        if not self.pairs:
            return list(items)
        return [(item["text"], item["text_pair"]) if isinstance(item, dict) else tuple(item) for item in items]

    def encode(self, texts: list[Any]) -> dict[str, torch.Tensor]:
        """Padded tensors of `texts` (or pairs), cut to max_length the run's truncation way."""
        from tp.models.text_encoding import encode_texts

        if self.pairs:
            return encode_texts(self.tokenizer, [a for a, _ in texts], self.max_length, self.truncation,
                                padding=True, return_tensors="pt", pairs=[b for _, b in texts])
        return encode_texts(self.tokenizer, texts, self.max_length, self.truncation, padding=True,
                            return_tensors="pt")

    def predict_logits(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Logits for `texts`, batched by similar length to cut padding; rows follow `texts`."""
        import numpy as np
        import torch

        texts = self.open(texts)  # pairs may come as mappings
        size = (lambda item: len(item[0]) + len(item[1])) if self.pairs else len
        order = sorted(range(len(texts)), key=lambda i: size(texts[i]))
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                batch = self.encode([texts[i] for i in chunk])
                logits = self.model(**batch).logits.float().numpy()
                out[chunk] = logits
        return out

    def predict(self, texts: list[Any], batch_size: int = 32, threshold: float | None = None) -> list[dict[str, Any]]:
        """Per text (or pair), in the problem's shape (tp.models.outputs): the top label, its probability and all
        labels' probabilities; the labels above their thresholds (`threshold` overrides them) with every label's
        score; or the predicted value."""
        from tp.models.outputs import read_outputs

        return read_outputs(self.predict_logits(texts, batch_size), self.labels, self.problem, self.thresholds,
                            threshold)

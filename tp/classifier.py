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

from tp.errors import ModelSourceError
from tp.image_classifier import ImageClassifier
from tp.sources import resolve_model_source

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


def merge_adapter(adapter_dir: Path, base: str, labels: list[str], trust_remote_code: bool = False,
                  image: bool = False, use_peft: bool = False) -> torch.nn.Module:
    """Apply a saved LoRA adapter (with its head) to a fresh fp32 base and merge it.

    Plain LoRA adapters merge without importing peft (tp.lora_merge: seconds less of cold start); other
    adapter kinds, or `use_peft=True`, go through peft's merge_and_unload.
    """
    from tp.lora_merge import merge_lora_weights

    source = resolve_model_source(base)
    model_class, _ = auto_classes(image)
    model = model_class.from_pretrained(
        source.path, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)}, trust_remote_code=trust_remote_code,
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
    task: str = "text-classification"
    truncation: str = "head"  # how the run cut long texts at training (tp.text_encoding): cut them alike here

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Padded tensors of `texts`, cut to max_length the run's truncation way."""
        from tp.text_encoding import encode_texts

        return encode_texts(self.tokenizer, texts, self.max_length, self.truncation, padding=True,
                            return_tensors="pt")

    def predict_logits(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Logits for `texts`, batched by similar length to cut padding; rows follow `texts`."""
        import numpy as np
        import torch

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                batch = self.tokenize([texts[i] for i in chunk])
                logits = self.model(**batch).logits.float().numpy()
                out[chunk] = logits
        return out

    def predict_texts(self, texts: list[str], batch_size: int = 32) -> list[dict[str, Any]]:
        """Per text: the top label, its probability and all labels with probabilities, sorted."""
        from tp.image_classifier import ranked_scores

        return ranked_scores(self.predict_logits(texts, batch_size), self.labels)


def _is_image(info: dict[str, Any], path: Path | None) -> bool:
    from tp.image_classifier import is_image_model

    if info.get("task"):
        return info["task"] == "image-classification"
    config = path / "config.json" if path else None
    return bool(config and config.is_file() and is_image_model(json.loads(config.read_text(encoding="utf-8"))))


def folder_task(folder: Path) -> str:
    """A model folder's task before it loads: from tp.json, else from config.json (root, or model/)."""
    info = read_run_info(folder)
    if info.get("task"):
        return str(info["task"])
    config = next((path for path in (folder / "config.json", folder / "model" / "config.json") if path.is_file()),
                  None)
    return "image-classification" if _is_image({}, config.parent if config else None) else "text-classification"


def load_classifier(source: str | Path, trust_remote_code: bool = False,
                    force_variant: bool = False) -> TextClassifier | ImageClassifier:
    """Load a run folder, a model folder or a Hub id as a Text- or ImageClassifier on the CPU, in eval mode.

    The task comes from the run's `tp.json`, else from the model's config.json. A compressed variant folder
    (`variant.json`) goes to `tp.compression.variants.load_variant`, which raises RejectedVariantError for a
    variant its accuracy gate rejected unless `force_variant`.
    """
    folder = Path(source).expanduser()
    if not folder.is_dir():  # a Hub id or builtin name: its files, then the same rules as for a folder
        folder = resolve_model_source(str(source)).path
    if (folder / "variant.json").is_file():  # a compressed variant: its own loader, and its accuracy gate
        from tp.compression.variants import load_variant

        return load_variant(folder, force=force_variant)
    info = read_run_info(folder)
    if info:
        labels = list(info["labels"])
        weights = next((p for p in (folder / "model", folder) if has_weights(p)), None)
        image = _is_image(info, weights)
        model_class, pre_class = auto_classes(image)
        if weights is not None:  # model/ in a run folder; the root in a published Hub repo
            model = model_class.from_pretrained(weights, trust_remote_code=trust_remote_code)
            preprocessor = pre_class.from_pretrained(weights)
        elif (folder / "adapter" / "adapter_config.json").is_file():
            model = merge_adapter(folder / "adapter", info["base_model"], labels, trust_remote_code, image)
            preprocessor = pre_class.from_pretrained(resolve_model_source(info["base_model"]).path)
        else:
            raise ModelSourceError(f"Run folder {folder} has neither model/ nor adapter/: it is incomplete.")
    else:
        path = folder
        image = _is_image({}, path)
        model_class, pre_class = auto_classes(image)
        kind = "an image" if image else "a sequence"
        try:
            model = model_class.from_pretrained(path, trust_remote_code=trust_remote_code)
            preprocessor = pre_class.from_pretrained(path)
        except (OSError, ValueError) as error:
            raise ModelSourceError(f"{source} is not a loadable {kind} classifier: {error}") from error
        config = model.config
        labels = [config.id2label[i] for i in range(config.num_labels)]
        task = "image-classification" if image else "text-classification"
        info = {"task": task, "labels": labels, "base_model": str(source)}
    model.eval()
    if image:
        return ImageClassifier(model, preprocessor, labels, info)
    max_length = int(info.get("max_length") or min(getattr(preprocessor, "model_max_length", 512), 512))
    return TextClassifier(model, preprocessor, labels, max_length, info, truncation=info.get("truncation", "head"))

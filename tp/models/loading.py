"""Load a classifier of any task from a run folder, a model folder, a compressed variant folder or a Hub id."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tp.errors import ModelSourceError
from tp.models.classifier import TextClassifier, auto_classes, has_weights, merge_adapter, read_run_info
from tp.models.image_classifier import ImageClassifier
from tp.sources import resolve_model_source
from tp.tasks import IMAGE, SINGLE_LABEL, TEXT


def _is_image(info: dict[str, Any], path: Path | None) -> bool:
    from tp.models.image_classifier import is_image_model

    if info.get("task"):
        return info["task"] == IMAGE.name
    config = path / "config.json" if path else None
    return bool(config and config.is_file() and is_image_model(json.loads(config.read_text(encoding="utf-8"))))


def folder_task(folder: Path) -> str:
    """A model folder's task before it loads: from tp.json, else from config.json (root, or model/)."""
    info = read_run_info(folder)
    if info.get("task"):
        return str(info["task"])
    config = next((path for path in (folder / "config.json", folder / "model" / "config.json") if path.is_file()),
                  None)
    return (IMAGE if _is_image({}, config.parent if config else None) else TEXT).name


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
            model = merge_adapter(folder / "adapter", info["base_model"], labels, trust_remote_code, image,
                                  problem_type=info.get("problem_type"))
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
        task = (IMAGE if image else TEXT).name
        info = {"task": task, "labels": labels, "base_model": str(source)}
    model.eval()
    if image:
        return ImageClassifier(model, preprocessor, labels, info)
    max_length = int(info.get("max_length") or min(getattr(preprocessor, "model_max_length", 512), 512))
    problem_type = info.get("problem_type") or getattr(model.config, "problem_type", None) or SINGLE_LABEL.name
    return TextClassifier(model, preprocessor, labels, max_length, info, truncation=info.get("truncation", "head"),
                          problem_type=problem_type, thresholds=info.get("thresholds"),
                          pairs=bool(info.get("text_pair")))

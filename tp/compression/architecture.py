"""Which transformers auto class rebuilds a saved classifier: the image or the sequence one, from its config."""

from __future__ import annotations

from typing import Any


def is_image_config(config: Any) -> bool:
    """Whether a transformers config (or its dict) describes an image classifier (ViT and the like)."""
    from tp.models.image_classifier import is_image_model

    return is_image_model(config if isinstance(config, dict) else config.to_dict())


def auto_model_class(config: Any) -> Any:
    """AutoModelForImageClassification for an image classifier's config, else AutoModelForSequenceClassification."""
    from tp.models.classifier import auto_classes

    return auto_classes(is_image_config(config))[0]


def model_class_of_folder(folder: Any) -> Any:
    """The auto class for the model saved in `folder` (its config.json decides)."""
    from transformers import AutoConfig

    return auto_model_class(AutoConfig.from_pretrained(folder))

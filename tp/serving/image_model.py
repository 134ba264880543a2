"""Serving an image classifier (ViT): the image half of tp.serving.registry.load_served_model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tp.serving.images import example_data_urls
from tp.serving.inference import ImageInference, reduce_precision
from tp.serving.served import ServedModel, quantized, read_metrics_file, scalar_metrics, skill_record, start_batcher
from tp.serving.settings import ModelSpec, ServerSettings
from tp.serving.telemetry import Telemetry
from tp.tasks import IMAGE


def load_image_model(spec: ModelSpec, classifier: Any, info: dict[str, Any], folder: Path,
                     settings: ServerSettings, telemetry: Telemetry, device: str, workers: int) -> ServedModel:
    """The image half of load_served_model: same batcher, int8 and warm-up, images instead of texts."""
    from PIL import Image

    model = classifier.model.to(device)
    model.requires_grad_(False)
    served = reduce_precision(model, settings.quantize, device)
    inference = ImageInference(served, classifier.preprocessor, device,
                               on_forward=telemetry.forward_observer(spec.name),
                               max_batch_tokens=settings.max_batch_tokens)
    inference([Image.new("RGB", (32, 32))])  # warm-up, as for texts
    batcher = start_batcher(inference, spec, settings, telemetry, workers)
    info.setdefault("task", IMAGE.name)
    values = read_metrics_file(folder)
    return ServedModel(spec, info, list(classifier.labels), None, device,
                       quantized(settings), batcher, model, classifier.preprocessor,
                       folder, scalar_metrics(values), *skill_record(values), task=IMAGE.name,
                       examples=example_data_urls(folder, list(classifier.labels), settings.max_image_bytes))

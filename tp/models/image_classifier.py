"""An image classifier (ViT and other `AutoModelForImageClassification` models) with its image processor.

The counterpart of `tp.classifier.TextClassifier` for images: the processor does the resize and the
normalisation the model was trained with; images may be any PIL mode (they are converted to RGB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tp.models.outputs import ranked_scores
from tp.tasks import IMAGE, Task

if TYPE_CHECKING:
    import numpy as np
    import torch
    from PIL import Image


def is_image_model(config: dict[str, Any]) -> bool:
    """Whether a model's config.json describes an image classifier (by its architectures or its type)."""
    architectures = config.get("architectures") or []
    if any(name.endswith("ForImageClassification") for name in architectures):
        return True
    return config.get("model_type") in {"vit", "deit", "beit", "convnext", "swin", "resnet", "mobilevit"}


@dataclass
class ImageClassifier:
    """A loaded image classifier with its image processor, labels and run information."""

    model: Any
    processor: Any
    labels: list[str]
    info: dict[str, Any] = field(default_factory=dict)
    task: str = IMAGE.name

    @property
    def spec(self) -> Task:
        return IMAGE

    @property
    def preprocessor(self) -> Any:
        return self.processor

    def open(self, items: list[Any]) -> list[Image.Image]:
        """Dataset or request items (PIL images, `{"bytes", "path"}` mappings) as loaded PIL images."""
        from tp.data.images import open_image

        return [open_image(item) for item in items]

    def encode(self, images: list[Image.Image]) -> dict[str, torch.Tensor]:
        """`pixel_values` for a batch of images, as the model's processor makes them."""
        from tp.data.images import to_rgb

        return self.processor(images=[to_rgb(image) for image in images], return_tensors="pt")

    def predict_logits(self, images: list[Image.Image], batch_size: int = 32) -> np.ndarray:
        """Logits for `images`, in batches; rows follow `images`."""
        import numpy as np
        import torch

        out = np.zeros((len(images), len(self.labels)), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(images), batch_size):
                batch = self.encode(images[start:start + batch_size])
                out[start:start + batch_size] = self.model(**batch).logits.float().numpy()
        return out

    def predict(self, images: list[Image.Image], batch_size: int = 32) -> list[dict[str, Any]]:
        """Per image: the top label, its probability and all labels with probabilities, sorted."""
        return ranked_scores(self.predict_logits(images, batch_size), self.labels)

"""Image datasets: sources, image items, fingerprints, augmentation and the on-the-fly processor transform.

Sources: `builtin:digits` (scikit-learn's 1,797 real 8x8 handwritten digits, shipped inside scikit-learn),
an image folder (one subfolder per class, the folder name is the label) and Hub datasets with an image
column (`datasets.Image`, e.g. `cifar10`'s `img`). An image item is kept cheap until it is needed: a
PIL image (digits), or a `{"bytes": ..., "path": ...}` mapping as `datasets` stores images (Hub bytes,
or a file path for an image folder); `open_image` turns any of them into a PIL image.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from tp.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

    from tp.config import AugmentationConfig

BUILTIN_IMAGE_DATASETS = ("builtin:digits",)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def read_digits() -> pd.DataFrame:
    """scikit-learn's digits: 1,797 8x8 greyscale images (ink 0-16 scaled to 0-255, white on black), labels 0-9."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()  # ships inside scikit-learn: no download
    pixels = np.clip(digits.images * 16, 0, 255).astype(np.uint8)  # 16 * 16 = 256: the top value clips to 255
    return pd.DataFrame({"image": [Image.fromarray(p, mode="L") for p in pixels],
                         "label": [str(int(y)) for y in digits.target]})


def is_image_folder(folder: Path) -> bool:
    """A folder of class subfolders (and no table files of splits): an `imagefolder` source."""
    from tp.data.formats import TABLE_SUFFIXES

    if any(p.is_file() and p.suffix.lower() in TABLE_SUFFIXES for p in folder.iterdir()):
        return False
    return any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir())


def read_image_folder(folder: Path) -> pd.DataFrame:
    """One row per image file of `folder/<label>/`; unreadable files are named in the error."""
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    rows, unreadable, empty = [], [], []
    for class_dir in classes:
        files = sorted(p for p in class_dir.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            empty.append(class_dir.name)
        for path in files:
            try:
                with Image.open(path) as image:
                    image.verify()  # reads the whole file: truncated or corrupt files fail here
            except (UnidentifiedImageError, OSError, SyntaxError) as error:
                unreadable.append(f"{path.relative_to(folder)} ({type(error).__name__})")
                continue
            rows.append({"image": {"bytes": None, "path": str(path)}, "label": class_dir.name})
    if unreadable:
        raise DataError(f"{len(unreadable)} unreadable image file(s) in {folder}: {', '.join(unreadable[:5])}"
                        f"{' ...' if len(unreadable) > 5 else ''}. Remove or re-save them.")
    if not rows:
        raise DataError(f"Image folder {folder} holds no images ({', '.join(IMAGE_SUFFIXES)}) in class "
                        "subfolders: lay it out as <folder>/<label>/<image files>.")
    if len(classes) - len(empty) < 2:
        raise DataError(f"Image folder {folder} has a single class with images ({rows[0]['label']!r}): "
                        "a classifier needs at least two subfolders of images, one per label.")
    if empty:
        raise DataError(f"Class folder(s) {', '.join(empty)} in {folder} hold no image files: "
                        "add images or remove them.")
    return pd.DataFrame(rows)


def is_image_item(value: Any) -> bool:
    from PIL import Image

    return isinstance(value, Image.Image) or (isinstance(value, dict) and {"bytes", "path"} <= set(value))


def image_columns(frame: pd.DataFrame) -> list[str]:
    """Columns whose first value is an image item."""
    return [c for c in frame.columns if len(frame) and is_image_item(frame[c].iloc[0])]


def to_rgb(image: Image.Image) -> Image.Image:
    """Processors expect 3 channels: greyscale, palette and alpha images become RGB."""
    return image if image.mode == "RGB" else image.convert("RGB")


def open_image(item: Any) -> Image.Image:
    """A PIL image (loaded) from a PIL image, or a `{"bytes", "path"}` mapping."""
    from PIL import Image

    if isinstance(item, Image.Image):
        return item
    image = Image.open(io.BytesIO(item["bytes"])) if item.get("bytes") else Image.open(item["path"])
    image.load()
    return image


def image_digest(item: Any) -> str:
    """A hash of an image's bytes: the encoded file for files and Hub bytes, the pixels for PIL images."""
    from PIL import Image

    if isinstance(item, Image.Image):
        data = f"{item.mode}{item.size}".encode() + item.tobytes()
    else:
        data = item["bytes"] if item.get("bytes") else Path(item["path"]).read_bytes()
    return hashlib.sha256(data).hexdigest()


def augment(image: Image.Image, cfg: AugmentationConfig, size: tuple[int, int], rng: random.Random) -> Image.Image:
    """Random rotation, shift and (if enabled) horizontal flip, at the model's input size."""
    from PIL import Image

    image = to_rgb(image)
    if image.size != (size[1], size[0]):  # augment at model resolution: a 1-pixel shift of an 8x8 digit is 12%
        image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    if cfg.flip and rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    angle = rng.uniform(-cfg.rotation_degrees, cfg.rotation_degrees)
    dx, dy = (rng.uniform(-cfg.shift_fraction, cfg.shift_fraction) * n for n in image.size)
    if angle or dx or dy:
        image = image.rotate(angle, resample=Image.Resampling.BILINEAR, translate=(dx, dy))
    return image


def processor_size(processor: Any) -> tuple[int, int]:
    """(height, width) the image processor resizes to."""
    size = processor.size
    if "height" in size:
        return int(size["height"]), int(size["width"])
    edge = int(size.get("shortest_edge", 224))
    return edge, edge


def make_transform(items: list[Any], processor: Any, augmentation: AugmentationConfig | None = None,
                   seed: int = 0) -> Any:
    """A `datasets` transform: row indices -> `pixel_values` of `items` (augmented when given), and `labels`.

    The rows hold indices, not images: images stay as cheap items (files, bytes) and are opened per batch.
    """
    rng = random.Random(seed)
    size = processor_size(processor)

    def transform(batch: dict[str, list]) -> dict[str, Any]:
        images = [to_rgb(open_image(items[i])) for i in batch["index"]]
        if augmentation is not None and augmentation.enabled:
            images = [augment(image, augmentation, size, rng) for image in images]
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        return {"pixel_values": list(pixels), "labels": batch["label"]}

    return transform


def image_datasets(splits: dict[str, dict[str, list]], processor: Any, augmentation: AugmentationConfig,
                   seed: int) -> dict[str, Any]:
    """`datasets.Dataset`s per split whose rows become `pixel_values` on the fly; only train is augmented."""
    from datasets import Dataset

    out = {}
    for name, split in splits.items():
        rows = Dataset.from_dict({"index": list(range(len(split["label"]))), "label": split["label"]})
        out[name] = rows.with_transform(make_transform(split["image"], processor,
                                                       augmentation if name == "train" else None, seed))
    return out


def collate_images(features: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack `pixel_values` and `labels` of a batch."""
    import torch

    return {"pixel_values": torch.stack([f["pixel_values"] for f in features]),
            "labels": torch.tensor([f["labels"] for f in features])}


def save_examples(split: dict[str, list], labels: list[str], folder: Path) -> list[str]:
    """Write the first image of each label as `examples/<label>.png`; returns the paths relative to the run."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index, label in enumerate(labels):
        item = next((x for x, y in zip(split["image"], split["label"], strict=True) if y == index), None)
        if item is None:
            continue
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("._") or f"label_{index}"
        path = folder / f"{name}.png"
        image = open_image(item)
        if image.mode not in ("L", "RGB", "RGBA"):
            image = image.convert("RGB")
        image.save(path)
        written.append(f"{folder.name}/{path.name}")
    return written

"""Image data: builtin:digits, image folders written here with PIL, bad folders, splits and fingerprints."""

from __future__ import annotations

import io
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from tp.config import AugmentationConfig, DataConfig, load_recipe
from tp.data.images import augment, open_image, read_digits
from tp.data.prepare import prepare_data
from tp.errors import ConfigError, DataError


def _write_folder(root: Path, classes: dict[str, int], size: int = 12) -> Path:
    """Class subfolders of small PNG and JPEG images whose brightness depends on the class."""
    rng = np.random.default_rng(0)
    for c, (name, count) in enumerate(classes.items()):
        (root / name).mkdir(parents=True)
        for i in range(count):
            pixels = np.clip(rng.normal(60 + 80 * c, 10, (size, size, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{i:03d}.{'png' if i % 2 else 'jpg'}")
    return root


def test_digits_are_the_real_scikit_learn_images() -> None:
    frame = read_digits()
    assert len(frame) == 1797
    assert sorted(Counter(frame["label"])) == [str(d) for d in range(10)]
    first = frame["image"][0]
    assert first.mode == "L" and first.size == (8, 8)
    pixels = np.asarray(first)
    assert pixels.max() >= 200 and pixels.min() == 0  # white ink on a black background, 0-16 scaled by 16


def test_digits_split_is_stratified_recorded_and_seeded() -> None:
    data = prepare_data(DataConfig(source="builtin:digits"))
    assert data.task == "image-classification" and data.inputs == "image"
    assert data.labels == [str(d) for d in range(10)]
    assert data.record["sizes"] == {"train": 1293, "validation": 144, "test": 360}
    assert data.record["task"] == "image-classification" and data.record["image_column"] == "image"
    test = Counter(data.splits["test"]["label"])
    assert min(test.values()) >= 34 and max(test.values()) <= 38  # 20% of ~180 per class
    again = prepare_data(DataConfig(source="builtin:digits"))
    assert again.record["test_fingerprint"] == data.record["test_fingerprint"]
    other = prepare_data(DataConfig(source="builtin:digits", split_seed=7))
    assert other.record["test_fingerprint"] != data.record["test_fingerprint"]


def test_image_folder_labels_splits_and_fingerprint(tmp_path: Path) -> None:
    folder = _write_folder(tmp_path / "shapes", {"dark": 10, "mid": 10, "light": 10})
    data = prepare_data(DataConfig(source=str(folder), test_size=0.2, validation_size=0.2))
    assert data.task == "image-classification"
    assert data.labels == ["dark", "light", "mid"]  # folder names, sorted
    assert sum(data.record["sizes"].values()) == 30 and data.record["sizes"]["test"] == 6
    item, label = data.splits["train"]["image"][0], data.splits["train"]["label"][0]
    assert Path(item["path"]).parent.name == data.labels[label]  # each image keeps its folder's label
    assert open_image(item).size == (12, 12)
    before = data.record["test_fingerprint"]
    test_file = Path(data.splits["test"]["image"][0]["path"])
    Image.new("RGB", (12, 12), "red").save(test_file, format="PNG" if test_file.suffix == ".png" else "JPEG")
    assert prepare_data(DataConfig(source=str(folder), test_size=0.2, validation_size=0.2)).record[
        "test_fingerprint"] != before  # the fingerprint hashes the image bytes, not only the names


def test_bad_image_folders_say_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "empty/cats").mkdir(parents=True)
    (tmp_path / "empty/dogs").mkdir(parents=True)
    with pytest.raises(DataError, match="holds no images"):
        prepare_data(DataConfig(source=str(tmp_path / "empty")))
    single = _write_folder(tmp_path / "single", {"cats": 4})
    (single / "dogs").mkdir()
    with pytest.raises(DataError, match="single class"):
        prepare_data(DataConfig(source=str(single)))
    broken = _write_folder(tmp_path / "broken", {"cats": 4, "dogs": 4})
    (broken / "dogs/bad.png").write_bytes(b"not a png at all")
    with pytest.raises(DataError, match=r"unreadable image.*dogs/bad\.png"):
        prepare_data(DataConfig(source=str(broken)))
    partly = _write_folder(tmp_path / "partly", {"cats": 4, "dogs": 4})
    (partly / "birds").mkdir()
    with pytest.raises(DataError, match="birds .*hold no image files"):
        prepare_data(DataConfig(source=str(partly)))


def test_a_table_of_encoded_images_finds_its_img_column(tmp_path: Path) -> None:
    """As Hub image datasets store them (cifar10's `img`): {"bytes", "path"} per row."""
    rows = []
    for i in range(20):
        buffer = io.BytesIO()
        Image.new("L", (6, 6), 40 if i % 2 else 220).save(buffer, format="PNG")
        rows.append({"img": {"bytes": buffer.getvalue(), "path": None}, "label": "on" if i % 2 else "off"})
    path = tmp_path / "images.parquet"
    pd.DataFrame(rows).to_parquet(path)
    data = prepare_data(DataConfig(source=str(path)))
    assert data.task == "image-classification" and data.record["image_column"] == "img"
    item, label = data.splits["train"]["image"][0], data.splits["train"]["label"][0]
    assert (np.asarray(open_image(item)).mean() > 128) == (data.labels[label] == "off")


def test_hub_image_dataset_offline_fails_with_one_clear_message() -> None:
    with pytest.raises(DataError, match="HF_HUB_OFFLINE=1 forbids downloading it"):
        prepare_data(DataConfig(source="cifar10", image_column="img"))


def test_augmentation_is_validated_and_never_flips_unless_asked() -> None:
    with pytest.raises(ConfigError, match="shift_fraction"):
        load_recipe(None, ["data.augmentation.shift_fraction=0.7"])
    assert not AugmentationConfig().enabled
    arrow = Image.new("RGB", (32, 32))
    arrow.paste((255, 255, 255), (0, 0, 8, 32))  # a bar on the left edge
    rng = random.Random(0)
    still = [augment(arrow, AugmentationConfig(rotation_degrees=5), (32, 32), rng) for _ in range(20)]
    assert all(np.asarray(im)[:, :4].mean() > np.asarray(im)[:, -4:].mean() for im in still)
    flips = [augment(arrow, AugmentationConfig(flip=True), (32, 32), rng) for _ in range(20)]
    assert any(np.asarray(im)[:, -4:].mean() > 200 for im in flips)
    small = augment(Image.new("L", (8, 8)), AugmentationConfig(shift_fraction=0.1), (32, 32), rng)
    assert small.size == (32, 32) and small.mode == "RGB"  # augmented at the model's input size

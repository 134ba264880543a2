"""Where this checkout keeps what the tests use: the shipped models, app.py, the recipes."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TEXT_MODEL = ROOT / "models" / "bbc-news-minilm"  # adapter only in a fresh clone
IMAGE_MODEL = ROOT / "models" / "digits-vit"
MULTI_LABEL_MODEL = ROOT / "models" / "disaster-minilm-lora"  # adapter only too


def as_cloned(folder: Path, parent: Path) -> Path:
    """A copy of a shipped model folder as a fresh clone has it: no merged model/, eval/ or variants/ (ignored)."""
    copy = parent / folder.name
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("model", "eval", "variants"))
    return copy

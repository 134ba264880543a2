"""Where this checkout keeps what the tests use: the shipped models, app.py, the recipes."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
TEXT_MODEL = ROOT / "models" / "bbc-news-minilm"  # adapter only in a fresh clone
IMAGE_MODEL = ROOT / "models" / "digits-vit"
MULTI_LABEL_MODEL = ROOT / "models" / "disaster-minilm-lora"  # adapter only too

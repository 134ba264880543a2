"""The model a bulk prediction runs: torch (any task, CPU or GPU) or ONNX Runtime (text models on a CPU).

`auto` picks ONNX Runtime for a text model on the CPU when onnxruntime and onnx are importable (the export is
made once into TP_CACHE_DIR, default ~/.cache/tp, and checked against torch), torch otherwise; if that export
fails, auto falls back to torch with a note. Image models and compressed variants always run on torch.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tp.errors import ConfigError
from tp.tasks import SINGLE_LABEL, TEXT, Problem

if TYPE_CHECKING:
    import numpy as np

BACKENDS = ("auto", "torch", "onnx")


def model_folder(source: str) -> Path:
    """The local folder of a model source (a folder as is; a Hub id or builtin name through tp's resolver)."""
    from tp.sources import resolve_model_source

    folder = Path(source).expanduser()
    return folder if folder.is_dir() else resolve_model_source(str(source)).path



def pick_device(requested: str, local_rank: int) -> str:
    """`auto`: this process's GPU (by LOCAL_RANK) when CUDA is available, else the CPU."""
    import torch

    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {requested}: no CUDA GPU is visible here; use --device cpu.")
        if requested == "cuda":
            requested = f"cuda:{local_rank % torch.cuda.device_count()}"
    elif requested != "cpu":
        raise ConfigError(f"--device {requested!r}: use auto, cpu, cuda or cuda:N.")
    return requested


def pick_backend(requested: str, task: str, device: str, folder: Path, quantize: str) -> str:
    """torch or onnx for this model and device; an impossible combination is a ConfigError."""
    if requested not in BACKENDS:
        raise ConfigError(f"--backend {requested!r}: use one of {', '.join(BACKENDS)}.")
    variant = (folder / "variant.json").is_file()
    onnx_ok = task == TEXT.name and device == "cpu" and not variant
    installed = all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))
    if requested == "onnx":
        if not onnx_ok:
            why = "an image model" if task != TEXT.name else \
                "a compressed variant" if variant else f"on {device}"
            raise ConfigError(f"--backend onnx runs text models on the CPU; this is {why}: use --backend torch.")
        if not installed:
            raise ConfigError("--backend onnx needs onnxruntime and onnx: pip install 'tp[compress]', or use "
                              "--backend torch.")
    backend = requested if requested != "auto" else ("onnx" if onnx_ok and installed else "torch")
    if quantize != "none" and backend != "onnx":
        raise ConfigError(f"--quantize {quantize} runs on ONNX Runtime (text models on the CPU); this job runs on "
                          f"{backend}: drop --quantize or pass --backend onnx.")
    return backend



@dataclass
class Predictor:
    """A loaded classifier and how to run one batch of it."""

    classifier: Any
    backend: str
    device: str
    load_seconds: float

    @property
    def labels(self) -> list[str]:
        return list(self.classifier.labels)

    @property
    def task(self) -> str:
        return self.classifier.task

    @property
    def problem(self) -> Problem:
        return getattr(self.classifier, "problem", SINGLE_LABEL)  # an image classifier: one label per image

    @property
    def thresholds(self) -> list[float] | None:
        return getattr(self.classifier, "thresholds", None)

    def logits(self, items: list[Any]) -> np.ndarray:
        """Logits of one batch (texts or PIL images), rows in the order of `items`."""
        return self.classifier.predict_logits(items, max(len(items), 1))


class OnDevice:
    """A model on a GPU called like the CPU one: inputs moved to its device, logits brought back to the CPU."""

    def __init__(self, model: Any, device: str) -> None:
        self.model, self.device = model.to(device), device

    def __call__(self, **batch: Any) -> Any:
        from types import SimpleNamespace

        outputs = self.model(**{name: value.to(self.device) for name, value in batch.items()})
        return SimpleNamespace(logits=outputs.logits.float().cpu())


def _read_as_recorded(classifier: Any) -> Any:
    """The ONNX classifier reading its logits the way the run records (problem, thresholds, pairs): the export
    keeps the run's tp.json, and the graph takes token_type_ids, so pairs and every head run there as on torch."""
    info = classifier.info
    problem_type = info.get("problem_type") or getattr(classifier.model.config, "problem_type", None)
    return dataclasses.replace(classifier, problem_type=problem_type or SINGLE_LABEL.name,
                               thresholds=info.get("thresholds"), pairs=bool(info.get("text_pair")))


def load_predictor(source: str, folder: Path, backend: str, device: str, quantize: str = "none",
                   fallback: bool = True) -> Predictor:
    """Load `source` for `backend` on `device`; ONNX Runtime exports (once) when its cache has no export, and
    with `fallback` (backend auto) a failed export means torch."""
    from tp.models.loading import load_classifier

    start = time.perf_counter()
    if backend == "onnx":
        from tp.serving.onnx_serving import META_FILE, cache_key, default_cache_dir, load_onnx_classifier

        cache = default_cache_dir()
        if not (cache / "onnx" / f"{cache_key(folder, quantize)}-{quantize}" / META_FILE).is_file():
            print(f"exporting {source} to ONNX Runtime ({quantize if quantize != 'none' else 'fp32'}), once: later "
                  f"runs load it from {cache / 'onnx'}", file=sys.stderr)
        try:
            classifier, _ = load_onnx_classifier(folder, quantize, cache, lambda: load_classifier(source))
            return Predictor(_read_as_recorded(classifier), "onnx", "cpu", time.perf_counter() - start)
        except Exception as error:
            if not fallback or quantize != "none":
                raise
            print(f"note: running {source} on torch: its ONNX export failed ({type(error).__name__}: {error}); "
                  "--backend torch skips the attempt", file=sys.stderr)
    classifier = load_classifier(source)
    if device != "cpu" and (folder / "variant.json").is_file():
        device = "cpu"  # a compressed variant's kernels are CPU ones
    if device != "cpu":
        classifier = dataclasses.replace(classifier, model=OnDevice(classifier.model, device))
    return Predictor(classifier, "torch", device, time.perf_counter() - start)

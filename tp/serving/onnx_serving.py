"""Serving text classifiers with ONNX Runtime on the CPU (TP_BACKEND=onnx, and at first with `auto`).

The first start exports the fp32 model to ONNX, fuses its encoder graph (attention, GELU, LayerNorm as
single kernels), checks the export against torch on texts of several lengths, optionally quantizes it
(TP_QUANTIZE=int8) and writes it, with its tokenizer and config, atomically to a cache folder named after
a hash of the model's files. Later starts load that folder directly: no transformers modeling code is
imported, which was most of the cold start (measured: first prediction 5-7 s against 9-12 s with torch).
Explanations need gradients: they use the fp32 torch model, loaded in the background with `auto` (which
then also moves the fp32 batches to it: torch's fp32 kernels were ~25% faster here) or on the first
/explain with TP_BACKEND=onnx. With `auto` and fp32, a start that finds no export in the cache (a fresh
clone) serves on torch at once and exports in the background, for the next start: the export was 8.4 s of a
12.9 s first start on a 2-core EPYC.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tp.errors import ModelSourceError
from tp.tasks import TEXT

log = logging.getLogger("tp.serving")
FORMAT = "tp-onnx-serving/1"  # bump when the export recipe changes: old cache folders are then ignored
META_FILE = "tp-onnx.json"
MAX_EXPORT_LOGIT_DIFF = 1e-3
# checked on texts of several lengths, one past any max length (truncation and padding both exercised)
PARITY_TEXTS = ["Shares rose.", "The central bank cut interest rates again, and markets rallied on the news.",
                "The film won three awards at the festival, including best director. " * 80]
PARITY_PAIRS = [(PARITY_TEXTS[0], PARITY_TEXTS[1]), (PARITY_TEXTS[1], PARITY_TEXTS[0]),
                (PARITY_TEXTS[0], PARITY_TEXTS[2])]  # a pair model: segment ids of both texts, cut pairs
SKIPPED = {".md", ".png", ".jpg", ".jpeg", ".gif", ".lock"}


def default_cache_dir() -> Path:
    """TP_CACHE_DIR, else the user's cache folder (XDG_CACHE_HOME or ~/.cache) + tp."""
    if os.environ.get("TP_CACHE_DIR"):
        return Path(os.environ["TP_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tp"


def model_files(folder: Path) -> list[Path]:
    """The files that define a model's weights: the folder's own files and its model/ and adapter/ folders
    (a run folder), not its reports, examples, checkpoints or variants."""
    files = [path for path in folder.iterdir() if path.is_file()]
    for sub in ("model", "adapter"):
        if (folder / sub).is_dir():
            files += [path for path in (folder / sub).rglob("*") if path.is_file()]
    return sorted(path for path in files if path.suffix.lower() not in SKIPPED)


def cache_key(folder: Path, quantize: str) -> str:
    """sha256 of the model's files (contents), ONNX Runtime's version and the recipe."""
    import onnxruntime

    digest = hashlib.sha256(f"{FORMAT}|{onnxruntime.__version__}|{quantize}".encode())
    for path in model_files(folder):
        digest.update(str(path.relative_to(folder)).encode())
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()[:24]


def export_for_serving(classifier: Any, target: Path, quantize: str) -> dict[str, Any]:
    """Write model.onnx (fused, int8 when asked), the tokenizer and the config into `target`."""
    from tp.compression.onnx_export import ONNX_FILE, export_onnx, fuse_encoder_graph, onnx_parity, quantize_onnx

    model, tokenizer = classifier.model, classifier.tokenizer
    truncation = classifier.truncation  # parity checked on long texts cut the way they are served
    checked = PARITY_PAIRS if getattr(classifier, "pairs", False) else PARITY_TEXTS
    with tempfile.TemporaryDirectory(prefix="tp-onnx-") as tmp:
        plain, fused = Path(tmp) / "plain.onnx", Path(tmp) / "fused.onnx"
        export_onnx(model, tokenizer, plain, classifier.max_length)
        fusions = fuse_encoder_graph(plain, fused, model.config)
        graph = fused
        diff = onnx_parity(model, tokenizer, fused, checked, classifier.max_length, truncation)
        if diff > MAX_EXPORT_LOGIT_DIFF:  # a fusion that changes results is not worth its speed
            fusions, graph = {}, plain
            diff = onnx_parity(model, tokenizer, plain, checked, classifier.max_length, truncation)
        if diff > MAX_EXPORT_LOGIT_DIFF:
            raise ModelSourceError(f"The ONNX export differs from torch by {diff:.2g} in the logits; serve it "
                                   "with TP_BACKEND=torch.")
        if quantize == "int8":
            quantize_onnx(graph, target / ONNX_FILE)
        else:
            shutil.copyfile(graph, target / ONNX_FILE)
    model.config.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return {"fused_ops": fusions, "fp32_max_logit_diff": diff}


def export_folder(folder: Path, quantize: str, cache_dir: Path) -> Path:
    """Where the export of `folder` at `quantize` lives in the cache (made or not)."""
    return cache_dir / "onnx" / f"{cache_key(folder, quantize)}-{quantize}"


def cached_export(folder: Path, quantize: str, cache_dir: Path, load: Callable[[], Any]) -> Path:
    """The cache folder of `folder`'s ONNX export, made first (with `load()`'s classifier) when missing."""
    import onnxruntime

    target = export_folder(folder, quantize, cache_dir)
    key = target.name.split("-")[0]
    if (target / META_FILE).is_file():
        return target
    start = time.perf_counter()
    log.info("Exporting %s to ONNX (%s) into %s: once; later starts load it from there", folder,
             "int8" if quantize == "int8" else "fp32", target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=target.parent))
    try:
        classifier = load()
        if getattr(classifier, "task", "") != TEXT.name:
            raise ModelSourceError(f"{folder} is not a text classifier: ONNX serving covers text models only.")
        details = export_for_serving(classifier, partial, quantize)
        details.update(labels=list(classifier.labels), max_length=classifier.max_length, info=classifier.info,
                       truncation=classifier.truncation)  # served from the cache with the rule it was trained with
        meta = {"format": FORMAT, "source": str(folder), "quantize": quantize,
                "onnxruntime": onnxruntime.__version__, "export_seconds": round(time.perf_counter() - start, 1),
                **details}
        (partial / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        try:
            partial.rename(target)  # atomic: a reader sees no folder or a whole one
        except OSError:  # another process finished first: theirs is as good
            if not (target / META_FILE).is_file():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log.info("ONNX export done in %.1f s (%s)", time.perf_counter() - start, details["fused_ops"] or "no fusions")
    return target


class LazyModel:
    """The fp32 torch model, loaded on first use (an /explain, or move_to_torch), once, from any thread."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load, self._model, self._lock = load, None, threading.Lock()

    def get(self) -> Any:
        with self._lock:
            if self._model is None:
                start = time.perf_counter()
                self._model = self._load()
                self._model.requires_grad_(False)
                log.info("Loaded the fp32 torch model for explanations in %.1f s", time.perf_counter() - start)
        return self._model

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.get(), attribute)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.get()(*args, **kwargs)


def load_onnx_classifier(folder: Path, quantize: str, cache_dir: Path,
                         load_torch: Callable[[], Any]) -> tuple[Any, LazyModel]:
    """(TextClassifier running ONNX Runtime, lazy fp32 torch model for explanations) for a text model folder.

    `load_torch()` loads the folder's torch TextClassifier: called to export on a cache miss, else on the
    first explanation. Runs on torch's current thread count (one per batch worker by default)."""
    import torch
    from transformers import AutoConfig, AutoTokenizer

    from tp.compression.onnx_export import ONNX_FILE, OnnxClassifierModel
    from tp.models.classifier import TextClassifier, read_run_info
    from tp.tasks import problem_named

    load_once = functools.cache(load_torch)  # the export and the explain model share one load
    target = cached_export(folder, quantize, cache_dir, load_once)
    meta = json.loads((target / META_FILE).read_text(encoding="utf-8"))
    model = OnnxClassifierModel(target / ONNX_FILE, threads=torch.get_num_threads(),
                                config=AutoConfig.from_pretrained(target))
    info = dict(meta["info"])
    if not read_run_info(folder):  # a plain folder: the one served now (another with the same files may have made it)
        info["base_model"] = str(folder)
    truncation = meta.get("truncation") or info.get("truncation", "head")  # an export made before it was recorded
    classifier = TextClassifier(model, AutoTokenizer.from_pretrained(target), list(meta["labels"]),
                                int(meta["max_length"]), info, truncation=truncation,
                                problem_type=problem_named(info.get("problem_type")).name,  # read as torch reads it
                                thresholds=info.get("thresholds"), pairs=bool(info.get("text_pair")))
    explain = LazyModel(lambda: load_once().model)
    if load_once.cache_info().currsize:  # exported in this process: its fp32 model is already here
        explain.get()
    return classifier, explain


def runs_on_onnx(settings: Any, folder: Path, device: str, task: str) -> bool:
    """TP_BACKEND=onnx, or auto with onnxruntime installed: text models (not variants) on the CPU."""
    if settings.backend == "torch" or settings.quantize == "bf16" or device != "cpu" or \
            (folder / "variant.json").is_file():
        return False
    if task != TEXT.name:
        if settings.backend == "onnx":
            log.info("TP_BACKEND=onnx covers text models; %s is an image model and runs on torch", folder)
        return False
    if settings.backend == "auto":
        import importlib.util

        return importlib.util.find_spec("onnxruntime") is not None and importlib.util.find_spec("onnx") is not None
    return True


def exports_later(folder: Path, settings: Any) -> bool:
    """TP_BACKEND=auto, fp32, and no export in the cache: serve on torch now (the batches would move to torch
    anyway) and export in the background, so that the next start loads ONNX Runtime's graph at once."""
    if settings.backend != "auto" or settings.quantize != "none":
        return False
    return not (export_folder(folder, "none", settings.cache_dir or default_cache_dir()) / META_FILE).is_file()


def background_export(folder: Path, settings: Any, load: Callable[[], Any]) -> Callable[[], None]:
    """The job that makes the fp32 export of `folder` for later starts, from a torch model of its own (the
    served one keeps answering meanwhile); a failure is logged, and the next start tries again."""
    def run() -> None:
        try:
            cached_export(folder, "none", settings.cache_dir or default_cache_dir(), load)
        except Exception as error:
            log.warning("The background ONNX export of %s failed (%s: %s): it keeps serving on torch, and the "
                        "next start tries again (TP_BACKEND=torch skips it)", folder, type(error).__name__, error)
    return run


def load_onnx(folder: Path, settings: Any, load: Callable[[], Any]) -> tuple[Any, Any]:
    """The ONNX Runtime classifier and its lazy explain model; with TP_BACKEND=auto, an export that fails
    falls back to torch (with a warning) instead of stopping the server."""
    try:
        return load_onnx_classifier(folder, settings.quantize, settings.cache_dir or default_cache_dir(), load)
    except Exception as error:
        if settings.backend == "onnx":
            raise
        log.warning("Serving %s with torch: its ONNX export failed (%s: %s); TP_BACKEND=torch skips the attempt",
                    folder, type(error).__name__, error)
        return load(), None


def move_to_torch(served: Any, inference: Any) -> None:
    """TP_BACKEND=auto, fp32: ONNX Runtime answers from the first seconds; once the fp32 torch model has loaded
    (in the background: it is also what explanations use), the batches move to it, about 25% faster than ONNX
    Runtime's fp32 kernels on the Xeon this was measured on. Predictions agree to ~1e-5."""
    start = time.perf_counter()
    try:
        model = served.explain_model.get()
    except Exception:
        log.exception("Could not load the torch model of %r; its batches stay on ONNX Runtime", served.name)
        return
    inference.model = model  # an attribute swap: a pass in flight finishes on the model it started with
    served.runtime = "torch"
    log.info("Model %r: batches moved to torch, loaded in the background in %.1f s", served.name,
             time.perf_counter() - start)

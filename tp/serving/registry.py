"""The served models: loaded once (in a background thread at start-up), looked up by name per request.

Only the models named in the settings are ever loaded: a request picks one by name, it can never
make the server open a path or download a Hub id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import warnings
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tp.classifier import folder_task, read_run_info
from tp.errors import ConfigError, InputError
from tp.serving.batcher import MicroBatcher
from tp.serving.cpu_tuning import tune_cpu_after_loading
from tp.serving.errors import NotReadyError, OverloadedError
from tp.serving.images import example_images, set_pillow_limit
from tp.serving.inference import (
    ImageInference,
    TextInference,
    TextScores,
    plan_threads,
    reduce_precision,
    resolve_device,
)
from tp.serving.onnx_serving import runs_on_onnx
from tp.serving.settings import ModelSpec, ServerSettings
from tp.serving.telemetry import Telemetry

log = logging.getLogger("tp.serving")


def read_metrics_file(folder: Path | None) -> dict[str, Any]:
    """A run's metrics.json as it is; {} when absent."""
    path = folder / "metrics.json" if folder else None
    return json.loads(path.read_text(encoding="utf-8")) if path is not None and path.is_file() else {}


def scalar_metrics(values: dict[str, Any]) -> dict[str, float]:
    """The scalar numbers of a run's metrics (accuracy, macro-F1, sizes...)."""
    return {key: value for key, value in values.items()
            if isinstance(value, int | float) and not isinstance(value, bool)}


def read_metrics(folder: Path | None) -> dict[str, float]:
    """The scalar numbers of a run's metrics.json; {} when absent."""
    return scalar_metrics(read_metrics_file(folder))


def skill_record(values: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """The `baselines` and `warnings` of a run's metrics ({} and [] in runs older than them). Malformed
    entries are dropped: a hand-edited metrics.json must not make GET /models fail."""
    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    found = values.get("baselines")
    baselines = {str(name): scores for name, scores in (found if isinstance(found, dict) else {}).items()
                 if isinstance(scores, dict) and number(scores.get("accuracy")) and number(scores.get("macro_f1"))}
    warnings = [w for w in values.get("warnings") or [] if isinstance(w, dict)
                and w.get("severity") in ("error", "warning") and isinstance(w.get("message"), str)
                and isinstance(w.get("code"), str)]
    return baselines, sorted(warnings, key=lambda w: w["severity"] != "error")  # loudest first


def log_skill(served: ServedModel) -> None:
    """Say in the server's log, at start-up, that a model learned nothing (or less than a linear baseline)."""
    from tp.skill_check import is_flagged, warning_lines

    if not served.warnings:
        return
    verdict = "has not learned its task" if is_flagged(served.warnings) else "does worse than a simple baseline"
    for line in warning_lines(served.warnings):
        log.warning("Model %r %s (metrics.json): %s", served.name, verdict, line)


TEXT, IMAGE = "text-classification", "image-classification"


@dataclass
class ServedModel:
    """One loaded model with its batcher, its run information and its limits."""

    spec: ModelSpec
    info: dict[str, Any]
    labels: list[str]
    max_tokens: int | None  # None for an image model
    device: str
    quantized: str | None
    batcher: MicroBatcher[Any, TextScores]  # texts, or decoded images
    explain_model: Any  # fp32 weights: int8 layers have no gradients
    preprocessor: Any  # the tokenizer, or the image processor
    folder: Path | None  # where the card and reports are, when the source is a folder
    metrics: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)  # metrics.json: {} in older runs
    warnings: list[dict[str, str]] = field(default_factory=list)  # the run's no-skill warnings, [] when none
    task: str = TEXT
    examples: list[tuple[str, str]] = field(default_factory=list)  # (label, data URL), image models
    runtime: str = "torch"  # what runs the batches: torch or onnxruntime
    upgrade: Any = None  # TP_BACKEND=auto, fp32: moves the batches to torch once it has loaded (background)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def is_image(self) -> bool:
        return self.task == IMAGE

    def check_kind(self, images: bool) -> None:
        """InputError when a request sends texts to an image model, or images to a text model."""
        if images != self.is_image:
            takes, send = (("images", '{"image": "<base64>"}') if self.is_image else ("texts", "a string"))
            raise InputError(f"Model {self.name!r} ({self.task}) takes {takes}, not "
                             f"{'images' if images else 'texts'}: send `inputs` as {send}, or pick another "
                             "model (GET /api/v1/models lists each model's task).")

    async def classify(self, items: list[Any]) -> list[TextScores]:
        return await self.batcher.submit(items)

    async def explain(self, item: Any, method: str | None, steps: int, target: str | None) -> dict[str, Any]:
        """Explain one text (a str) or one decoded image, with the fp32 weights, outside any batch."""
        if self.is_image:
            from tp.explain_image import explain_image

            job = partial(explain_image, self.explain_model, self.preprocessor, self.labels, item,
                          method or "saliency", target)
        else:
            from tp.explain import explain_text

            job = partial(explain_text, self.explain_model, self.preprocessor, self.labels, item, self.max_tokens,
                          method or "gradient_x_input", steps, target, self.info.get("truncation", "head"))
        return await self.batcher.run_solo(job)


def start_batcher(inference: Any, spec: ModelSpec, settings: ServerSettings, telemetry: Telemetry,
                  workers: int) -> MicroBatcher:
    """The started micro-batcher of one served model, with its limits and telemetry hooks."""
    return MicroBatcher(inference, settings.max_batch_size, settings.max_batch_wait_ms / 1000,
                        settings.queue_limit, spec.name, on_batch=telemetry.batch_observer(spec.name),
                        on_depth=telemetry.depth_observer(spec.name), workers=workers).start()


def load_served_model(spec: ModelSpec, settings: ServerSettings, telemetry: Telemetry, device: str,
                      workers: int) -> ServedModel:
    """Load one model onto its device (ONNX Runtime or torch, int8 when asked), start its batcher, warm it up."""
    from tp.classifier import load_classifier
    from tp.sources import resolve_model_source

    folder = Path(spec.source) if spec.is_local else resolve_model_source(spec.source).path
    load = partial(load_classifier, folder, force_variant=settings.force_variants)
    if runs_on_onnx(settings, folder, device, folder_task(folder)):
        from tp.serving.onnx_serving import load_onnx

        classifier, explain_model = load_onnx(folder, settings, load)
    else:
        classifier, explain_model = load(), None
    onnx = explain_model is not None  # ONNX Runtime runs the batches; int8 is already in its graph
    info = dict(classifier.info)
    if not spec.is_local and not read_run_info(folder):  # a plain Hub model: record its id, not a cache path
        info["base_model"] = spec.source
    if info.get("variant"):
        from tp.serving.variants import load_variant_model

        return load_variant_model(spec, classifier, info, folder, settings, telemetry, device, workers)
    if classifier.task == IMAGE:
        return load_image_model(spec, classifier, info, folder, settings, telemetry, device, workers)
    positions = getattr(classifier.model.config, "max_position_embeddings", None) or 512
    max_tokens = settings.max_tokens or classifier.max_length
    if max_tokens > positions:
        raise ConfigError(f"TP_MAX_TOKENS={max_tokens} but model {spec.name!r} has {positions} positions: "
                          f"set TP_MAX_TOKENS to {positions} or less.")
    if onnx:
        served = classifier.model
    else:
        explain_model = classifier.model.to(device)
        explain_model.requires_grad_(False)  # explanations take gradients of the inputs only
        served = reduce_precision(explain_model, settings.quantize, device)
    inference = TextInference(served, classifier.tokenizer, max_tokens, settings.max_batch_size, device,
                              on_forward=telemetry.forward_observer(spec.name),
                              few_shapes=settings.quantize == "bf16" and device == "cpu",  # oneDNN compiles per shape
                              truncation=classifier.truncation)
    inference(["warm-up"])  # first forward initialises kernels; keep it off the first request
    batcher = start_batcher(inference, spec, settings, telemetry, workers)
    values = read_metrics_file(folder)
    served_model = ServedModel(spec, info, list(classifier.labels), max_tokens, device, quantized(settings), batcher,
                               explain_model, classifier.tokenizer, folder, scalar_metrics(values),
                               *skill_record(values), runtime="onnxruntime" if onnx else "torch")
    if onnx and settings.backend == "auto" and settings.quantize == "none":
        from tp.serving.onnx_serving import move_to_torch

        served_model.upgrade = partial(move_to_torch, served_model, inference)
    return served_model


def quantized(settings: ServerSettings) -> str | None:
    """What /models shows for the precision TP_QUANTIZE asked for (None: full precision)."""
    return None if settings.quantize == "none" else settings.quantize


def load_image_model(spec: ModelSpec, classifier: Any, info: dict[str, Any], folder: Path,
                     settings: ServerSettings, telemetry: Telemetry, device: str, workers: int) -> ServedModel:
    """The image half of load_served_model: same batcher, int8 and warm-up, images instead of texts."""
    from PIL import Image

    model = classifier.model.to(device)
    model.requires_grad_(False)
    served = reduce_precision(model, settings.quantize, device)
    config = model.config
    patch = getattr(config, "patch_size", None)
    size = getattr(config, "image_size", None)
    tokens = (size // patch) ** 2 + 1 if isinstance(size, int) and isinstance(patch, int) else 1
    inference = ImageInference(served, classifier.processor, device, tokens,
                               on_forward=telemetry.forward_observer(spec.name))
    inference([Image.new("RGB", (32, 32))])  # warm-up, as for texts
    batcher = start_batcher(inference, spec, settings, telemetry, workers)
    info.setdefault("task", IMAGE)
    values = read_metrics_file(folder)
    return ServedModel(spec, info, list(classifier.labels), None, device,
                       quantized(settings), batcher, model, classifier.processor,
                       folder, scalar_metrics(values), *skill_record(values), task=IMAGE,
                       examples=example_images(folder, list(classifier.labels), settings.max_image_bytes))


class ModelRegistry:
    """Every served model by name; `state` is loading, ready or failed."""

    def __init__(self, settings: ServerSettings, telemetry: Telemetry) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self.specs = settings.specs
        self.default = self.specs[0].name
        self.models: dict[str, ServedModel] = {}
        self.state = "loading"
        self.error: str | None = None
        self.loaded = threading.Event()  # set once load() ends, loaded or failed
        self.demo_pending = False  # the Gradio demo is mounted after the models load

    @property
    def names(self) -> list[str]:
        return [spec.name for spec in self.specs]

    def run_info(self, name: str) -> dict[str, Any]:
        """tp.json of a model, readable before it loads when its source is a local folder."""
        if name in self.models:
            return self.models[name].info
        spec = next(spec for spec in self.specs if spec.name == name)
        return read_run_info(Path(spec.source)) if spec.is_local else {}

    def planned_task(self, name: str) -> str:
        """A model's task before it loads: from tp.json or config.json of a local folder (a Hub id: text,
        until it has loaded)."""
        if name in self.models:
            return self.models[name].task
        spec = next(spec for spec in self.specs if spec.name == name)
        if not spec.is_local:
            return TEXT
        return folder_task(Path(spec.source))

    def load(self) -> None:
        """Load every model (blocking); on failure record the message in `error`."""
        try:
            import torch
            from transformers.utils import logging as hf_logging

            # merging an adapter loads the base without its head first: transformers' "MISSING
            # classifier" report and progress bars would only mislead a server's log
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
            device = resolve_device(self.settings.device,
                                    cpu_only=self.settings.quantize == "int8" or self.settings.backend == "onnx")
            workers, threads = plan_threads(self.settings, device)
            torch.set_num_threads(threads)  # process-wide, so planned once for every model
            set_pillow_limit(self.settings.max_image_pixels)  # PIL's bomb guard, beside the server's own
            for spec in self.specs:
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # deprecations inside peft/transformers
                    self.models[spec.name] = load_served_model(spec, self.settings, self.telemetry, device, workers)
                served = self.models[spec.name]
                log.info("Loaded model %r (%s, %s on %s%s, %s, %d batch workers x %d threads) in %.1f s",
                         spec.name, served.task, served.runtime, served.device,
                         f", {served.quantized}" if served.quantized else "",
                         "images" if served.is_image else f"max {served.max_tokens} tokens", workers, threads,
                         time.perf_counter() - start)
                log_skill(served)
        except Exception as error:  # any failure: the message goes to the log and to /ready
            self.error = f"{type(error).__name__}: {error}" if not isinstance(error, ConfigError) else str(error)
            self.state = "failed"
            self.loaded.set()
            raise
        tune_cpu_after_loading(self.settings.quantize, device, any(not m.is_image for m in self.models.values()))
        self.state = "ready"
        self.telemetry.models_ready.set(1)
        self.loaded.set()
        upgrades = [served.upgrade for served in self.models.values() if served.upgrade]
        if upgrades:  # served meanwhile by ONNX Runtime; a failure keeps it there (logged)
            def run_upgrades() -> None:
                for upgrade in upgrades:
                    upgrade()

            threading.Thread(target=run_upgrades, name="tp-torch-loader", daemon=True).start()

    def start_loading(self, on_failure: Any = None) -> threading.Thread:
        """Load in a daemon thread so the server answers /health and /ready meanwhile."""
        def run() -> None:
            try:
                self.load()
            except Exception:
                log.exception("Could not load the models (%s); fix the settings and restart.", self.error)
                if on_failure is not None:
                    on_failure()
        thread = threading.Thread(target=run, name="tp-model-loader", daemon=True)
        thread.start()
        return thread

    def get(self, name: str | None) -> ServedModel:
        """The model called `name` (default when None); a clear error when unknown or not loaded."""
        name = name or self.default
        if name not in self.names:
            raise InputError(f"Unknown model {name!r}: this server serves {', '.join(self.names)} "
                             "(GET /api/v1/models lists them). Leave `model` out to use the default.")
        if self.state == "failed":
            raise NotReadyError(f"The models failed to load ({self.error}); the server is shutting down.", 60)
        if name not in self.models:
            raise NotReadyError("The models are still loading: retry in a few seconds (GET /api/v1/ready).", 2)
        return self.models[name]

    async def classify(self, name: str | None, items: list[Any],
                       images: bool = False) -> tuple[ServedModel, list[TextScores]]:
        """Scores for texts (or decoded images, `images=True`) from the model called `name`."""
        served = self.get(name)
        served.check_kind(images)
        try:
            return served, await served.classify(items)
        except OverloadedError:
            self.telemetry.rejected.labels(served.name).inc()
            raise

    def close(self) -> None:
        for served in self.models.values():
            served.batcher.stop()

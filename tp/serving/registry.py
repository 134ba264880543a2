"""The served models: loaded once (in a background thread at start-up), looked up by name per request.

Only the models named in the settings are ever loaded: a request picks one by name, it can never
make the server open a path or download a Hub id.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from tp.errors import ConfigError, InputError, TpError
from tp.models.classifier import read_run_info
from tp.models.loading import folder_task
from tp.serving.auto_variant import Choice, choose_variant
from tp.serving.batcher import Timing
from tp.serving.cpu_tuning import tune_cpu_after_loading
from tp.serving.errors import ConflictError, NotReadyError
from tp.serving.image_model import load_image_model
from tp.serving.images import set_pillow_limit
from tp.serving.inference import (
    Scores,
    TextInference,
    plan_threads,
    reduce_precision,
    resolve_device,
)
from tp.serving.onnx_serving import runs_on_onnx
from tp.serving.served import (
    ServedModel,
    log,
    log_skill,
    problem_fields,
    quantized,
    read_metrics_file,
    scalar_metrics,
    skill_record,
    start_batcher,
)
from tp.serving.settings import ModelSpec, ServerSettings
from tp.serving.telemetry import Telemetry
from tp.serving.variant_rebuild import swap_in_variant
from tp.tasks import TEXT, problem_named

DEMO_WAIT_S = 120.0  # background work waits at most this long for the Gradio demo to mount


def load_served_model(spec: ModelSpec, settings: ServerSettings, telemetry: Telemetry, device: str,
                      workers: int, swap_in: Callable[[Path], None] | None = None) -> ServedModel:
    """Load one model onto its device (ONNX Runtime or torch, int8 when asked), start its batcher, warm it up.
    `swap_in(variant_folder)` serves a variant rebuilt in the background in its place (tp.serving.variant_rebuild)."""
    from tp.sources import resolve_model_source

    folder = Path(spec.source) if spec.is_local else resolve_model_source(spec.source).path
    choice = auto_variant(spec, folder, settings, device)
    served = _load_chosen(spec, folder, choice, settings, telemetry, device, workers)
    if choice.rebuild:  # after the export or the move to torch, in the same background thread
        from tp.serving.variant_rebuild import rebuild_job, then

        served.upgrade = then(served.upgrade, rebuild_job(folder, choice.rebuild, swap_in))
    return served


def _load_chosen(spec: ModelSpec, folder: Path, choice: Choice, settings: ServerSettings, telemetry: Telemetry,
                 device: str, workers: int) -> ServedModel:
    """The variant TP_VARIANT chose, or (none chosen, or it fails to load) the folder's own weights."""
    from tp.models.loading import load_classifier

    if choice.folder is not None:
        try:
            served = load_served_model(replace(spec, source=str(choice.folder)), settings, telemetry,
                                       device, workers)
            served.variant_reason = choice.reason
            log.info("%s: %s", spec.name, choice.reason)
            return served
        except (TpError, ImportError, OSError, RuntimeError) as error:  # the run's own weights still serve
            choice = Choice(None, f"TP_VARIANT=auto chose {choice.folder.name}, which failed to load "
                                  f"({type(error).__name__}: {error}); serving the run's own weights.")
            log.warning("%s: %s", spec.name, choice.reason)
    load = partial(load_classifier, folder, force_variant=settings.force_variants)
    later = None  # a background job once the server is ready
    if runs_on_onnx(settings, folder, device, folder_task(folder)):
        from tp.serving.onnx_serving import background_export, exports_later, load_onnx

        if exports_later(folder, settings):  # a first start: answer on torch now, export for the next one
            classifier, explain_model, later = load(), None, background_export(folder, settings, load)
        else:
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
    if classifier.spec.is_image:
        image_model = load_image_model(spec, classifier, info, folder, settings, telemetry, device, workers)
        image_model.variant_reason = choice.reason
        return image_model
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
    problem = problem_fields(classifier, info)
    inference = TextInference(served, classifier.tokenizer, max_tokens, settings.max_batch_size, device,
                              on_forward=telemetry.forward_observer(spec.name),
                              few_shapes=settings.quantize == "bf16" and device == "cpu",  # oneDNN compiles per shape
                              truncation=classifier.truncation,
                              on_tokenized=telemetry.tokenization_observer(spec.name),
                              max_batch_tokens=settings.max_batch_tokens,
                              activation=problem_named(problem["problem_type"]).activation, pairs=problem["pairs"])
    inference([("warm-up", "warm-up") if problem["pairs"] else "warm-up"])  # first forward initialises kernels
    batcher = start_batcher(inference, spec, settings, telemetry, workers)
    values = read_metrics_file(folder)
    served_model = ServedModel(spec, info, list(classifier.labels), max_tokens, device, quantized(settings), batcher,
                               explain_model, classifier.tokenizer, folder, scalar_metrics(values),
                               *skill_record(values), runtime="onnxruntime" if onnx else "torch", **problem)
    served_model.variant_reason = choice.reason
    served_model.upgrade = later
    if onnx and settings.backend == "auto" and settings.quantize == "none":
        from tp.serving.onnx_serving import move_to_torch

        served_model.upgrade = partial(move_to_torch, served_model, inference)
    return served_model


def auto_variant(spec: ModelSpec, folder: Path, settings: ServerSettings, device: str) -> Choice:
    """TP_VARIANT's choice for a local run folder; nothing to choose for a variant folder or a Hub model."""
    if not spec.is_local or (folder / "variant.json").is_file() or not read_run_info(folder):
        return Choice(None, None)
    return choose_variant(folder, settings.variant, device, settings.quantize)


class ModelRegistry:
    """Every served model by name; `state` is loading, ready or failed."""

    def __init__(self, settings: ServerSettings, telemetry: Telemetry) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self.specs = list(settings.specs)
        self.default = self.specs[0].name
        self.models: dict[str, ServedModel] = {}
        self.state = "loading"
        self.error: str | None = None
        self.loaded = threading.Event()  # set once load() ends, loaded or failed
        self.demo_pending = False  # the Gradio demo is mounted after the models load
        self.adding = threading.Lock()
        self.device, self.workers = "cpu", 1

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
            return TEXT.name
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
            self.device, self.workers = device, workers  # what models added later load with
            torch.set_num_threads(threads)  # process-wide, so planned once for every model
            set_pillow_limit(self.settings.max_image_pixels)  # PIL's bomb guard, beside the server's own
            load = partial(load_served_model, settings=self.settings, telemetry=self.telemetry, device=device,
                           workers=workers)  # a variant rebuilt in the background loads the same way
            for spec in self.specs:
                start = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # deprecations inside peft/transformers
                    self.models[spec.name] = load_served_model(spec, self.settings, self.telemetry, device, workers,
                                                               swap_in=partial(swap_in_variant, self, spec, load))
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
        if upgrades:  # background work (each logs its own failure); after the demo is up: it shares the CPU
            def run_upgrades() -> None:
                waited = time.monotonic()
                while self.demo_pending and time.monotonic() - waited < DEMO_WAIT_S:
                    time.sleep(0.1)
                for upgrade in upgrades:
                    upgrade()

            threading.Thread(target=run_upgrades, name="tp-torch-loader", daemon=True).start()

    def add(self, spec: ModelSpec) -> ServedModel:
        """Load one more model while the server runs (a finished training job), then serve it under `spec.name`:
        every route and tab can pick it from then on. Blocking; one at a time."""
        with self.adding:
            if self.state != "ready":
                raise NotReadyError("The server's own models are still loading: retry in a few seconds.", 5)
            if spec.name in self.names:
                raise ConflictError(f"A model called {spec.name!r} is already served: give another name.")
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                served = load_served_model(spec, self.settings, self.telemetry, self.device, self.workers)
            self.models[spec.name] = served
            self.specs.append(spec)
            log.info("Added model %r (%s, %s) in %.1f s", spec.name, served.task, served.runtime,
                     time.perf_counter() - start)
            if served.upgrade:
                threading.Thread(target=served.upgrade, name="tp-torch-loader", daemon=True).start()
            return served

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

    async def classify(self, name: str | None, items: list[Any], images: bool = False,
                       timing: Timing | None = None, pairs: bool = False) -> tuple[ServedModel, list[Scores]]:
        """Scores for texts (or (text, text_pair) tuples, `pairs=True`, or decoded images, `images=True`) from the
        model called `name`."""
        served = self.get(name)
        served.check_kind(images, pairs)
        return served, await served.classify(items, timing)

    def close(self) -> None:
        for served in self.models.values():
            served.batcher.stop()

"""One served model: its batcher, run information, baselines and warnings, and how it classifies and explains."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from tp.errors import InputError
from tp.serving.batcher import MicroBatcher, Timing
from tp.serving.inference import Scores
from tp.serving.settings import ModelSpec, ServerSettings
from tp.serving.telemetry import Telemetry
from tp.tasks import IMAGE, SINGLE_LABEL, TEXT, Problem, Task, problem_named, task_named

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
                 if isinstance(scores, dict) and any(number(value) for value in scores.values())}
    warnings = [w for w in values.get("warnings") or [] if isinstance(w, dict)
                and w.get("severity") in ("error", "warning") and isinstance(w.get("message"), str)
                and isinstance(w.get("code"), str)]
    return baselines, sorted(warnings, key=lambda w: w["severity"] != "error")  # loudest first


def problem_fields(classifier: Any, info: dict[str, Any]) -> dict[str, Any]:
    """A loaded text classifier's problem_type, pairs and thresholds (ServedModel's fields), from tp.json where
    its loader left the defaults (a compressed variant's)."""
    name = getattr(classifier, "problem_type", None)
    if name in (None, SINGLE_LABEL.name):
        name = info.get("problem_type") or name
    return {"problem_type": problem_named(name).name,
            "pairs": bool(getattr(classifier, "pairs", False) or info.get("text_pair")),
            "thresholds": getattr(classifier, "thresholds", None) or info.get("thresholds")}


def log_skill(served: ServedModel) -> None:
    """Say in the server's log, at start-up, that a model learned nothing (or less than a linear baseline)."""
    from tp.evaluation.skill_check import is_flagged, warning_lines

    if not served.warnings:
        return
    verdict = "has not learned its task" if is_flagged(served.warnings) else "does worse than a simple baseline"
    for line in warning_lines(served.warnings):
        log.warning("Model %r %s (metrics.json): %s", served.name, verdict, line)


@dataclass
class ServedModel:
    """One loaded model with its batcher, its run information and its limits."""

    spec: ModelSpec
    info: dict[str, Any]
    labels: list[str]
    max_tokens: int | None  # None for an image model
    device: str
    quantized: str | None
    batcher: MicroBatcher[Any, Scores]  # texts, or decoded images
    explain_model: Any  # fp32 weights: int8 layers have no gradients
    preprocessor: Any  # the tokenizer, or the image processor
    folder: Path | None  # where the card and reports are, when the source is a folder
    metrics: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)  # metrics.json: {} in older runs
    warnings: list[dict[str, str]] = field(default_factory=list)  # the run's no-skill warnings, [] when none
    task: str = TEXT.name
    examples: list[tuple[str, str]] = field(default_factory=list)  # (label, data URL), image models
    runtime: str = "torch"  # what runs the batches: torch or onnxruntime
    upgrade: Any = None  # run once the server is ready, in the background: move the batches to torch, or export
    variant_reason: str | None = None  # TP_VARIANT: why this variant (or the run's own weights) answers
    problem_type: str = SINGLE_LABEL.name  # how its logits are read (tp.tasks.Problem)
    pairs: bool = False  # each input is a (text, text_pair) pair
    thresholds: list[float] | None = None  # multi-label: each label's tuned threshold

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def task_spec(self) -> Task:
        return task_named(self.task)

    @property
    def is_image(self) -> bool:
        return self.task_spec.is_image

    @property
    def problem(self) -> Problem:
        return problem_named(self.problem_type)

    def check_kind(self, images: bool, pairs: bool = False) -> None:
        """InputError when a request sends texts to an image model or images to a text model, single texts to a
        pair model or pairs to a single-text model."""
        if images != self.is_image:
            takes, send = (("images", '{"image": "<base64>"}') if self.is_image else
                           ("text pairs", '{"text": ..., "text_pair": ...}') if self.pairs else ("texts", "a string"))
            raise InputError(f"Model {self.name!r} ({self.task}) takes {takes}, not "
                             f"{'images' if images else 'texts'}: send `inputs` as {send}, or pick another "
                             "model (GET /api/v1/models lists each model's task).")
        if not images and pairs != self.pairs:
            raise InputError(
                f"Model {self.name!r} reads each input as a text pair: send each one as "
                '{"text": "...", "text_pair": "..."} with both texts (its `text_pair` is missing).' if self.pairs
                else f"Model {self.name!r} reads single texts, not pairs: send each input as a string, without "
                     "`text_pair` (GET /api/v1/models: models with `text_pair` true take pairs).")

    async def classify(self, items: list[Any], timing: Timing | None = None) -> list[Scores]:
        return await self.batcher.submit(items, timing)

    async def explain(self, item: Any, method: str | None, steps: int, target: str | None,
                      timing: Timing | None = None) -> dict[str, Any]:
        """Explain one text (a str), one pair (a (text, text_pair) tuple) or one decoded image, with the fp32
        weights, outside any batch."""
        if self.is_image:
            from tp.models.explain_image import explain_image

            job = partial(explain_image, self.explain_model, self.preprocessor, self.labels, item,
                          method or IMAGE.default_explain_method, target)
        else:
            from tp.models.explain_text import explain_text

            job = partial(explain_text, self.explain_model, self.preprocessor, self.labels, item, self.max_tokens,
                          method or TEXT.default_explain_method, steps, target, self.info.get("truncation", "head"),
                          self.problem)
        return await self.batcher.run_solo(job, timing)


def start_batcher(inference: Any, spec: ModelSpec, settings: ServerSettings, telemetry: Telemetry,
                  workers: int) -> MicroBatcher:
    """The started micro-batcher of one served model, with its limits and telemetry hooks."""
    return MicroBatcher(inference, settings.max_batch_size, settings.max_batch_wait_ms / 1000,
                        settings.queue_limit, spec.name, telemetry.model_events(spec.name), workers,
                        settings.request_timeout_s).start()


def quantized(settings: ServerSettings) -> str | None:
    """What /models shows for the precision TP_QUANTIZE asked for (None: full precision)."""
    return None if settings.quantize == "none" else settings.quantize

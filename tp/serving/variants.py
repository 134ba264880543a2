"""Serving a compressed variant (`RUN_DIR/variants/<name>/`, made by tp optimize).

A variant runs on the CPU in its own format (int8 torch, ONNX Runtime, pruned, sparse...). Its gate
(accuracy, micro-F1 or RMSE against fp32's) holds here too: a variant the gate rejected stops start-up
unless TP_FORCE_VARIANTS=true.
Explanations need gradients through fp32 weights: they use the run the variant was made from when it
sits beside it (`RUN_DIR/`; loaded in the background once the server is ready, or on the first /explain),
and are refused with a clear message otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tp.errors import ConfigError, InputError


def check_variant_settings(name: str, method: str, settings: Any, device: str) -> None:
    """A variant is already compressed, and its formats are CPU formats."""
    if settings.quantize != "none":
        raise ConfigError(f"TP_QUANTIZE={settings.quantize} converts fp32 models, but {name!r} is a compressed variant "
                          f"({method}): unset TP_QUANTIZE, or serve the run folder instead.")
    if device != "cpu":
        raise ConfigError(f"{name!r} is a compressed variant ({method}), which runs on the CPU: set TP_DEVICE=cpu "
                          "(or auto with TP_QUANTIZE unset on a CPU machine), or serve the run folder on the GPU.")


def source_run(folder: Path) -> Path | None:
    """The run folder a variant folder belongs to (RUN_DIR/variants/<name>), or None."""
    from tp.models.classifier import read_run_info

    run = Path(folder).resolve().parent.parent
    return run if Path(folder).resolve().parent.name == "variants" and read_run_info(run) else None


def source_run_explainer(name: str, run: Path) -> tuple[Any, Any]:
    """(the run's fp32 model, loaded on first use, and the job that loads it in the background once the server
    is ready): the 1.7 s it takes on the shipped model are no longer part of the start."""
    from tp.models.loading import load_classifier
    from tp.serving.onnx_serving import LazyModel
    from tp.serving.served import log

    model = LazyModel(lambda: load_classifier(run).model)

    def preload() -> None:
        try:
            model.get()
        except Exception as error:  # an /explain will say why; predictions go on
            log.warning("Could not load %s's fp32 model for explanations of %r (%s: %s)", run, name,
                        type(error).__name__, error)
    return model, preload


def variant_metrics(record: dict[str, Any]) -> dict[str, float]:
    """What GET /models shows for a variant: its own measured test scores (`test_accuracy`, `test_micro_f1`,
    `test_rmse`... as a run's metrics.json names them) and the gate's numbers on its metric (`baseline_accuracy`
    and `accuracy_drop_points`; `baseline_micro_f1`...; `baseline_rmse` and `rmse_growth_percent`)."""
    from tp.compression.gate_metric import measured_scores, metric_named

    measured, gate = record.get("measurements") or {}, record.get("gate") or {}
    metric = metric_named(gate.get("metric"))  # verdicts older than `metric` gated accuracy
    pairs = {**measured_scores(measured), "test_size": measured.get("test_size"),
             "size_bytes": measured.get("size_bytes"), "latency_p50_ms": measured.get("latency_p50_ms"),
             f"baseline_{metric.key}": gate.get("baseline", gate.get("baseline_accuracy")),
             metric.drop_name: gate.get("drop", gate.get("accuracy_drop_points"))}
    return {key: value for key, value in pairs.items() if isinstance(value, int | float)}


def variant_skill(folder: Path) -> tuple[dict[str, dict[str, Any]], list[dict[str, str]]]:
    """The baselines and no-skill warnings a variant is shown with: those of its own metrics.json (a published
    variant's repository, judged in its own right), else its run's (RUN_DIR/variants/<name>: every variant
    inherits them, and the baselines were scored on the same test split); none when neither has them."""
    from tp.serving.served import read_metrics_file, skill_record

    own = skill_record(read_metrics_file(folder))
    if own != ({}, []):
        return own
    resolved = Path(folder).resolve()
    return skill_record(read_metrics_file(resolved.parent.parent)) if resolved.parent.name == "variants" else own


class NoExplanation:
    """Stands in for the explain model of a variant served without its fp32 run: every call says why."""

    def __init__(self, name: str, method: str) -> None:
        self.message = (f"Model {name!r} is a compressed variant ({method}) served without the run it was made "
                        "from: explanations need its fp32 weights. Serve the run folder to explain, or keep the "
                        "variant in its run's variants/ folder.")

    def __getattr__(self, attribute: str) -> Any:
        raise InputError(self.message)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise InputError(self.message)


def load_variant_model(spec: Any, classifier: Any, info: dict[str, Any], folder: Path, settings: Any,
                       telemetry: Any, device: str, workers: int) -> Any:
    """A compressed variant, as it is, on the CPU; explained with its run's fp32 model."""
    from tp.compression.gate_metric import metric_named
    from tp.serving.images import example_data_urls
    from tp.serving.inference import ImageInference, TextInference
    from tp.serving.served import ServedModel, log, problem_fields, start_batcher
    from tp.tasks import problem_named

    record = info["variant"]
    check_variant_settings(spec.name, record["method"], settings, device)
    image = classifier.spec.is_image
    max_tokens = None if image else settings.max_tokens or classifier.max_length
    if max_tokens and record.get("max_length"):  # a max-length variant was gated at its own length: never more
        max_tokens = min(max_tokens, int(record["max_length"]))
    preprocessor = classifier.preprocessor
    problem = {} if image else problem_fields(classifier, info)
    if image:
        from PIL import Image

        inference = ImageInference(classifier.model, preprocessor, "cpu",
                                   on_forward=telemetry.forward_observer(spec.name),
                                   max_batch_tokens=settings.max_batch_tokens)
        inference([Image.new("RGB", (32, 32))])
    else:
        inference = TextInference(classifier.model, preprocessor, max_tokens, settings.max_batch_size, "cpu",
                                  on_forward=telemetry.forward_observer(spec.name), truncation=classifier.truncation,
                                  on_tokenized=telemetry.tokenization_observer(spec.name),
                                  max_batch_tokens=settings.max_batch_tokens,
                                  activation=problem_named(problem["problem_type"]).activation, pairs=problem["pairs"])
        inference([("warm-up", "warm-up") if problem["pairs"] else "warm-up"])
    batcher = start_batcher(inference, spec, settings, telemetry, workers)
    run = source_run(folder)
    if run is None:
        explain_model, preload = NoExplanation(spec.name, record["method"]), None
    else:
        explain_model, preload = source_run_explainer(spec.name, run)
    if record.get("status") != "accepted":
        log.warning("Serving %r although its %s gate %s it (TP_FORCE_VARIANTS=true)", spec.name,
                    metric_named((record.get("gate") or {}).get("metric")).title, record.get("status"))
    run = Path(folder).resolve().parent.parent  # a variant keeps no examples: its run's
    examples = example_data_urls(run, list(classifier.labels), settings.max_image_bytes) if image else []
    served = ServedModel(spec, info, list(classifier.labels), max_tokens, "cpu", record["method"], batcher,
                         explain_model, preprocessor, folder, variant_metrics(record), *variant_skill(folder),
                         task=classifier.task, examples=examples,
                         runtime="onnxruntime" if record["method"] == "onnx-int8" else "torch", **problem)
    served.upgrade = preload
    return served

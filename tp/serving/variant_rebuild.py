"""TP_VARIANT=auto on a fresh clone: rebuild, in the background, the quick variant the lab accepted.

A fresh clone has the shipped run's lab report (reports/compression.json) but not its variants/: their
weights are not committed. A distilled student takes many minutes of training to make again; a quantization
of the run's own fp32 weights (auto_variant.QUICK: onnx-int8, seconds), at its length or a shorter
`max-length:N`, does not. So when the lab accepted such a variant on this CPU's model, it is faster than fp32
and than every variant on disk, and its folder is missing (auto_variant.quick_candidate), the server answers
with fp32 at once and, once it is ready, rebuilds that variant the way `tp optimize` built it, measures its
scores again on the run's test split (the same texts the lab used), gates it on the problem's metric (accuracy,
micro-F1 or RMSE: tp.compression.gate_metric) against the fp32 score the lab recorded with the lab's own max
drop, publishes it into variants/ (where later starts find it) and swaps it in: this server answers with it
from then on. Its speed is the lab's measurement on this CPU model (same recipe, same weights); its scores and
gate verdict are those measured here. A failure is logged, and the next start tries again.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("tp.serving")
SPEED = "throughput_texts_per_s"  # the lab's, on this CPU model: the rest of a new measurement replaces the lab's


def rebuild_job(run: Path, name: str, swap_in: Callable[[Path], None] | None = None) -> Callable[[], None]:
    """The background job: rebuild, re-measure, gate and publish variant `name` of `run`, then `swap_in` its
    folder (serve it from now on) when it passed; failures only log."""
    def job() -> None:
        try:
            if rebuild(run, name)["status"] == "accepted" and swap_in is not None:
                swap_in(run / "variants" / name)
        except Exception as error:
            log.warning("Rebuilding or serving variant %s of %s failed (%s: %s): fp32 keeps serving, and the next "
                        "start tries again (TP_VARIANT=none skips it)", name, run, type(error).__name__, error)
    return job


def then(first: Callable[[], None] | None, second: Callable[[], None]) -> Callable[[], None]:
    """One background job that runs `first` (when there is one), then `second`."""
    def both() -> None:
        if first is not None:
            first()
        second()
    return both


def rebuild(run: Path, name: str) -> dict[str, Any]:
    """Build variant `name` of `run` again from its lab record, measure and gate it; publish it when accepted.
    Returns its new variant record (status accepted or rejected)."""
    from tp.compression.config import CompressionConfig, parse_methods
    from tp.compression.gate_metric import metric_named
    from tp.compression.lab_data import load_lab_data
    from tp.compression.measure import evaluate_interleaved
    from tp.compression.optimize import build_variant
    from tp.compression.report import load_summary
    from tp.compression.variants import gate, load_variant, record_verdict
    from tp.files import publish_folder

    began = time.perf_counter()
    summary = load_summary(run)
    if summary is None or name not in (summary.get("variants") or {}):
        raise ValueError(f"{run / 'reports' / 'compression.json'} has no record of variant {name}")
    lab_record, environment = summary["variants"][name], summary.get("environment") or {}
    fp32 = summary["variants"]["fp32"]["measurements"]
    metric = metric_named(summary.get("gate_metric"))  # accuracy, micro-F1 or RMSE
    (spec,) = parse_methods(lab_record["label"])
    lab = load_lab_data(run, int(environment["test_texts"]) if environment.get("limited") else None)
    # as the lab built it: all in int8 (no search, which only ran where int8 failed on validation)
    config = CompressionConfig(methods=[spec], max_drop=float(summary["max_drop_points"]), search_trials=0)
    folder = build_variant(spec, lab, config, log.info)
    try:
        texts, labels = lab.splits["test"]
        measured = evaluate_interleaved({name: load_variant(folder, force=True)}, texts, labels)[name]
        if measured["test_size"] != fp32["test_size"]:
            raise ValueError(f"the test split has {measured['test_size']} examples here, the lab measured "
                             f"{fp32['test_size']}: run `tp optimize {run}` to measure this data")
        verdict = gate(fp32[metric.key], measured[metric.key], config.max_drop, metric)
        measurements = {**lab_record["measurements"], **{key: value for key, value in measured.items() if key != SPEED},
                        "rebuilt": {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                    f"lab_{metric.key}": lab_record["measurements"][metric.key],
                                    "speed_from": "the lab's measurement (reports/compression.json)",
                                    "seconds": round(time.perf_counter() - began, 1)}}
        record = record_verdict(folder, verdict, measurements)
        if verdict["status"] != "accepted":
            log.warning("Rebuilt variant %s of %s %s against fp32 (the gate allows %g%s): not served; fp32 keeps "
                        "serving", name, run.name, metric.worse(verdict["drop"]), config.max_drop,
                        "%" if metric.relative else "")
            return record
        publish_folder(folder, run / "variants" / name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # a partial folder, unless it was published
    log.info("Rebuilt variant %s of %s in %.0f s: test %s %s (the lab measured %s), accepted", name, run.name,
             time.perf_counter() - began, metric.title, metric.show(measured[metric.key]),
             metric.show(lab_record["measurements"][metric.key]))
    return record


STOP_OLD_AFTER_S = 30.0  # the replaced model's batcher finishes what it has queued, then stops


def swap_in_variant(registry: Any, spec: Any, load: Callable[[Any], Any], folder: Path) -> None:
    """Serve the variant at `folder` under `spec.name` from now on: `load(spec)` loads it beside the model serving
    now (tp.serving.registry.load_served_model), new requests go to it at once (one dict assignment), and the
    replaced model's batcher stops a little later, after the requests that had already picked it. Explanations
    keep the fp32 model already loaded."""
    from dataclasses import replace

    from tp.serving.auto_variant import choose_variant

    began = time.perf_counter()
    old = registry.models[spec.name]
    new = load(replace(spec, source=str(folder)))
    settings = registry.settings
    choice = choose_variant(Path(spec.source), settings.variant, registry.device, settings.quantize)
    new.variant_reason = choice.reason if choice.folder == folder else old.variant_reason
    if old.explain_model is not None:  # the same run's fp32 weights: no second copy to load
        new.explain_model, new.upgrade = old.explain_model, None
    registry.models[spec.name] = new
    log.info("Model %r: serving variant %s from now on (loaded in %.1f s beside the fp32 model it replaces)",
             spec.name, folder.name, time.perf_counter() - began)
    if new.upgrade:
        new.upgrade()
    stopper = threading.Timer(STOP_OLD_AFTER_S, old.batcher.stop)
    stopper.daemon = True
    stopper.start()

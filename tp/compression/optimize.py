"""Run the compression lab over a run folder: build variants, measure them next to fp32, gate, report.

Steps: (1) load the run and rebuild its recorded split; (2) save the fp32 baseline to a temporary
variant folder, so that it is loaded and measured exactly like the variants; (3) build each variant
into `variants/<name>.partial/` and load it back from disk (what is measured is what was saved);
(4) measure all of them interleaved on the same test inputs; (5) gate each one, record the verdict in
its variant.json and rename the folder into place; (6) write the reports and the card section.
Text runs and image runs (ViT) go the same way: `tp.compression.lab_data` hides which inputs a run has.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tp.compression.config import STACKABLE, CompressionConfig, MethodSpec
from tp.compression.lab_data import LabData, load_lab_data
from tp.compression.measure import (
    evaluate_interleaved,
    latency_interleaved,
    memory_probe,
    parameter_count,
    weights_bytes,
    write_probe_inputs,
)
from tp.compression.method_checks import check_method
from tp.compression.students import source_model, student_of
from tp.compression.variants import gate, is_variant_folder, load_variant, record_verdict, write_variant
from tp.errors import TpError
from tp.evaluation.metrics import cpu_name
from tp.evaluation.skill_check import warning_lines
from tp.files import publish_folder

BASELINE = "fp32"


def _recover(model: Any, lab: LabData, config: CompressionConfig, after_step: Callable | None = None) -> dict:
    from tp.compression.recovery import recover

    if not config.recover_epochs:
        return {"epochs": 0}
    items, labels = lab.splits["train"]
    return recover(model, lab.encode, items, labels, config.recover_epochs, config.recover_learning_rate,
                   after_step=after_step)


def build_int8(spec: MethodSpec, lab: LabData, folder: Path, config: CompressionConfig, source: Any) -> dict:
    from tp.compression.quantize import quantize_model, save_int8

    counts = parameter_count(source)
    details: dict[str, Any] = {"linear": "dynamic int8, per output channel (head kept fp32)"}
    if config.search_trials and lab.splits["validation"][0]:
        from tp.compression.search import searched_int8

        model, details["search"] = searched_int8(source, lab.encode, lab.splits["validation"], config.max_drop,
                                                 config.search_trials, scorer=lab.scorer)
        details["fp32_layers"] = list(getattr(model.config, "tp_fp32_layers", None) or [])
    else:
        model = quantize_model(copy.deepcopy(source))
    if lab.is_image:  # ViT: no word table; torch's dynamic quantization has no Conv2d kernel
        details["patch_embedding"] = "Conv2d kept fp32 (no word-embedding table in a ViT)"
    else:
        details["word_embeddings"] = "int8 per row + fp32 scale, dequantized on lookup"
    return {**counts, "weights_files": save_int8(model, folder), "details": details}


def build_pruned_heads(spec: MethodSpec, lab: LabData, folder: Path, config: CompressionConfig,
                       source: Any) -> dict[str, Any]:
    from tp.compression.prune_heads import head_importance, heads_to_prune, prune_heads, save_pruned

    model = copy.deepcopy(source)
    importance = head_importance(model, lab.batches("validation", config.importance_texts))
    pruned = heads_to_prune(importance, spec.fraction)
    prune_heads(model, pruned)
    recovery = _recover(model, lab, config)
    total = importance.numel()
    return {**parameter_count(model), "weights_files": save_pruned(model, folder),
            "details": {"heads_pruned": sum(map(len, pruned.values())), "heads_total": total,
                        "pruned_heads": {str(k): v for k, v in pruned.items()},
                        "importance": [[round(x, 4) for x in row] for row in importance.tolist()],
                        "importance_texts": min(config.importance_texts, len(lab.splits["validation"][0])),
                        "recovery": recovery}}


def build_magnitude(spec: MethodSpec, lab: LabData, folder: Path, config: CompressionConfig,
                    source: Any) -> dict[str, Any]:
    from tp.compression.prune_magnitude import apply_masks, magnitude_masks, save_sparse, sparsity

    model = copy.deepcopy(source)
    masks = magnitude_masks(model, spec.fraction)
    apply_masks(model, masks)
    recovery = _recover(model, lab, config, after_step=lambda: apply_masks(model, masks))
    stats = sparsity(model)
    return {**parameter_count(model), "weights_files": save_sparse(model, folder),
            "details": {**stats, "storage": "packed bit mask + non-zero values (dense again in memory)",
                        "recovery": recovery}}


def build_onnx(spec: MethodSpec, lab: LabData, folder: Path, config: CompressionConfig, source: Any) -> dict:
    from tp.compression.onnx_export import build_onnx_int8

    # the export's parity check tokenizes single texts: a pair run's is checked on each pair's first text (the
    # graph takes token_type_ids all the same; the search and the gate then score it on the pairs themselves)
    inputs = [item[0] if isinstance(item, tuple) else item for item in lab.open(lab.splits["validation"][0][:4])]
    max_length = None if lab.is_image else spec.max_length or lab.classifier.max_length
    quantize = None
    if config.search_trials and lab.splits["validation"][0]:
        from tp.compression.onnx_search import searched_onnx_int8

        quantize = searched_onnx_int8(source, lab.encode, lab.splits["validation"], config.max_drop,
                                      config.search_trials, threads=config.threads, scorer=lab.scorer)
    details = build_onnx_int8(source, lab.preprocessor, folder, inputs, max_length, quantize=quantize)
    return {**parameter_count(source), "weights_files": details.pop("weights_files"), "details": details}


def build_bnb(spec: MethodSpec, lab: LabData, folder: Path, config: CompressionConfig, source: Any) -> dict:
    from tp.compression.bnb_8bit import build_bnb_8bit

    with tempfile.TemporaryDirectory() as tmp:  # it loads from a folder: the run's fp32 one, or the base's
        if spec.base is not None:
            source.save_pretrained(tmp)
        details = build_bnb_8bit(lab.baseline_folder if spec.base is None else Path(tmp), folder)
    return {**parameter_count(source), "weights_files": details.pop("weights_files"), "details": details}


def build_student(spec: MethodSpec, lab: LabData, folder: Path, config: CompressionConfig, source: Any) -> dict:
    """distill:L / prune-layers:L: a plain transformers folder (safetensors) that stock pipeline() loads."""
    model, details = student_of(spec, lab, config)
    model.save_pretrained(folder)
    return {**parameter_count(model), "weights_files": sorted(p.name for p in folder.glob("*.safetensors")),
            "details": details}


BUILDERS: dict[str, Callable[[MethodSpec, LabData, Path, CompressionConfig, Any], dict[str, Any]]] = {
    "int8-dynamic": build_int8, "prune-heads": build_pruned_heads, "prune-magnitude": build_magnitude,
    "onnx-int8": build_onnx, "bnb-8bit": build_bnb, "distill": build_student, "prune-layers": build_student,
    "max-length": build_student,
}


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def build_variant(spec: MethodSpec, lab: LabData, config: CompressionConfig, log: Callable[[str], None]) -> Path:
    """Build one variant into `variants/<name>.partial/` and write its variant.json (status unmeasured)."""
    check_method(spec, lab)  # a student of a multi-label run, a length of an image run: refused before building
    folder = _fresh(lab.run_dir / "variants" / f"{spec.name}.partial")
    log(f"building {spec.label} ...")
    source, base = source_model(spec, lab, config, log)  # a stacked variant builds on its base's student
    if spec.method in STACKABLE:
        student_of(spec, lab, config, log)  # trained here, where it can say so; the builder finds it built
    built = BUILDERS[spec.method](spec, lab, folder, config, source)
    if base is not None:
        built["details"] = {**built["details"], "base": {"label": spec.base.label, **base}}
    record = {"name": spec.name, "method": spec.method, "fraction": spec.fraction, "layers": spec.layers,
              "max_length": spec.max_length,
              "label": spec.label, "stages": [stage.own_label for stage in spec.stages],
              "source_run": lab.classifier.info.get("name", lab.run_dir.name), "loader": "tp.compression.variants"
              ".load_variant", **built}
    info = lab.classifier.info if spec.max_length is None else {**lab.classifier.info, "max_length": spec.max_length}
    write_variant(folder, record, info, lab.preprocessor)
    return folder


def _reuse(spec: MethodSpec, lab: LabData, log: Callable[[str], None]) -> Path:
    """Copy an already built variant to `<name>.partial/` to measure and gate it again (`reuse`)."""
    folder = lab.run_dir / "variants" / f"{spec.name}.partial"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(lab.run_dir / "variants" / spec.name, folder)
    log(f"reusing the {spec.label} built earlier ...")
    return folder


def _measure(folders: dict[str, Path], lab: LabData, config: CompressionConfig,
             log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Load every folder back and measure all of them on the same inputs, interleaved, on `config.threads`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(config.threads or threads)  # before loading: ONNX Runtime sessions take the same number
    try:
        return _measure_all(folders, lab, config, log)
    finally:
        torch.set_num_threads(threads)


def _measure_all(folders: dict[str, Path], lab: LabData, config: CompressionConfig,
                 log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    classifiers = {name: load_variant(folder, force=True) for name, folder in folders.items()}
    texts, labels = lab.splits["test"]
    noun = lab.classifier.spec.unit
    log(f"evaluating {len(classifiers)} models on {len(texts)} test {noun} (batch {config.batch_size}) ...")
    results = evaluate_interleaved(classifiers, texts, labels, config.batch_size)
    step = max(1, len(texts) // config.latency_texts)
    sample = texts[::step][:config.latency_texts]
    log(f"timing batch-1 latency on {len(sample)} {noun} ...")
    for name, latency in latency_interleaved(classifiers, sample).items():
        results[name].update(latency)
    del classifiers
    with tempfile.TemporaryDirectory() as tmp:
        inputs = write_probe_inputs(texts[:config.batch_size], Path(tmp))  # texts.json, or PNG files
        for name, folder in folders.items():
            results[name]["size_bytes"] = weights_bytes(folder)
            if config.measure_memory:
                log(f"memory of {name} in a fresh process ...")
                results[name].update(memory_probe(folder, inputs))
    return results


def _environment(lab: LabData, config: CompressionConfig) -> dict[str, Any]:
    import torch

    environment = {"threads": config.threads or torch.get_num_threads(), "cpu": cpu_name(),
                   "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                   "test_texts": len(lab.splits["test"][0]), "limited": config.limit is not None,
                   "same_split_as_training": lab.same_split_as_training}
    if not lab.is_image:
        return {**environment, "max_length": lab.classifier.max_length}
    from tp.data.images import processor_size

    return {**environment, "task": lab.classifier.task, "image_size": list(processor_size(lab.preprocessor))}


def _run_warnings(run_dir: Path) -> list[dict[str, str]]:
    """The run's own no-skill / below-baseline warnings (metrics.json), which every variant inherits."""
    path = run_dir / "metrics.json"
    return json.loads(path.read_text(encoding="utf-8")).get("warnings") or [] if path.is_file() else []


def optimize_run(run_dir: str | Path, config: CompressionConfig | None = None,
                 log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build, measure and gate the configured variants of `run_dir`; write reports; return the summary."""
    from tp.compression.report import write_reports

    config = config or CompressionConfig()
    run_dir = Path(run_dir)
    run_warnings = _run_warnings(run_dir)
    for line in warning_lines(run_warnings):  # the gate compares with fp32: it cannot see a model with no skill
        log(f"{run_dir.name}: {line}")
    lab = load_lab_data(run_dir, config.limit)
    baseline = _fresh(run_dir / "variants" / f".{BASELINE}")  # dot: a scratch folder, deleted at the end
    lab.baseline_folder = baseline
    try:
        lab.classifier.model.save_pretrained(baseline)
        record = {"name": BASELINE, "method": BASELINE, "fraction": None, "label": "fp32 (baseline)",
                  **parameter_count(lab.classifier.model)}
        write_variant(baseline, record, lab.classifier.info, lab.preprocessor)
        folders, records, failures, reused = {BASELINE: baseline}, {}, {}, []
        for spec in config.methods:
            try:
                if config.reuse and is_variant_folder(run_dir / "variants" / spec.name):
                    folders[spec.name] = _reuse(spec, lab, log)
                    reused.append(spec.label)
                else:
                    folders[spec.name] = build_variant(spec, lab, config, log)
            except (TpError, ImportError, RuntimeError, OSError, ValueError) as error:  # one failure hides no other
                failures[spec.name] = {"label": spec.label, "error": f"{type(error).__name__}: {error}"}
                shutil.rmtree(run_dir / "variants" / f"{spec.name}.partial", ignore_errors=True)
                log(f"{spec.label} failed: {error}")
        environment = _environment(lab, config)
        results = _measure(folders, lab, config, log)
        metric = lab.scorer.metric  # accuracy, micro-F1 or RMSE (tp.compression.gate_metric)
        for name, folder in folders.items():
            if name == BASELINE:
                continue
            verdict = gate(results[BASELINE][metric.key], results[name][metric.key], config.max_drop, metric)
            records[name] = record_verdict(folder, verdict, results[name])
            publish_folder(folder, run_dir / "variants" / name, overwrite=config.overwrite)
        records[BASELINE] = {**json.loads((baseline / "variant.json").read_text()), "measurements": results[BASELINE]}
    finally:
        shutil.rmtree(baseline, ignore_errors=True)
    environment["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    summary = {"run": str(run_dir), "max_drop_points": config.max_drop, "problem_type": lab.scorer.problem.name,
               "gate_metric": lab.scorer.metric.key, "environment": environment,
               "variants": records, "failures": failures, "reused": reused, "run_warnings": run_warnings}
    write_reports(run_dir, summary)
    return summary

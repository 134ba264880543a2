"""Variant folders: what each holds, the accuracy gate, and loading one back (refusing rejected ones).

`RUN_DIR/variants/<name>/` holds `variant.json` (method, how to load it, its measurements and the gate's
verdict), `tp.json` (the run's labels and max length), the tokenizer (or, for an image run, the image
processor), and the weights in the method's format (safetensors, or model.onnx). Only safetensors and ONNX
are written: nothing is pickled.

The gate: a variant that loses more than `max_drop` against the fp32 baseline, measured in the same run on
the same test texts, is `rejected`: accuracy points for one label per text, micro-F1 points for multi-label,
RMSE growth in % for regression (tp.compression.gate_metric). `load_variant` then raises RejectedVariantError
unless `force=True`; the app and the push script call it (or `check_variant`) for exactly that.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from tp.compression.gate_metric import ACCURACY, GateMetric
from tp.errors import ModelSourceError, RejectedVariantError
from tp.files import write_json
from tp.models.classifier import RUN_FILE, TextClassifier
from tp.models.image_classifier import ImageClassifier
from tp.tasks import IMAGE, SINGLE_LABEL

VARIANT_FILE = "variant.json"
FORMAT = "tp-variant/1"
# method -> (module, loader function); imported only when a variant of that method is loaded
LOADERS = {
    "fp32": ("tp.compression.variants", "load_fp32"),
    "int8-dynamic": ("tp.compression.quantize", "load_int8"),
    "prune-heads": ("tp.compression.prune_heads", "load_pruned"),
    "prune-magnitude": ("tp.compression.prune_magnitude", "load_sparse"),
    "onnx-int8": ("tp.compression.onnx_export", "load_onnx"),
    "bnb-8bit": ("tp.compression.bnb_8bit", "load_bnb_8bit"),
    "distill": ("tp.compression.variants", "load_fp32"),  # a smaller model of the same architecture
    "prune-layers": ("tp.compression.variants", "load_fp32"),
    "max-length": ("tp.compression.variants", "load_fp32"),  # the length is in tp.json
}


def is_variant_folder(folder: str | Path) -> bool:
    return (Path(folder) / VARIANT_FILE).is_file()


def read_variant(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / VARIANT_FILE
    if not path.is_file():
        raise ModelSourceError(f"{folder} is not a compressed variant: it has no {VARIANT_FILE}.")
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("format") != FORMAT or record.get("method") not in LOADERS:
        raise ModelSourceError(f"{path} has format {record.get('format')!r} / method {record.get('method')!r}, "
                               f"which this tp cannot load (it reads {FORMAT}: {', '.join(LOADERS)}).")
    return record


def write_variant(folder: Path, record: dict[str, Any], run_info: dict[str, Any], preprocessor: Any) -> None:
    """variant.json, tp.json and the tokenizer or image processor next to the weights the method already wrote."""
    write_json(folder / VARIANT_FILE, {"format": FORMAT, "status": "unmeasured", **record})
    write_json(folder / RUN_FILE, {**run_info, "variant": record["name"]})
    preprocessor.save_pretrained(folder)


def gate(baseline: float, value: float, max_drop: float, metric: GateMetric = ACCURACY) -> dict[str, Any]:
    """The verdict: accepted when `value` is at most `max_drop` worse than `baseline` (metric.drop's rule)."""
    drop = metric.drop(baseline, value)
    verdict = {"status": "accepted" if drop <= max_drop else "rejected", "metric": metric.key, "drop": drop,
               "drop_unit": metric.unit, "max_drop": max_drop, "baseline": baseline, "value": value}
    if metric is ACCURACY:  # the names a verdict has always had: serving, publishing and older variants read them
        verdict.update(accuracy_drop_points=drop, max_drop_points=max_drop, baseline_accuracy=baseline,
                       accuracy=value)
    return verdict


def verdict_words(verdict: dict[str, Any]) -> str:
    """`it lost 2.5 accuracy points (the gate allows 1)`, or its RMSE/micro-F1 kin."""
    drop = verdict.get("drop", verdict.get("accuracy_drop_points"))
    allowed = verdict.get("max_drop", verdict.get("max_drop_points"))
    metric = verdict.get("metric", "accuracy").replace("_", "-")
    if verdict.get("drop_unit") == "%":
        return f"its {metric.upper()} grew {drop:g}% (the gate allows {allowed:g}%)"
    return f"it lost {drop:g} {metric} points (the gate allows {allowed:g})"


def record_verdict(folder: Path, verdict: dict[str, Any], measurements: dict[str, Any]) -> dict[str, Any]:
    """Store the gate's verdict and the measurements in variant.json; returns the new record."""
    record = read_variant(folder)
    record.update({"status": verdict["status"], "gate": verdict, "measurements": measurements})
    write_json(folder / VARIANT_FILE, record)
    return record


def check_variant(folder: str | Path, force: bool = False) -> dict[str, Any]:
    """variant.json of `folder`, or RejectedVariantError when the gate did not accept it and force is False."""
    record = read_variant(folder)
    if record.get("status") != "accepted" and not force:
        verdict = record.get("gate") or {}
        why = verdict_words(verdict) if record.get("status") == "rejected" else \
            "it was never measured against its baseline"
        raise RejectedVariantError(f"Variant {record['name']} at {folder} is {record.get('status')}: {why}. "
                                   "Serve or publish it anyway only with force (e.g. --force).")
    return record


def load_fp32(folder: Path) -> Any:
    from tp.compression.architecture import model_class_of_folder

    return model_class_of_folder(folder).from_pretrained(folder).eval()


def load_variant(folder: str | Path, force: bool = False) -> TextClassifier | ImageClassifier:
    """Load a variant folder as a Text- or ImageClassifier; a rejected or unmeasured one only with `force=True`."""
    folder = Path(folder)
    record = check_variant(folder, force)
    module, function = LOADERS[record["method"]]
    model = getattr(importlib.import_module(module), function)(folder)
    info = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    info["variant"] = record
    if info.get("task") == IMAGE.name:
        from transformers import AutoImageProcessor

        return ImageClassifier(model, AutoImageProcessor.from_pretrained(folder), list(info["labels"]), info)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    problem_type = info.get("problem_type") or getattr(getattr(model, "config", None), "problem_type", None)
    return TextClassifier(model, tokenizer, list(info["labels"]), int(info.get("max_length") or 256), info,
                          truncation=info.get("truncation", "head"), problem_type=problem_type or SINGLE_LABEL.name,
                          thresholds=info.get("thresholds"), pairs=bool(info.get("text_pair")))

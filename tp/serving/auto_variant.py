"""TP_VARIANT=auto (the default): serve a run folder's fastest accepted variant, when the lab measured it here.

`tp optimize RUN_DIR` leaves variants in `RUN_DIR/variants/` and its measurements in
`RUN_DIR/reports/compression.json`. When the server is asked to serve RUN_DIR on a CPU with no
TP_QUANTIZE, it picks the accepted variant with the highest batch-32 throughput, provided that:

- the lab ran on a CPU of the same model as this one (a speed-up measured on an AMX Xeon says little
  about an AVX2 laptop, where bf16 is 4x slower than fp32);
- the variant's own variant.json still says `accepted` (a variant the gate rejected is never chosen,
  whatever the report says; the gate compares the problem's metric: accuracy, micro-F1 or RMSE), and the
  runtime it needs is installed;
- it is faster than the fp32 model measured in the same run.

Otherwise the run's own fp32 weights are served, and `/models` says why. When the fastest such variant
is missing from variants/ (a fresh clone: variant weights are not committed) and is quick to rebuild (a
quantization of the run's own weights), the server rebuilds it in the background and serves it once it
passes the gate again, and later starts find it (tp.serving.variant_rebuild). `TP_VARIANT=none` always
serves fp32. Explanations use the fp32 weights either way (tp.serving.variants).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tp.tasks import IMAGE

RUNTIMES = {"onnx-int8": "onnxruntime", "bnb-8bit": "bitsandbytes"}  # method -> the module its loader needs
QUICK = ("onnx-int8",)  # one quantization of the run's own weights (at any max-length): seconds to rebuild


@dataclass(frozen=True)
class Choice:
    folder: Path | None  # the variant to serve, or None for the run's own weights
    reason: str | None  # None: nothing to choose (a variant folder, a Hub model)
    rebuild: str | None = None  # a quick variant to rebuild in the background, then serve


def _summary(run: Path) -> dict[str, Any] | None:
    path = run / "reports" / "compression.json"
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None


def _runtime_installed(method: str) -> bool:
    needs = RUNTIMES.get(method)
    return needs is None or importlib.util.find_spec(needs) is not None


def _candidates(run: Path, summary: dict[str, Any]) -> list[tuple[float, str, dict[str, Any]]]:
    from tp.compression.variants import is_variant_folder, read_variant
    from tp.errors import ModelSourceError

    found = []
    for name in summary.get("variants") or {}:
        folder = run / "variants" / name
        if name == "fp32" or not is_variant_folder(folder):
            continue
        try:
            record = read_variant(folder)
        except (ModelSourceError, ValueError, OSError):
            continue
        speed = (record.get("measurements") or {}).get("throughput_texts_per_s")
        if record.get("status") == "accepted" and speed and _runtime_installed(record.get("method", "")):
            found.append((float(speed), name, record))
    return sorted(found, key=lambda item: item[0], reverse=True)


def quick_candidate(run: Path, summary: dict[str, Any], beat: float) -> tuple[str, dict[str, Any]] | None:
    """The fastest variant of the lab report that is quick to rebuild, accepted, missing from variants/ and
    faster than `beat` texts/s (fp32's, or the fastest variant on disk); None when there is none."""
    from tp.compression.variants import is_variant_folder

    found = []
    for name, record in (summary.get("variants") or {}).items():
        speed = (record.get("measurements") or {}).get("throughput_texts_per_s") or 0.0
        details, stages = record.get("details") or {}, [str(s) for s in record.get("stages") or [name]]
        own_weights = (all(stage.startswith("max-length") for stage in stages[:-1])  # a length, not a student
                       and not details.get("fp32_nodes"))  # nor a searched graph: that search took minutes
        if (record.get("status") == "accepted" and record.get("method") in QUICK and own_weights
                and speed > beat and not is_variant_folder(run / "variants" / name)
                and _runtime_installed(record["method"])):
            found.append((float(speed), name, record))
    return max(found, key=lambda item: item[0])[1:] if found else None


def choose_variant(run: Path, setting: str, device: str, quantize: str, cpu: str | None = None) -> Choice:
    """Which weights to serve for the run folder `run` under TP_VARIANT=`setting`."""
    from tp.compression.gate_metric import metric_named
    from tp.evaluation.metrics import cpu_name

    if setting == "none":
        return Choice(None, "TP_VARIANT=none: the run's own weights.")
    if device != "cpu" or quantize != "none":
        return Choice(None, "TP_VARIANT=auto picks variants for CPU serving without TP_QUANTIZE only.")
    summary = _summary(run)
    if summary is None:
        return Choice(None, f"TP_VARIANT=auto: {run.name} has no measured variants (run `tp optimize {run}`).")
    here, measured_on = cpu or cpu_name(), summary.get("environment", {}).get("cpu")
    metric = metric_named(summary.get("gate_metric"))  # accuracy, micro-F1 or RMSE
    fp32 = ((summary.get("variants") or {}).get("fp32") or {}).get("measurements") or {}
    candidates = _candidates(run, summary) if (run / "variants").is_dir() else []
    quick = None
    if measured_on == here and fp32.get("throughput_texts_per_s"):
        quick = quick_candidate(run, summary, max([fp32["throughput_texts_per_s"], *(c[0] for c in candidates)]))
    if not (run / "variants").is_dir() and quick is None:
        return Choice(None, f"TP_VARIANT=auto: {run.name}'s lab report is here but not its variants/ (their "
                            f"weights are not committed): run `tp optimize {run}` to build and measure them.")
    if measured_on != here:
        return Choice(None, f"TP_VARIANT=auto: the variants were measured on {measured_on!r}, this CPU is {here!r}: "
                            f"run `tp optimize {run}` here to measure them on it.")
    rebuild, later = None, ""
    if quick is not None:
        name, record = quick
        ratio = record["measurements"]["throughput_texts_per_s"] / fp32["throughput_texts_per_s"]
        rebuild = name
        later = (f"{record.get('label', name)}, which the {metric.title} gate accepted and the lab measured on this "
                 f"CPU ({here}) at {ratio:.2f}x fp32's throughput, is not in variants/ (variant weights are not "
                 "committed): it is rebuilt in the background (a quantization: seconds), gated again on the test "
                 "split and served once it passes, by this server and later starts.")
    if not candidates or candidates[0][0] <= fp32["throughput_texts_per_s"]:
        if rebuild:
            return Choice(None, f"TP_VARIANT=auto: fp32 serves now; {later}", rebuild=rebuild)
        if not candidates:
            return Choice(None, f"TP_VARIANT=auto: no variant that the {metric.title} gate accepted (and whose "
                                "runtime is installed) is in variants/.")
        return Choice(None, f"TP_VARIANT=auto: the fastest accepted variant, {candidates[0][1]}, is not faster than "
                            "fp32 here.")
    speed, name, record = candidates[0]
    ratio = speed / fp32["throughput_texts_per_s"]
    compared = metric.compared(record["measurements"][metric.key], fp32[metric.key])
    return Choice(run / "variants" / name,
                  f"TP_VARIANT=auto: {record.get('label', name)}, the fastest variant the {metric.title} gate "
                  f"accepted, measured on this CPU ({here}): {ratio:.2f}x fp32's throughput at batch 32, test "
                  f"{compared} on the same {fp32['test_size']} "
                  f"{'images' if summary['environment'].get('task') == IMAGE.name else 'texts'}."
                  + (f" Meanwhile {later}" if later else ""), rebuild=rebuild)

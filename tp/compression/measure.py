"""Measure variants side by side: size on disk, accuracy, batch-32 throughput, batch-1 latency, peak memory.

On a shared 2-core CPU one timing is noise, so every variant is timed on the same inputs *interleaved*:
each batch (or input) is run by every variant in turn, in a rotating order, so that a burst of load from
other processes lands on all of them alike. Latency is reported as median (p50) and p95.
Inputs are texts, or PIL images for an image run (the classifier tokenizes or preprocesses them, inside
the timings). Memory is measured in a fresh process that loads the variant and classifies one batch
(`python -m tp.cli.memory_probe FOLDER INPUTS`, INPUTS a JSON list of texts or a folder of PNG files),
because a process's peak only grows: its RSS once the model is loaded, and its peak RSS after the batch.
The result keys keep their first names (`throughput_texts_per_s`, `latency_texts`) for images too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from tp.models.classifier import TextClassifier
from tp.models.image_classifier import ImageClassifier

WEIGHT_SUFFIXES = (".safetensors", ".onnx", ".onnx.data")


def weights_bytes(folder: Path) -> int:
    """Bytes of the weight files in `folder` (tokenizer and JSON files excluded, for every variant alike)."""
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.name.endswith(WEIGHT_SUFFIXES))


def parameter_count(model: Any) -> dict[str, int]:
    """Parameters and non-zero parameters of a float torch model (call it before quantizing)."""
    total = sum(p.numel() for p in model.parameters())
    nonzero = sum(int(p.count_nonzero()) for p in model.parameters())
    return {"parameters": total, "nonzero_parameters": nonzero}


def _rotation(names: list[str], step: int) -> list[str]:
    shift = step % len(names)
    return names[shift:] + names[:shift]


Classifier = TextClassifier | ImageClassifier


def _length(item: Any) -> int:
    if isinstance(item, tuple):  # a text pair
        return sum(map(len, item))
    return len(item) if isinstance(item, str) else 0  # images: one size after preprocessing; order kept


def evaluate_interleaved(classifiers: dict[str, Classifier], texts: list[Any], labels: list[Any],
                         batch_size: int = 32) -> dict[str, dict[str, Any]]:
    """The problem's metrics (accuracy and macro-F1 for one label; micro-F1...; RMSE...: gate_metric.Scorer) and
    inputs/s at `batch_size` for every classifier on the same batches (texts, pairs or images)."""
    from tp.compression.gate_metric import scorer_of

    order = sorted(range(len(texts)), key=lambda i: _length(texts[i]))  # similar lengths batch together
    names = list(classifiers)
    logits = {name: np.zeros((len(texts), len(classifiers[name].labels)), dtype=np.float32) for name in names}
    seconds = dict.fromkeys(names, 0.0)
    for step, start in enumerate(range(0, len(order), batch_size)):
        chunk = order[start:start + batch_size]
        chunk_texts = [texts[i] for i in chunk]
        for name in _rotation(names, step):
            began = time.perf_counter()
            logits[name][chunk] = classifiers[name].predict_logits(chunk_texts, batch_size)
            seconds[name] += time.perf_counter() - began
    results = {}
    for name in names:
        metrics = scorer_of(classifiers[name]).measurements(labels, logits[name])
        tables = {key: metrics.pop(key) for key in ("confusion_matrix", "per_class") if key in metrics}
        results[name] = {**metrics, "test_size": len(texts),
                         "throughput_texts_per_s": round(len(texts) / seconds[name], 2), **tables}
    return results


def latency_interleaved(classifiers: dict[str, Classifier], texts: list[Any],
                        warmup: int = 2) -> dict[str, dict[str, float]]:
    """Batch-1 latency (tokenization or image preprocessing included) per classifier: p50, p95, mean, in ms."""
    names = list(classifiers)
    for name in names:
        for text in texts[:warmup]:  # first calls allocate and pack; not what a server sees
            classifiers[name].predict_logits([text], 1)
    times: dict[str, list[float]] = {name: [] for name in names}
    for step, text in enumerate(texts):
        for name in _rotation(names, step):
            began = time.perf_counter()
            classifiers[name].predict_logits([text], 1)
            times[name].append((time.perf_counter() - began) * 1000)
    return {name: {"latency_p50_ms": round(float(np.percentile(t, 50)), 2),
                   "latency_p95_ms": round(float(np.percentile(t, 95)), 2),
                   "latency_mean_ms": round(float(np.mean(t)), 2), "latency_texts": len(t)}
            for name, t in times.items()}


def write_probe_inputs(inputs: list[Any], folder: Path) -> Path:
    """What the memory probe classifies: texts (or pairs) as `texts.json`, PIL images as PNG files in `images/`."""
    if inputs and not isinstance(inputs[0], str | tuple):  # texts and text pairs go to JSON
        images = Path(folder) / "images"
        images.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(inputs):
            (image if image.mode in ("L", "RGB", "RGBA") else image.convert("RGB")).save(images / f"{i:04d}.png")
        return images
    texts_file = Path(folder) / "texts.json"
    texts_file.write_text(json.dumps(inputs), encoding="utf-8")
    return texts_file


def read_probe_inputs(path: Path) -> list[Any]:
    """Texts from a JSON list, or the PNG images of a folder (loaded, in name order)."""
    path = Path(path)
    if not path.is_dir():
        return json.loads(path.read_text(encoding="utf-8"))
    from PIL import Image

    images = []
    for file in sorted(path.glob("*.png")):
        with Image.open(file) as image:
            images.append(image.copy())
    return images


def memory_probe(folder: Path, texts_file: Path, timeout: float = 600) -> dict[str, int | None]:
    """RSS of a fresh process: after its imports, after loading the variant in `folder`, and its peak
    once it has classified the inputs in `texts_file` (texts.json, or a folder of PNG images: one batch).
    None when the probe failed."""
    done = subprocess.run([sys.executable, "-m", "tp.cli.memory_probe", str(folder), str(texts_file)],
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:  # reported as unmeasured; the variant itself was already loaded and evaluated
        return dict.fromkeys(("runtime_rss_bytes", "loaded_rss_bytes", "peak_rss_bytes"))
    return json.loads(done.stdout.strip().splitlines()[-1])


def _proc_status_bytes(field: str) -> int | None:
    status = Path("/proc/self/status")
    if not status.is_file():
        return None
    for line in status.read_text(encoding="utf-8").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024  # kB
    return None


def own_peak_rss_bytes() -> int:
    """This process's peak RSS. Linux keeps ru_maxrss across fork + exec, so a probe started by a 3 GB
    parent would report 3 GB; VmHWM belongs to the process's own address space and starts fresh."""
    from tp.evaluation.metrics import peak_rss_bytes

    return _proc_status_bytes("VmHWM") or peak_rss_bytes()


def _return_freed_memory() -> None:
    """Ask glibc to give freed heap memory back to the OS, so that RSS counts live memory only.

    Without it a loader that builds a float skeleton and frees it keeps that memory resident (glibc raises
    its mmap threshold after big frees and then keeps such blocks in the heap); RSS then measures the allocator.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)


def probe(folder: str, texts_file: str) -> None:
    """What the probe process does (tp/cli/memory_probe.py): load a variant, classify, print its RSS as JSON."""
    import gc

    import torch  # noqa: F401  (the runtime floor every variant shares)
    import transformers  # noqa: F401

    from tp.compression.variants import load_variant

    if Path(texts_file).is_dir():
        import PIL.Image  # noqa: F401  (part of an image run's floor)
    runtime = _proc_status_bytes("VmRSS")
    classifier = load_variant(folder, force=True)  # measured whatever its verdict
    texts = classifier.open(read_probe_inputs(Path(texts_file)))  # JSON lists back to a pair model's tuples
    classifier.predict_logits(texts[:1])  # touches every weight: memory-mapped files are resident only once read
    gc.collect()  # what loading needed only briefly (a float skeleton, file buffers) is gone
    _return_freed_memory()
    loaded = _proc_status_bytes("VmRSS")
    classifier.predict_logits(texts)
    print(json.dumps({"runtime_rss_bytes": runtime, "loaded_rss_bytes": loaded,
                      "peak_rss_bytes": own_peak_rss_bytes()}))

"""ONNX Runtime against OpenVINO on the same int8 (or fp32) model of a run.

OpenVINO cannot read the graph tp serves (ONNX Runtime's fused contrib ops: QAttention,
QEmbedLayerNormalization), so both runtimes read the same plain export, quantized the same way
(tp.compression.onnx_export), and ONNX Runtime also runs tp's served, fused graph. All classify the same
test texts of the run, in interleaved rounds in one process with the same threads: batches padded to the
longest text (throughput) and one text a call (latency). The report gives each one's texts/s, p50 latency,
test accuracy and label agreement, and OpenVINO's ratio to the faster ONNX Runtime row; tp adopts OpenVINO
only when it is at least `ADOPT_AT` faster.
"""

from __future__ import annotations

import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ADOPT_AT = 1.20  # the bar: 20% faster or more
SERVED, PLAIN_ORT, PLAIN_OV = "onnxruntime, tp's fused graph", "onnxruntime, plain graph", "openvino, plain graph, f32"


def plain_graph(classifier: Any, quantize: str, folder: Path) -> Path:
    """The run's plain (unfused) ONNX export, int8 by ONNX Runtime's dynamic quantization when asked."""
    from tp.compression.onnx_export import export_onnx, quantize_onnx

    plain = folder / "plain.onnx"
    export_onnx(classifier.model, classifier.tokenizer, plain, classifier.max_length)
    if quantize != "int8":
        return plain
    quantize_onnx(plain, folder / "plain-int8.onnx")
    return folder / "plain-int8.onnx"


def onnxruntime_runner(model: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    names = {value.name for value in session.get_inputs()}
    return lambda feed: session.run(None, {k: v for k, v in feed.items() if k in names})[0]


def openvino_runner(model: Path, threads: int, precision: str | None) -> tuple[Any, str]:
    """OpenVINO's CPU plugin on `model`; `precision` None is its default, which is bf16 on CPUs with bf16
    instructions (AVX512_BF16, AMX): not the same arithmetic as ONNX Runtime's fp32. Returns (run, precision)."""
    import openvino

    core = openvino.Core()
    config = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
    if precision:
        config["INFERENCE_PRECISION_HINT"] = precision
    compiled = core.compile_model(str(model), "CPU", config)
    names = {port.any_name for port in compiled.inputs}
    request = compiled.create_infer_request()
    run = lambda feed: request.infer({k: v for k, v in feed.items() if k in names})[compiled.output(0)].copy()  # noqa: E731
    hint = compiled.get_property("INFERENCE_PRECISION_HINT")
    return run, hint.to_string() if hasattr(hint, "to_string") else str(hint)  # an openvino.Type: "f32", "bf16"


def encode(classifier: Any, texts: list[str], max_length: int) -> dict[str, np.ndarray]:
    """The runtimes' int64 inputs, tokenized as tp serves them (the run's truncation, padded together)."""
    from tp.compression.onnx_export import encode as encode_batch

    batch = encode_batch(classifier.model, classifier.tokenizer, texts, max_length, classifier.truncation)
    return {key: value.numpy().astype(np.int64) for key, value in batch.items()}


def measure(run: Any, batches: list[dict[str, np.ndarray]], singles: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    start = time.perf_counter()
    logits = np.concatenate([run(feed) for feed in batches])
    batch_s = time.perf_counter() - start
    latencies = []
    for feed in singles:
        start = time.perf_counter()
        run(feed)
        latencies.append(time.perf_counter() - start)
    return {"logits": logits, "batch_s": batch_s, "latencies": latencies}


def make_runners(served: Path, plain: Path, threads: int) -> tuple[dict[str, Any], str | None]:
    """ONNX Runtime on both graphs, OpenVINO (f32, and its default precision when that differs) on the plain
    one when installed; and the reason OpenVINO was left out, or None."""
    runners = {SERVED: onnxruntime_runner(served, threads), PLAIN_ORT: onnxruntime_runner(plain, threads)}
    if importlib.util.find_spec("openvino") is None:
        return runners, "openvino is not installed (pip install openvino): only ONNX Runtime was measured"
    runners[PLAIN_OV], _ = openvino_runner(plain, threads, "f32")
    default, precision = openvino_runner(plain, threads, None)
    if precision != "f32":  # a different arithmetic: reported beside, not compared as the same model
        runners[f"openvino, plain graph, its default {precision}"] = default
    return runners, None


def compare_runtimes(folder: Path, quantize: str, threads: int, batch_size: int, max_length: int,
                     texts_count: int, singles_count: int, rounds: int, cache_dir: Path) -> dict[str, Any]:
    from tp.compression.lab_data import load_lab_data, spread
    from tp.evaluation.metrics import cpu_record
    from tp.serving.onnx_serving import cached_export

    lab = load_lab_data(folder)
    texts, labels = spread(lab.splits["test"], texts_count)
    texts = list(texts)
    served = cached_export(folder, quantize, cache_dir, lambda: lab.classifier) / "model.onnx"
    batches = [encode(lab.classifier, texts[i:i + batch_size], max_length) for i in range(0, len(texts), batch_size)]
    singles = [encode(lab.classifier, [text], max_length) for text in texts[:singles_count]]
    with tempfile.TemporaryDirectory(prefix="tp-runtimes-") as tmp:  # the plain graphs: 110 MB for MiniLM
        runners, skipped = make_runners(served, plain_graph(lab.classifier, quantize, Path(tmp)), threads)
        for run in runners.values():  # warm-up: first-call allocations and kernel selection
            run(batches[0])
            run(singles[0])
        results: dict[str, list[dict[str, Any]]] = {name: [] for name in runners}
        for index in range(rounds):  # interleaved, alternating which runs first
            order = list(runners) if index % 2 == 0 else list(reversed(runners))
            for name in order:
                results[name].append(measure(runners[name], batches, singles))
    return summarise(results, labels, len(texts), {
        "model": str(folder), "served_onnx": str(served), "quantize": quantize, "threads": threads,
        "batch_size": batch_size, "max_length": max_length, "texts": len(texts), "rounds": rounds,
        "cpu": cpu_record(), "skipped": skipped})


def summarise(results: dict[str, list[dict[str, Any]]], labels: list[int], count: int,
              meta: dict[str, Any]) -> dict[str, Any]:
    rows, predictions = {}, {}
    for name, rounds in results.items():
        best = min(r["batch_s"] for r in rounds)  # the least disturbed round on a shared machine
        latencies = [value for r in rounds for value in r["latencies"]]
        predictions[name] = rounds[0]["logits"].argmax(-1)
        rows[name] = {"texts_per_s": count / best, "p50_ms": 1000 * float(np.median(latencies)),
                      "accuracy": float(np.mean(predictions[name] == np.asarray(labels)))}
    report = {**meta, "runtimes": rows}
    if PLAIN_OV in rows:
        best = max((SERVED, PLAIN_ORT), key=lambda name: rows[name]["texts_per_s"])
        report["openvino_vs_onnxruntime"] = {
            "against": best, "throughput": rows[PLAIN_OV]["texts_per_s"] / rows[best]["texts_per_s"],
            "p50": rows[PLAIN_OV]["p50_ms"] / rows[best]["p50_ms"],
            "same_labels": float(np.mean(predictions[PLAIN_OV] == predictions[best]))}
        faster = report["openvino_vs_onnxruntime"]["throughput"]
        report["verdict"] = (f"OpenVINO is {faster:.2f}x the throughput of {best}: "
                             + ("adopt it" if faster >= ADOPT_AT else f"under {ADOPT_AT:.2f}x, ONNX Runtime stays"))
    return report


def format_report(report: dict[str, Any]) -> str:
    from tp.evaluation.metrics import describe_cpu

    lines = [f"{report['model']} ({report['quantize']} ONNX graph), {report['texts']} test texts at "
             f"{report['max_length']} tokens, batch {report['batch_size']}, {report['threads']} thread(s), "
             f"{report['rounds']} interleaved rounds", describe_cpu(report["cpu"]),
             "| runtime | texts/s (batches) | p50 ms (one text) | test accuracy |", "|---|---|---|---|"]
    for name, row in report["runtimes"].items():
        lines.append(f"| {name} | {row['texts_per_s']:.1f} | {row['p50_ms']:.1f} | {100 * row['accuracy']:.2f}% |")
    if "verdict" in report:
        ratio = report["openvino_vs_onnxruntime"]
        lines.append(f"OpenVINO / {ratio['against']}: throughput {ratio['throughput']:.2f}x, p50 {ratio['p50']:.2f}x, "
                     f"same labels {100 * ratio['same_labels']:.1f}%. {report['verdict']}.")
    if report.get("skipped"):
        lines.append(report["skipped"])
    return "\n".join(lines)

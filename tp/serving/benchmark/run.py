"""Run the serving benchmark: tp's app (fp32 and int8) and the naive baseline, one after the other.

Each server starts in its own process on the same merged model folder, answers a cold-start probe,
a warm-up, then the measured load (the same texts, clients and request count for all). The batch
FLOP efficiency is measured in-process afterwards, when no server competes for the CPU.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

from tp.serving.benchmark.flops import batch_efficiency
from tp.serving.benchmark.load import run_load, wait_for_prediction
from tp.serving.process import ServerProcess, start_server, start_tp_app
from tp.serving.settings import DEFAULT_MODEL_DIR


@dataclass
class BenchmarkConfig:
    model: Path = DEFAULT_MODEL_DIR  # a run folder (adapter merged once into a temporary folder)
    clients: int = 32
    requests: int = 256
    warmup_requests: int = 32
    max_tokens: int = 256
    int8: bool = True


def bbc_test_texts() -> list[str]:
    """The BBC News test split (real articles, most longer than 256 tokens)."""
    from tp.config import DataConfig
    from tp.data import prepare_data

    return prepare_data(DataConfig()).splits["test"]["text"]


def write_merged_folder(run_folder: Path, out: Path) -> Path:
    """The run's model as a plain folder that stock `pipeline()` and `from_pretrained` load."""
    from tp.classifier import load_classifier

    classifier = load_classifier(run_folder)
    classifier.model.save_pretrained(out)
    classifier.tokenizer.save_pretrained(out)
    return out


def server_metrics(url: str) -> dict[str, float]:
    """Sums of tp's batch metrics from /metrics (all models)."""
    from prometheus_client.parser import text_string_to_metric_families

    wanted = {"tp_batch_size_count", "tp_batch_size_sum", "tp_batch_duration_seconds_sum", "tp_forward_tokens_total"}
    totals = dict.fromkeys(wanted, 0.0)
    for family in text_string_to_metric_families(httpx.get(f"{url}/api/v1/metrics").text):
        for sample in family.samples:
            if sample.name in wanted:
                totals[sample.name] += sample.value
    return totals


def measure_server(server: ServerProcess, predict_url: str, texts: list[str], cfg: BenchmarkConfig,
                   is_tp: bool) -> dict[str, Any]:
    """Cold start, warm-up, measured load (and tp's own batch statistics)."""
    try:
        cold = wait_for_prediction(predict_url, texts[0], server.started_at, server.process)
        run_load(predict_url, texts, cfg.clients, cfg.warmup_requests)
        before = server_metrics(server.url) if is_tp else {}
        load = run_load(predict_url, texts, cfg.clients, cfg.requests)
        after = server_metrics(server.url) if is_tp else {}
    finally:
        server.stop()
    result = {"cold_start_s": round(cold, 2), **load.summary()}
    if is_tp:
        delta = {key: after[key] - before[key] for key in after}
        batches = delta["tp_batch_size_count"] or 1
        result.update({"mean_batch_size": round(delta["tp_batch_size_sum"] / batches, 1),
                       "batch_seconds": round(delta["tp_batch_duration_seconds_sum"], 2),
                       "forward_tokens": int(delta["tp_forward_tokens_total"])})
    return result


def run_benchmark(cfg: BenchmarkConfig, log_dir: Path) -> dict[str, Any]:
    texts = bbc_test_texts()
    results: dict[str, Any] = {"config": {**asdict(cfg), "model": str(cfg.model)}, "texts": len(texts)}
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as tmp:
        merged = write_merged_folder(cfg.model, Path(tmp) / "merged")
        naive = start_server([sys.executable, "-m", "uvicorn", "tp.serving.benchmark.naive_app:app", "--host",
                              "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
                             {"NAIVE_MODEL_DIR": str(merged), "NAIVE_MAX_TOKENS": str(cfg.max_tokens)},
                             log_dir / "naive.log")
        results["naive"] = measure_server(naive, f"{naive.url}/predict", texts, cfg, is_tp=False)
        tp_env = {"TP_MODEL": str(merged), "TP_MAX_TOKENS": str(cfg.max_tokens), "TP_LOG_LEVEL": "warning"}
        variants = {"tp_fp32": {}, **({"tp_int8": {"TP_QUANTIZE": "int8"}} if cfg.int8 else {})}
        for name, extra in variants.items():
            server = start_tp_app({**tp_env, **extra}, log_dir / f"{name}.log")
            results[name] = measure_server(server, f"{server.url}/api/v1/predict", texts, cfg, is_tp=True)
        # the out-of-the-box start: `python app.py` on the shipped run folder (adapter merged at start-up)
        default = start_tp_app({"TP_MODEL": str(cfg.model), "TP_LOG_LEVEL": "warning"}, log_dir / "default.log")
        try:
            results["tp_default_cold_start_s"] = round(
                wait_for_prediction(f"{default.url}/api/v1/predict", texts[0], default.started_at, default.process), 2)
        finally:
            default.stop()
        results["fp32_batch"] = batch_efficiency(merged, texts, 32, cfg.max_tokens)
    add_ratios(results)
    return results


def add_ratios(results: dict[str, Any]) -> None:
    """tp / naive throughput and p95, and the FLOP efficiency of tp's fp32 batches as served."""
    naive = results["naive"]
    for name in ("tp_fp32", "tp_int8"):
        if name in results and naive["throughput_rps"]:
            results[name]["throughput_vs_naive"] = round(results[name]["throughput_rps"] / naive["throughput_rps"], 2)
            results[name]["p95_vs_naive"] = round(results[name]["p95_ms"] / naive["p95_ms"], 2)
    fp32, batch = results["tp_fp32"], results["fp32_batch"]
    if fp32.get("batch_seconds"):
        served = fp32["forward_tokens"] * batch["flops_per_token"] / fp32["batch_seconds"] / 1e9
        fp32["served_gflops"] = round(served, 1)
        fp32["served_efficiency"] = round(served / batch["matmul_peak_gflops"], 3)


def format_report(results: dict[str, Any]) -> str:
    rows = [f"{'server':<10} {'req/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'errors':>7} {'cold s':>7} {'x naive':>8}"]
    for name in ("naive", "tp_fp32", "tp_int8"):
        if name in results:
            r = results[name]
            rows.append(f"{name:<10} {r['throughput_rps']:>8.2f} {r['p50_ms']:>9.0f} {r['p95_ms']:>9.0f} "
                        f"{r['errors']:>7} {r['cold_start_s']:>7.1f} {r.get('throughput_vs_naive', 1.0):>8.2f}")
    batch, fp32 = results["fp32_batch"], results["tp_fp32"]
    rows.append(f"fp32 batch of {batch['batch_size']} x {batch['tokens_per_text']} tokens: "
                f"{batch['achieved_gflops']} GFLOP/s of a {batch['matmul_peak_gflops']} GFLOP/s matmul peak = "
                f"{batch['efficiency']:.0%} ({batch['threads']} threads)")
    if "served_efficiency" in fp32:
        rows.append(f"tp fp32 as served: mean batch {fp32['mean_batch_size']}, {fp32['served_gflops']} GFLOP/s = "
                    f"{fp32['served_efficiency']:.0%} of the peak")
    rows.append(f"cold start of `python app.py` (shipped adapter, merged at start-up): "
                f"{results['tp_default_cold_start_s']} s")
    return "\n".join(rows)

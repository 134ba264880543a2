"""Run the serving benchmark: tp's app (fp32 and int8) against the naive baseline.

Each server starts in its own process on the same merged model folder and answers a cold-start
probe and a warm-up; then all are driven with the same load (texts, clients, request count) in
interleaved rounds. The batch FLOP efficiency is measured in-process afterwards, with no server running.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tp.compression.gate_metric import gate_metric, metric_named
from tp.serving.benchmark.flops import batch_efficiency
from tp.serving.benchmark.load import LoadResult, run_load, wait_for_prediction
from tp.serving.process import ServerProcess, start_server, start_tp_app

SERVERS = ("naive", "tp_auto", "tp_fp32", "tp_int8", "tp_bf16", "tp_onnx_fp32", "tp_torch_int8")


@dataclass
class BenchmarkConfig:
    model: Path  # a run folder (adapter merged once into a temporary folder)
    clients: int = 32
    requests: int = 1024
    warmup_requests: int = 32
    max_tokens: int = 256
    int8: bool = True
    torch_reference: bool = True  # also fp32 on ONNX Runtime only and int8 on torch (what auto does not pick)
    rounds: int = 4  # the load is split into interleaved rounds across the servers
    tp_env: dict[str, str] = field(default_factory=dict)  # extra TP_ settings for tp's servers


def bbc_test_texts() -> list[str]:
    """The BBC News test split (real articles, most longer than 256 tokens)."""
    from tp.config import DataConfig
    from tp.data.prepare import prepare_data

    return prepare_data(DataConfig()).splits["test"]["text"]


def write_merged_folder(run_folder: Path, out: Path) -> Path:
    """The run's model as a plain folder that stock `pipeline()` and `from_pretrained` load."""
    from tp.models.loading import load_classifier

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


@dataclass
class Target:
    """One running server under test, and what was measured on it."""

    name: str
    server: ServerProcess
    predict_url: str
    is_tp: bool
    cold_start_s: float = 0.0
    loads: list[LoadResult] = field(default_factory=list)
    metrics_before: dict[str, float] = field(default_factory=dict)
    served: dict[str, Any] = field(default_factory=dict)  # what /models says of the model it serves


def final_runtime(env: dict[str, str]) -> str:
    """What runs a tp server's batches once it has settled (TP_BACKEND=auto moves fp32 to torch in the background)."""
    backend, quantize = env.get("TP_BACKEND", "auto"), env.get("TP_QUANTIZE", "none")
    return "onnxruntime" if backend == "onnx" or (backend == "auto" and quantize == "int8") else "torch"


def wait_for_runtime(url: str, runtime: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while httpx.get(f"{url}/api/v1/models").json()["models"][0]["runtime"] != runtime:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the server did not move its batches to {runtime} within {timeout:.0f} s")
        time.sleep(0.5)


def start_target(name: str, server: ServerProcess, path: str, texts: list[str], cfg: BenchmarkConfig,
                 is_tp: bool, runtime: str | None = None) -> Target:
    """Wait for the first prediction (the cold start, measured while the other servers idle), warm up; a tp
    server is measured once its batches run on `runtime`."""
    target = Target(name, server, f"{server.url}{path}", is_tp)
    try:
        target.cold_start_s = wait_for_prediction(target.predict_url, texts[0], server.started_at, server.process)
        if is_tp:
            target.served = httpx.get(f"{server.url}/api/v1/models").json()["models"][0]
        if runtime == "auto":  # TP_VARIANT=auto: a variant runs as it is; the run's own fp32 weights settle on torch
            runtime = None if target.served.get("variant") else "torch"
        if runtime:
            wait_for_runtime(server.url, runtime)
        run_load(target.predict_url, texts, cfg.clients, cfg.warmup_requests)
        target.metrics_before = server_metrics(server.url) if is_tp else {}
    except Exception as error:
        server.stop()
        raise RuntimeError(f"{name} failed: {error}\n{server.log()[-3000:]}") from error
    return target


def summarise(target: Target) -> dict[str, Any]:
    loads = target.loads
    merged = LoadResult(sum(r.requests for r in loads), sum(r.errors for r in loads), sum(r.seconds for r in loads),
                        [x for r in loads for x in r.latencies], [e for r in loads for e in r.error_samples])
    result = {"cold_start_s": round(target.cold_start_s, 2), **merged.summary(),
              "rounds_rps": [round(r.throughput, 2) for r in loads]}
    if target.served.get("variant_reason"):
        key = gate_metric(target.served.get("problem_type")).key  # what the variant was gated on
        result.update({"variant": target.served.get("variant"), "variant_reason": target.served["variant_reason"],
                       "gate_metric": key, f"test_{key}": target.served["metrics"].get(f"test_{key}")})
    if target.is_tp:
        after = server_metrics(target.server.url)
        delta = {key: after[key] - target.metrics_before[key] for key in after}
        batches = delta["tp_batch_size_count"] or 1
        result.update({"mean_batch_size": round(delta["tp_batch_size_sum"] / batches, 1),
                       "batch_seconds": round(delta["tp_batch_duration_seconds_sum"], 2),
                       "forward_tokens": int(delta["tp_forward_tokens_total"])})
    return result


def rebuild_default_variant(cfg: BenchmarkConfig) -> dict[str, Any] | None:
    """A fresh clone's first start rebuilds the lab's quick variant in the background and then serves it
    (tp.serving.variant_rebuild): do it first, so that tp_auto measures what the defaults serve from then on,
    not fp32 with that rebuild competing for the CPU."""
    from tp.serving.auto_variant import choose_variant
    from tp.serving.variant_rebuild import rebuild

    if cfg.tp_env.get("TP_VARIANT", "auto") != "auto":
        return None
    choice = choose_variant(cfg.model, "auto", "cpu", "none")
    if not choice.rebuild:
        return None
    print(f"rebuilding variant {choice.rebuild} of {cfg.model} first, as a first start does in the background ...")
    record = rebuild(cfg.model, choice.rebuild)
    key = metric_named(record["gate"].get("metric")).key  # accuracy, micro_f1 or rmse
    return {"name": choice.rebuild, "status": record["status"], key: record["measurements"][key]}


def run_benchmark(cfg: BenchmarkConfig, log_dir: Path) -> dict[str, Any]:
    """Start every server, then drive them in interleaved rounds, so that load from other processes on a
    shared machine falls on all of them alike rather than on whichever ran last."""
    from tp.evaluation.metrics import cpu_record

    texts = bbc_test_texts()
    results: dict[str, Any] = {"config": {**asdict(cfg), "model": str(cfg.model)}, "texts": len(texts),
                               "environment": cpu_record()}
    if rebuilt := rebuild_default_variant(cfg):
        results["rebuilt_variant"] = rebuilt
    targets: list[Target] = []
    with tempfile.TemporaryDirectory(prefix="tp-bench-") as tmp:
        merged = write_merged_folder(cfg.model, Path(tmp) / "merged")
        try:
            naive = start_server([sys.executable, "-m", "uvicorn", "tp.serving.benchmark.naive_app:app", "--host",
                                  "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
                                 {"NAIVE_MODEL_DIR": str(merged), "NAIVE_MAX_TOKENS": str(cfg.max_tokens)},
                                 log_dir / "naive.log")
            targets.append(start_target("naive", naive, "/predict", texts, cfg, is_tp=False))
            # an empty ONNX cache: the cold starts of tp's servers below include their one-off export
            tp_env = {"TP_MODEL": str(merged), "TP_MAX_TOKENS": str(cfg.max_tokens), "TP_LOG_LEVEL": "warning",
                      "TP_CACHE_DIR": str(Path(tmp) / "cache"), **cfg.tp_env}
            for name, extra in tp_servers(cfg).items():
                server = start_tp_app({**tp_env, **extra}, log_dir / f"{name}.log")
                targets.append(start_target(name, server, "/api/v1/predict", texts, cfg, is_tp=True,
                                            runtime="auto" if name == "tp_auto" else final_runtime(extra)))
            per_round = max(1, cfg.requests // cfg.rounds)
            for round_index in range(cfg.rounds):
                batch = texts[round_index * per_round:] + texts[:round_index * per_round]  # fresh texts per round
                order = targets[round_index % len(targets):] + targets[:round_index % len(targets)]
                for target in order:
                    target.loads.append(run_load(target.predict_url, batch, cfg.clients, per_round))
            results.update({target.name: summarise(target) for target in targets})
        finally:
            for target in targets:
                target.server.stop()
        results.update(default_cold_starts(cfg, texts[0], Path(tmp) / "default-cache", log_dir))
        exports = sorted((Path(tmp) / "cache" / "onnx").glob("*-none/model.onnx"))
        results["fp32_batch"] = batch_efficiency(merged, texts, 32, cfg.max_tokens)
        if exports:
            results["fp32_batch_onnx"] = batch_efficiency(merged, texts, 32, cfg.max_tokens, onnx=exports[0])
            # what each of tp's two CPU batch workers runs: one thread, a share of the burst
            results["fp32_batch_onnx_1_thread"] = batch_efficiency(merged, texts, 16, cfg.max_tokens, threads=1,
                                                                  onnx=exports[0])
    add_ratios(results)
    results["goals"] = goal_checks(results)
    return results


def tp_servers(cfg: BenchmarkConfig) -> dict[str, dict[str, str]]:
    """tp's servers under test and their extra settings: all defaults on the run folder itself (TP_VARIANT=auto
    serves its fastest accepted variant if `tp optimize` measured one on this CPU), then the merged fp32 model
    with tp's default runtime (ONNX Runtime on a CPU, then torch) and its precisions, and torch."""
    servers = {"tp_auto": {"TP_MODEL": str(cfg.model)}, "tp_fp32": {}, "tp_int8": {"TP_QUANTIZE": "int8"},
               "tp_bf16": {"TP_QUANTIZE": "bf16"}}
    if cfg.torch_reference:  # the runtimes auto did not pick for that precision
        servers |= {"tp_onnx_fp32": {"TP_BACKEND": "onnx"},
                    "tp_torch_int8": {"TP_BACKEND": "torch", "TP_QUANTIZE": "int8"}}
    return {name: env for name, env in servers.items() if cfg.int8 or env.get("TP_QUANTIZE") != "int8"}


def default_cold_starts(cfg: BenchmarkConfig, text: str, cache: Path, log_dir: Path) -> dict[str, float]:
    """`python app.py` on the run folder (the shipped one by default; its adapter merged at start-up): the first
    start (empty ONNX cache: the export included), a later start, the same without the Gradio demo
    (TP_DEMO=false), and with TP_BACKEND=torch."""
    starts = {"tp_default_first_start_s": {}, "tp_default_cold_start_s": {},
              "tp_api_only_cold_start_s": {"TP_DEMO": "false"}, "tp_torch_cold_start_s": {"TP_BACKEND": "torch"}}
    results = {}
    for key, extra in starts.items():
        server = start_tp_app({"TP_MODEL": str(cfg.model), "TP_LOG_LEVEL": "warning", "TP_CACHE_DIR": str(cache),
                               **extra}, log_dir / f"{key}.log")
        try:
            results[key] = round(wait_for_prediction(f"{server.url}/api/v1/predict", text, server.started_at,
                                                     server.process), 2)
        finally:
            server.stop()
    return results


def add_ratios(results: dict[str, Any]) -> None:
    """tp / naive throughput and p95, and the FLOP efficiency of tp's fp32 batches as served."""
    naive = results["naive"]
    for name in SERVERS[1:]:
        if name in results and naive["throughput_rps"]:
            results[name]["throughput_vs_naive"] = round(results[name]["throughput_rps"] / naive["throughput_rps"], 2)
            results[name]["p95_vs_naive"] = round(results[name]["p95_ms"] / naive["p95_ms"], 2)
    batch = results["fp32_batch"]
    for fp32 in (results[name] for name in ("tp_fp32", "tp_onnx_fp32") if name in results):
        if fp32.get("seconds"):  # model FLOPs over the load's wall time (batches may overlap in time)
            served = fp32["forward_tokens"] * batch["flops_per_token"] / fp32["seconds"] / 1e9
            fp32["served_gflops"] = round(served, 1)
            fp32["served_efficiency"] = round(served / batch["matmul_peak_gflops"], 3)


GOAL_RATIO, GOAL_EFFICIENCY, GOAL_COLD_START_S = 4.0, 0.70, 10.0  # issue 3's targets
GOAL_DEFAULT_P95 = 0.5  # issue 15: all defaults, >= 4x naive throughput at half its p95


def default_goal(auto: dict[str, Any]) -> dict[str, Any]:
    """All defaults on the run folder (TP_VARIANT=auto): the throughput and p95 goal, with what answered."""
    ratio, p95 = auto.get("throughput_vs_naive", 0.0), auto.get("p95_vs_naive", float("inf"))
    metric = metric_named(auto.get("gate_metric"))
    served = (f"{auto['variant']}, test {metric.title} {metric.show(auto[f'test_{metric.key}'])}"
              if auto.get("variant") else "the run's own fp32 weights")
    return {"goal": f"defaults: >= {GOAL_RATIO:g}x naive throughput, p95 <= {GOAL_DEFAULT_P95:g}x",
            "measured": f"{ratio:.2f}x, p95 {p95:.2f}x ({served})",
            "met": ratio >= GOAL_RATIO and p95 <= GOAL_DEFAULT_P95}


def goal_checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each serving goal, the figure measured for it in this run, and whether it was met.

    Throughput counts the fastest tp server whose p95 latency is no worse than the naive server's."""
    fair = [name for name in SERVERS[1:] if name in results and results[name].get("p95_vs_naive", float("inf")) <= 1.0]
    best = max(fair, key=lambda name: results[name]["throughput_vs_naive"], default=None)
    ratio = results[best]["throughput_vs_naive"] if best else 0.0
    efficiency = max(results[key]["efficiency"] for key in ("fp32_batch", "fp32_batch_onnx") if key in results)
    cold = results["tp_default_cold_start_s"]
    return [default_goal(results.get("tp_auto") or {}),
        {"goal": f">= {GOAL_RATIO:g}x naive throughput, p95 no worse", "measured": f"{ratio:.2f}x ({best})",
         "met": ratio >= GOAL_RATIO},
        {"goal": f">= {GOAL_EFFICIENCY:.0%} FLOP efficiency, fp32 batch", "measured": f"{efficiency:.1%}",
         "met": efficiency >= GOAL_EFFICIENCY},
        {"goal": f"cold start <= {GOAL_COLD_START_S:g} s", "measured": f"{cold} s", "met": cold <= GOAL_COLD_START_S},
    ]


def format_report(results: dict[str, Any]) -> str:
    from tp.evaluation.metrics import describe_cpu

    rows = [describe_cpu(results["environment"]),
            f"{'server':<14} {'req/s':>8} {'p50 ms':>9} {'p95 ms':>9} {'errors':>7} {'cold s':>7} {'x naive':>8}"]
    names = [name for name in SERVERS if name in results]
    for name in names:
        r = results[name]
        rows.append(f"{name:<14} {r['throughput_rps']:>8.2f} {r['p50_ms']:>9.0f} {r['p95_ms']:>9.0f} "
                    f"{r['errors']:>7} {r['cold_start_s']:>7.1f} {r.get('throughput_vs_naive', 1.0):>8.2f}")
    if reason := results.get("tp_auto", {}).get("variant_reason"):
        rows.append(f"tp_auto: all defaults on the run folder itself; {reason}")
    rows.append("(measured once settled: tp_fp32 on torch, tp_int8 on ONNX Runtime, tp_bf16 on torch; cold s of "
                "a server that starts on ONNX Runtime includes its one-off export)")
    rows.append("per-round req/s (interleaved): "
                + "; ".join(f"{name} {results[name]['rounds_rps']}" for name in names))
    for key in ("fp32_batch", "fp32_batch_onnx", "fp32_batch_onnx_1_thread"):
        if one := results.get(key):
            rows.append(f"fp32 batch of {one['batch_size']} x {one['tokens_per_text']} tokens on {one['runtime']}: "
                        f"{one['achieved_gflops']} GFLOP/s of a {one['matmul_peak_gflops']} GFLOP/s matmul peak = "
                        f"{one['efficiency']:.0%} ({one['threads']} thread{'s' if one['threads'] > 1 else ''})")
    for name in ("tp_fp32", "tp_onnx_fp32"):
        if "served_efficiency" in results.get(name, {}):
            fp32 = results[name]
            rows.append(f"{name} as served: mean batch {fp32['mean_batch_size']}, {fp32['served_gflops']} GFLOP/s of "
                        f"model FLOPs over the load's wall time = {fp32['served_efficiency']:.0%} of the peak")
    served = f", serving {results['tp_auto']['variant']}" if results.get("tp_auto", {}).get("variant") else ""
    rows.append(f"cold start of `python app.py` on the run folder{served}: first start (empty ONNX cache) "
                f"{results['tp_default_first_start_s']} s, later starts {results['tp_default_cold_start_s']} s, "
                f"with TP_DEMO=false {results['tp_api_only_cold_start_s']} s, with TP_BACKEND=torch "
                f"{results['tp_torch_cold_start_s']} s")
    rows += [f"goal {'met    ' if check['met'] else 'NOT met'}: {check['goal']}: {check['measured']}"
             for check in results["goals"]]
    return "\n".join(rows)

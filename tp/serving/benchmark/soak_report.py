"""Run a soak against tp's app on the given models, then judge it: memory, errors and latency after warm-up.

Goals (issue 16): after warm-up, RSS within +5% to the end; no answer but the intended 4xx (and 429/503,
which say "retry"); p95 steady (the last third's median window p95 within 1.5x of the first third's).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import httpx

from tp.evaluation.metrics import cpu_record, describe_cpu
from tp.serving.benchmark.soak import SoakConfig, request_mix, run_soak
from tp.serving.process import start_tp_app

GOAL_RSS_GROWTH, GOAL_P95_DRIFT = 0.05, 1.5
SERVER_COUNTERS = ("tp_cancelled_inputs_total", "tp_rejected_requests_total", "tp_predictions_total",
                   "tp_admission_rejected_total", "tp_model_failures_total", "tp_request_timeouts_total")


def scraper(url: str) -> Any:
    """A function returning tp's counters (summed over models) from the server's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    def scrape() -> dict[str, float]:
        totals = dict.fromkeys(SERVER_COUNTERS, 0.0)
        try:
            text = httpx.get(f"{url}/metrics", timeout=30).text
        except httpx.HTTPError:
            return {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name in totals:
                    totals[sample.name] += sample.value
        return totals
    return scrape


def soak_inputs(text_folder: Path, image_folder: Path | None) -> tuple[list[str], list[bytes]]:
    """BBC News test texts (real articles) and the image model's shipped example images."""
    from tp.serving.benchmark.run import bbc_test_texts

    images = sorted((image_folder / "examples").glob("*.png")) if image_folder else []
    return bbc_test_texts(), [path.read_bytes() for path in images]


def run_soak_benchmark(models: dict[str, Path], cfg: SoakConfig, log: Path,
                       env: dict[str, str] | None = None) -> dict[str, Any]:
    """`tp serve` on `models` (the first is a text model; an image model is the one whose tp.json says so)
    with its default settings, driven by the soak mix; the report with its verdict."""
    from tp.models.loading import folder_task
    from tp.tasks import task_named

    image = next((name for name, folder in models.items() if task_named(folder_task(folder)).is_image), None)
    text = next(name for name in models if name != image)
    texts, images = soak_inputs(models[text], models[image] if image else None)
    # TP_VARIANT=none unless asked: a variant rebuilt and swapped in mid-soak would be a change of model, not a leak
    server = start_tp_app({"TP_MODELS": ",".join(f"{name}={folder}" for name, folder in models.items()),
                           "TP_LOG_LEVEL": "warning", "TP_VARIANT": "none", **(env or {})}, log)
    try:
        server.wait_until("/api/v1/ready", 300)
        served = {model["name"]: model for model in httpx.get(f"{server.url}/api/v1/models").json()["models"]}
        kinds = request_mix(server.url, texts, images, text, image, int(served[text]["limits"]["max_chars"]))
        result = run_soak(server.url, server.process.pid, kinds, cfg, scraper(server.url))
    finally:
        code = server.stop(timeout=60)
    result.update({"config": {**cfg.__dict__, "models": {k: str(v) for k, v in models.items()}, **(env or {})},
                   "environment": cpu_record(env),
                   "mix": {kind.name: kind.weight for kind in kinds}, "exit_code": code})
    result["summary"] = summarise(result)
    result["goals"] = goal_checks(result["summary"], result["unexpected"])
    return result


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else float("nan")


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Totals by kind and status, and memory, descriptors, threads and p95 before and after warm-up (the
    first fifth of the run, at most 5 minutes, when the allocator and the caches settle).

    RSS is judged on whole windows as long as the warm-up, the first after it against the last: their
    medians (the level) and their peaks. A single sample lands anywhere on the sawtooth between two
    malloc_trim calls (a minute apart, tens of MB deep), so comparing a few samples measures the phase."""
    samples = result["samples"]
    end_t = samples[-1]["t_s"]
    warm_t = min(300.0, end_t / 5)
    after = [s for s in samples if s["t_s"] >= warm_t] or samples[-1:]
    head, tail = after[: max(1, len(after) // 3)], after[-max(1, len(after) // 3):]
    totals: dict[str, dict[str, int]] = {}
    for sample in samples:
        for kind, counts in sample["statuses"].items():
            for status, count in counts.items():
                totals.setdefault(kind, {})[status] = totals.setdefault(kind, {}).get(status, 0) + count
    first_window = [s["rss_mb"] for s in after if s["t_s"] < 2 * warm_t]
    last_window = [s["rss_mb"] for s in after if s["t_s"] > end_t - warm_t]
    rss_warm, rss_end = _median(first_window), _median(last_window)

    def p95(window: list[dict[str, Any]], kind: str) -> float:
        return _median([s["p95_ms"][kind] for s in window if kind in s["p95_ms"]])

    latency_kinds = sorted({kind for s in after for kind in s["p95_ms"]})
    counters = {name: samples[-1].get(name, 0.0) - samples[0].get(name, 0.0) for name in SERVER_COUNTERS}
    return {
        "seconds": end_t, "requests": result["requests"], "requests_per_s": round(result["requests"] / end_t, 1),
        "warmup_s": round(warm_t, 1), "by_kind": totals, "server_counters": counters,
        "rss_mb": {"start": samples[0]["rss_mb"], "after_warmup": rss_warm, "end": rss_end,
                   "peak_after_warmup": max(first_window), "peak_end": max(last_window),
                   "max": max(s["rss_mb"] for s in samples)},
        "rss_growth_after_warmup": round(rss_end / rss_warm - 1, 4) if rss_warm else None,
        "rss_peak_growth_after_warmup": round(max(last_window) / max(first_window) - 1, 4),
        "fds": {"after_warmup": head[0]["fds"], "end": samples[-1]["fds"], "max": max(s["fds"] for s in samples)},
        "threads": {"after_warmup": head[0]["threads"], "end": samples[-1]["threads"],
                    "max": max(s["threads"] for s in samples)},
        "p95_ms_first_third": {kind: p95(head, kind) for kind in latency_kinds},
        "p95_ms_last_third": {kind: p95(tail, kind) for kind in latency_kinds},
    }


def goal_checks(summary: dict[str, Any], unexpected: int) -> list[dict[str, Any]]:
    growth, peak_growth = summary["rss_growth_after_warmup"], summary.get("rss_peak_growth_after_warmup")
    rss = summary["rss_mb"]
    first, last = summary["p95_ms_first_third"], summary["p95_ms_last_third"]
    drift = {kind: round(last[kind] / first[kind], 2) for kind in first if first[kind] and last.get(kind)}
    worst = max(drift, key=drift.get, default=None)
    return [
        {"goal": f"RSS after warm-up within +{GOAL_RSS_GROWTH:.0%} (window medians; peaks shown)", "measured":
            f"median {rss['after_warmup']} -> {rss['end']} MB ({growth:+.1%}); peak "
            f"{rss.get('peak_after_warmup')} -> {rss.get('peak_end')} MB ({(peak_growth or 0):+.1%})",
         "met": growth is not None and growth <= GOAL_RSS_GROWTH},
        {"goal": "no answer but the intended 4xx, 429 or 503", "measured": f"{unexpected} unexpected",
         "met": unexpected == 0},
        {"goal": f"p95 steady (last third <= {GOAL_P95_DRIFT:g}x first third, each kind)",
         "measured": f"worst {worst} {drift.get(worst)}x" if worst else "no latencies", "met":
            bool(drift) and max(drift.values()) <= GOAL_P95_DRIFT},
    ]


def format_report(result: dict[str, Any]) -> str:
    s = result["summary"]
    rows = [describe_cpu(result["environment"]) if "environment" in result else "CPU: not recorded",
            f"soak: {s['requests']} requests in {s['seconds'] / 60:.1f} min ({s['requests_per_s']} req/s), "
            f"{result['config']['clients']} clients; warm-up {s['warmup_s']:.0f} s",
            f"RSS MB: start {s['rss_mb']['start']}, after warm-up {s['rss_mb']['after_warmup']}, end "
            f"{s['rss_mb']['end']}, max {s['rss_mb']['max']}; fds {s['fds']}; threads {s['threads']}",
            "server counters: " + ", ".join(f"{k.removeprefix('tp_')} {v:g}" for k, v in s["server_counters"].items()),
            f"{'kind':<14} {'answers':<40} {'p95 ms first/last third':>24}"]
    for kind, counts in sorted(s["by_kind"].items()):
        first, last = s["p95_ms_first_third"].get(kind), s["p95_ms_last_third"].get(kind)
        shown = ", ".join(f"{status}: {count}" for status, count in sorted(counts.items()))
        rows.append(f"{kind:<14} {shown:<40} {f'{first} / {last}' if first is not None else '':>24}")
    rows += [f"goal {'met    ' if check['met'] else 'NOT met'}: {check['goal']}: {check['measured']}"
             for check in result["goals"]]
    rows += [f"unexpected: {line}" for line in result["unexpected_samples"][:5]]
    return "\n".join(rows)


def plot_soak(result: dict[str, Any], path: Path) -> Path:
    """RSS, descriptors and threads, and each kind's window p95, over the run."""
    from tp.evaluation.reports import pyplot, save_figure

    plt = pyplot()
    samples = result["samples"]
    minutes = [s["t_s"] / 60 for s in samples]
    fig, (memory, handles, latency) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    memory.plot(minutes, [s["rss_mb"] for s in samples], color="tab:blue")
    memory.axvline(result["summary"]["warmup_s"] / 60, color="grey", linestyle=":", label="end of warm-up")
    memory.set_ylabel("RSS (MB)")
    memory.legend(loc="lower right")
    handles.plot(minutes, [s["fds"] for s in samples], label="open file descriptors")
    handles.plot(minutes, [s["threads"] for s in samples], label="threads")
    handles.legend(loc="upper left")
    for kind in sorted({kind for s in samples for kind in s["p95_ms"]}):
        points = [(s["t_s"] / 60, s["p95_ms"][kind]) for s in samples if kind in s["p95_ms"]]
        latency.plot(*zip(*points, strict=True), label=kind, linewidth=1)
    latency.set_ylabel("p95 per window (ms)")
    latency.set_yscale("log")
    latency.set_xlabel("minutes")
    latency.legend(loc="upper left", fontsize="small", ncol=3)
    fig.suptitle(f"tp soak: {result['summary']['requests']} requests, {result['config']['clients']} clients")
    return save_figure(fig, path)

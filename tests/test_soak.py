"""The serving benchmark's soak: its verdict on memory, errors and latency, and (slow) a short real run."""

from __future__ import annotations

from pathlib import Path

import pytest
from shipped import IMAGE_MODEL, TEXT_MODEL

from tp.serving.benchmark.soak import SoakConfig
from tp.serving.benchmark.soak_report import format_report, goal_checks, plot_soak, run_soak_benchmark, summarise


def samples(rss: list[float], p95: list[float]) -> list[dict]:
    """One sample a minute: RSS, and one kind's p95."""
    return [{"t_s": 60.0 * i, "sent": 1000 * i, "rss_mb": mb, "fds": 20, "threads": 22,
             "statuses": {"short_text": {"200": 1000}}, "p50_ms": {"short_text": ms / 2}, "p95_ms": {"short_text": ms}}
            for i, (mb, ms) in enumerate(zip(rss, p95, strict=True))]


def verdict(rss: list[float], p95: list[float], unexpected: int = 0) -> list[bool]:
    result = {"samples": samples(rss, p95), "requests": 1000 * (len(rss) - 1)}
    return [check["met"] for check in goal_checks(summarise(result), unexpected)]


def test_warm_up_growth_is_forgiven_creep_after_it_is_not() -> None:
    warming = [600, 900, 1000, 1050, 1080, 1090]  # the first 5 minutes: warm-up
    assert verdict(warming + [1090] * 25, [100.0] * 31) == [True, True, True]
    creeping = warming + [1090 + 8 * i for i in range(25)]  # +18% over the next 25 minutes
    assert verdict(creeping, [100.0] * 31) == [False, True, True]
    assert verdict(warming + [1090] * 25, [100.0] * 31, unexpected=1) == [True, False, True]
    slower = [100.0] * 16 + [200.0] * 15  # p95 doubled in the last third
    assert verdict(warming + [1090] * 25, slower) == [True, True, False]


def test_memory_is_judged_on_window_levels_not_on_where_samples_land_in_the_trim_sawtooth() -> None:
    warming = [600, 900, 1000, 1050, 1080]  # the first 5 minutes
    sawtooth = [1000, 1000, 1000, 1070, 1070] * 5 + [1000]  # flat: malloc_trim drops 70 MB every 5 minutes
    assert verdict(warming + sawtooth, [100.0] * 31) == [True, True, True]
    summary = summarise({"samples": samples(warming + sawtooth, [100.0] * 31), "requests": 30000})
    assert summary["rss_mb"]["after_warmup"] == summary["rss_mb"]["end"] == 1000
    assert summary["rss_mb"]["peak_after_warmup"] == summary["rss_mb"]["peak_end"] == 1070
    assert verdict(warming + [x + 60 * (i // 5) for i, x in enumerate(sawtooth)], [100.0] * 31)[0] is False


@pytest.mark.slow
def test_a_short_soak_of_the_shipped_models(tmp_path: Path) -> None:
    result = run_soak_benchmark({"bbc-news-minilm": TEXT_MODEL, "digits-vit": IMAGE_MODEL},
                                SoakConfig(minutes=0.5, sample_s=5), tmp_path / "server.log")
    summary = result["summary"]
    assert result["unexpected"] == 0, result["unexpected_samples"]
    assert summary["requests"] > 100 and result["exit_code"] in (0, -15)
    assert {"short_text", "long_text", "image", "explain_text", "disconnect"} <= set(summary["by_kind"])
    assert set(summary["by_kind"]["bad_400_1"]) == {"400"}  # not UTF-8: 400, never a 5xx
    assert summary["server_counters"]["tp_model_failures_total"] == 0
    assert "goal" in format_report(result) and format_report(result).startswith("CPU: ")
    assert plot_soak(result, tmp_path / "soak.png").stat().st_size > 10_000


def test_reports_name_the_cpu_and_its_isa() -> None:
    from tp.evaluation.metrics import cpu_name, cpu_record, describe_cpu

    line = describe_cpu(cpu_record())
    assert line.startswith(f"CPU: {cpu_name()} (") and "torch " in line
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").is_file() else ""
    if " avx2" in flags:
        assert "avx2" in line
        # a server started with torch's ISA capped reports the capped ISA, not the driver's
        assert cpu_record({"ATEN_CPU_CAPABILITY": "avx2"})["torch_cpu_capability"] == "AVX2"

"""The lab's plot: size vs the gate's metric (accuracy, micro-F1 or RMSE), its speed frontier, batch-1 latency."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tp.compression.gate_metric import ACCURACY, GateMetric
from tp.evaluation.reports import pyplot, save_figure


def frontier(table: list[dict[str, Any]]) -> list[int]:
    """Rows no other row beats on both the gate's metric (`better`: RMSE negated) and batch-32 throughput,
    fastest last."""
    def beaten(r: dict[str, Any]) -> bool:
        return any(o["better"] >= r["better"] and o["throughput"] >= r["throughput"]
                   and (o["better"] > r["better"] or o["throughput"] > r["throughput"]) for o in table)
    return sorted((i for i, r in enumerate(table) if not beaten(r)), key=lambda i: table[i]["throughput"])


def _color(row: dict[str, Any]) -> str:
    return {"baseline": "black", "rejected": "red"}.get(row["status"], "tab:blue")


def _y(value: float, metric: GateMetric) -> float:
    return value if metric.relative else value * 100  # RMSE in the targets' units; scores in %


def _points(axis: Any, table: list[dict[str, Any]], x: str, max_drop: float | None, metric: GateMetric) -> None:
    for i, r in enumerate(table):
        y = _y(r["score"], metric)
        axis.scatter(r[x], y, color=_color(r), marker="x" if r["status"] == "rejected" else "o")
        axis.annotate(r["label"], (r[x], y), textcoords="offset points",
                      xytext=(4, 6 if i % 2 else -12), fontsize=7)  # alternate, so equal accuracies stay legible
    if max_drop is not None:
        base = table[0]["score"]
        limit = base * (1 + max_drop / 100) if metric.relative else (base - max_drop / 100) * 100
        words = f"+{max_drop:g}%" if metric.relative else f"-{max_drop:g} point{'' if max_drop == 1 else 's'}"
        axis.axhline(limit, color="red", linestyle="--", linewidth=1)
        axis.annotate(f"gate: {words}", (0, limit), xycoords=("axes fraction", "data"), textcoords="offset points",
                      xytext=(4, 3), fontsize=8, color="red")
    axis.set_ylabel(f"test {metric.title}" + (" (lower is better)" if metric.relative else " (%)"))


def plot_compression(table: list[dict[str, Any]], path: Path, max_drop: float | None = None,
                     metric: GateMetric = ACCURACY) -> Path:
    """Left: size on disk vs the gate's metric; middle: throughput vs it with the frontier; right: latency."""
    plt = pyplot()
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(19, 5.2))
    _points(left, table, "size_mb", max_drop, metric)
    left.set_xlabel("size on disk (MB)")
    left.set_title(f"size vs {metric.title} (red x: rejected by the gate)")
    _points(middle, table, "throughput_ratio", max_drop, metric)
    best = frontier(table)
    xs, ys = [table[i]["throughput_ratio"] for i in best], [_y(table[i]["score"], metric) for i in best]
    middle.step(xs, ys, where="pre", color="tab:green", linewidth=1.2)
    middle.scatter(xs, ys, s=220, facecolors="none", edgecolors="tab:green", linewidths=1.5,
                   label="frontier: nothing else is as accurate and faster")
    middle.legend(loc="lower right", fontsize=8)
    middle.set_xlabel("batch-32 throughput vs fp32 (x)")
    middle.set_title(f"{metric.title}-speed frontier")
    labels = [r["label"] for r in table]
    p50 = [r["latency_p50_ms"] for r in table]
    p95 = [max(0.0, r["latency_p95_ms"] - r["latency_p50_ms"]) for r in table]
    right.barh(labels, p50, xerr=[[0] * len(p50), p95], color=[_color(r) for r in table], alpha=0.8)
    for y, r in enumerate(table):
        right.annotate(f"{r['latency_ratio']:.2f}x", (r["latency_p50_ms"], y), textcoords="offset points",
                       xytext=(4, -12), fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("batch-1 latency, ms (bar: p50, whisker: p95)")
    right.set_title("CPU latency")
    fig.tight_layout()
    return save_figure(fig, path)

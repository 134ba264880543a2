"""What a search leaves in its winning run folder: every trial in reports/search.{json,md,png}, a summary in
metrics.json (`search`), and the model card written again to show it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def search_table(rows: list[dict[str, Any]], winner: int) -> str:
    """Markdown: one row per trial, the winner in bold, the defaults marked."""
    lines = ["| trial | method | learning rate | epochs | class weights | validation macro-F1 | steps | seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        name = f"{row['trial']}{' (defaults)' if row['defaults'] else ''}"
        f1 = "n/a" if row["validation_macro_f1"] is None else f"{row['validation_macro_f1']:.4f}"
        cells = [name, row["method"], f"{row['learning_rate']:.2g}", f"{row['epochs']:g}", row["class_weights"],
                 f1, str(row["steps"]), f"{row['seconds']:.0f}"]
        if row["trial"] == winner:
            cells = [f"**{cell}**" for cell in cells]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_search(rows: list[dict[str, Any]], winner: int, path: Path) -> Path:
    """Validation macro-F1 per trial, coloured by method, the winner ringed."""
    from tp.evaluation.reports import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, colour in (("lora", "tab:blue"), ("full", "tab:orange")):
        points = [(r["trial"], r["validation_macro_f1"]) for r in rows
                  if r["method"] == method and r["validation_macro_f1"] is not None]
        if points:
            ax.scatter(*zip(*points, strict=True), color=colour, label=method, zorder=3)
    best = next(r for r in rows if r["trial"] == winner)
    if best["validation_macro_f1"] is not None:
        ax.scatter([winner], [best["validation_macro_f1"]], s=220, facecolors="none", edgecolors="black",
                   label="kept", zorder=4)
    ax.set_xlabel("trial (1 = tp's defaults)")
    ax.set_ylabel("validation macro-F1")
    ax.set_title("search trials")
    ax.legend()
    return save_figure(fig, path)


def write_search_report(run: Path, rows: list[dict[str, Any]], winner: int, config: Any, seconds: float) -> None:
    """Record the search in the winning run folder (reports, metrics.json) and write its card again."""
    from tp.files import write_json
    from tp.models.classifier import read_run_info
    from tp.publish.card import render_card

    reports = run / "reports"
    write_json(reports / "search.json", {"trials": rows, "winner": winner})
    (reports / "search.md").write_text(search_table(rows, winner) + "\n", encoding="utf-8")
    plot_search(rows, winner, reports / "search.png")
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    defaults = next(r for r in rows if r["defaults"])
    metrics["search"] = {"trials_run": len(rows), "trials_asked": config.trials,
                         "time_budget_minutes": config.time_budget_minutes, "seconds": round(seconds, 1),
                         "winner": winner, "selected_by": "validation macro_f1",
                         "defaults_validation_macro_f1": defaults["validation_macro_f1"],
                         "best_validation_macro_f1": next(r for r in rows if r["trial"] == winner)[
                             "validation_macro_f1"]}
    write_json(run / "metrics.json", metrics)
    (run / "README.md").write_text(render_card(metrics, read_run_info(run)), encoding="utf-8")

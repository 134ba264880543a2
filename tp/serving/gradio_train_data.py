"""What the demo's Train tab shows of an upload before anything trains: its rows per label (or a regression target's
spread), the baselines it will be judged against, and tp's plan."""

from __future__ import annotations

from typing import Any


def counts_markdown(counts: dict[str, Any], rows: int | None = None) -> str:
    """Rows per label and their share of the counts, or of `rows` (multi-label: a row carries several labels, so
    each label's share is of the rows); for a regression target its {mean, std, min, max} per split."""
    if any(isinstance(value, dict) for value in counts.values()):
        lines = [f"| {split} | " + " | ".join(f"{stats.get(key, float('nan')):.3g}" for key in ("mean", "std", "min",
                                                                                               "max")) + " |"
                 for split, stats in counts.items() if isinstance(stats, dict)]
        return "| split | mean | std | min | max |\n|---|---|---|---|---|\n" + "\n".join(lines)
    total = rows or sum(counts.values()) or 1
    head = "| label | rows | share of rows |" if rows else "| label | rows | share |"
    lines = "\n".join(f"| {name} | {count:,} | {count / total:.1%} |" for name, count in
                      sorted(counts.items(), key=lambda item: -item[1]))
    return f"{head}\n|---|---|---|\n{lines}"


def data_markdown(found: Any) -> str:
    if not found.splits:
        return f"**{found.rows:,} rows**, columns: {', '.join(found.columns)}. Pick the text and label columns."
    splits = ", ".join(f"{name} {size:,}" for name, size in (found.splits or {}).items())
    kept = sum((found.splits or {}).values())
    counts = (counts_markdown({"train": found.target}) if found.target is not None
              else counts_markdown(found.label_counts or {}, kept if found.problem == "multi_label" else None))
    return (f"**{found.rows:,} rows**; the splits tp will make: {splits}.\n\n{counts}"
            f"\n\n{baselines_markdown(found.baselines)}")


def baselines_markdown(baselines: Any, metrics: dict[str, float] | None = None) -> str:
    """The model's test scores (once known) above each baseline's, on the same split."""
    if not baselines:
        return ""
    lines = ["| | test accuracy | test macro-F1 |", "|---|---|---|"]
    if metrics:
        lines.append(f"| **this model** | **{metrics.get('test_accuracy', 0):.4f}** | "
                     f"**{metrics.get('test_macro_f1', 0):.4f}** |")
    for name, scores in baselines.items():
        score = scores if isinstance(scores, dict) else scores.model_dump()
        cells = " | ".join("-" if score.get(key) is None else f"{score[key]:.4f}" for key in ("accuracy", "macro_f1"))
        lines.append(f"| {name} ({score['description']}) | {cells} |")  # regression baselines have neither
    head = "Test scores on the split the model is judged on:" if metrics else "Baselines on the test split tp will " \
        "make (the bar the model has to clear):"
    return head + "\n\n" + "\n".join(lines)


def plan_markdown(plan: list[str] | None) -> str:
    """tp's choices and the memory plan, as `tp train` prints them before it starts."""
    return f"What tp will do:\n\n```\n{chr(10).join(plan)}\n```" if plan else ""

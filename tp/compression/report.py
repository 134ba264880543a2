"""The lab's outputs: reports/compression.{json,md,png} and a compression section in the model card."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tp.compression.gate_metric import GateMetric, metric_named
from tp.compression.report_plot import frontier, plot_compression
from tp.files import write_json
from tp.tasks import IMAGE

CARD_START, CARD_END = "<!-- tp:compression -->", "<!-- /tp:compression -->"
NOTES = {
    "int8-dynamic": "Linear layers int8 per channel (torch dynamic quantization), word embeddings int8 per row; "
                    "the classification head stays fp32. Attention, GELU and LayerNorm stay fp32, which is why "
                    "batch-1 latency falls less than the matmuls' speed-up. Its resident memory need not be "
                    "lower than fp32's: its loader builds the fp32 architecture first, and the process keeps "
                    "much of that memory.",
    "prune-heads": "attention heads removed by measured importance (Michel et al. 2019); the matrices are "
                   "smaller, so parameters, file and latency drop together.",
    "prune-magnitude": "smallest Linear weights zeroed; stored as bit mask + values, so only the file shrinks: "
                       "in memory the model is dense again and a CPU runs it at the same speed.",
    "onnx-int8": "ONNX export + ONNX Runtime dynamic int8 (MatMul per channel, embedding Gather); the whole "
                 "graph, attention included, runs in ONNX Runtime's kernels instead of torch's.",
    "bnb-8bit": "bitsandbytes LLM.int8(); made for CUDA GPUs. On a CPU it casts activations to fp16 and is slow.",
    "distill": "a student of the same architecture with L layers, initialised from every k-th teacher layer and "
               "trained on the train split with the teacher's soft targets at temperature T plus the labels (Hinton "
               "et al. 2015; DistilBERT, Sanh et al. 2019), keeping its best validation macro-F1 (early stopping). "
               "A plain transformers model: stock `pipeline()` loads it.",
    "prune-layers": "the bottom L layers kept (Sajjad et al. 2020), then fine-tuned on the labels alone: the cheap "
                    "baseline of `distill` (no teacher), with the same loop and early stopping.",
}
IMAGE_NOTES = {  # where an image run (ViT) differs: no word table, a Conv2d patch embedding
    "int8-dynamic": "Linear layers int8 per channel (torch dynamic quantization); the patch embedding (a Conv2d: "
                    "torch has no dynamic int8 Conv2d, and a ViT has no word-embedding table) and the "
                    "classification head stay fp32, as do attention, GELU and LayerNorm. Its resident memory need "
                    "not be lower than fp32's: its loader builds the fp32 architecture first.",
    "onnx-int8": "ONNX export with `pixel_values` input + ONNX Runtime dynamic int8 (MatMul per channel; the "
                 "patch-embedding Conv stays fp32); the whole graph runs in ONNX Runtime's kernels instead of torch's.",
}


def is_image_summary(summary: dict[str, Any]) -> bool:
    return summary["environment"].get("task") == IMAGE.name


def input_noun(summary: dict[str, Any]) -> str:
    """What the models classified, for the table and the text: "texts" or "images"."""
    return "images" if is_image_summary(summary) else "texts"


def summary_metric(summary: dict[str, Any]) -> GateMetric:
    """What the summary's gate compared: accuracy, micro-F1 or RMSE."""
    return metric_named(summary.get("gate_metric"))


def _delta(metric: GateMetric, baseline: float, value: float) -> float:
    """The change shown against fp32: points gained (negative: lost), or % more error for RMSE."""
    drop = metric.drop(baseline, value)
    return drop if metric.relative else 0.0 - drop


def rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row a model, baseline first, with the deltas against it; `score` is the gate's metric, `better` the
    same oriented so that more is better (RMSE negated), `delta` its change against fp32 in the gate's unit."""
    metric = summary_metric(summary)
    records = summary["variants"]
    base = records["fp32"]["measurements"]
    base_params = records["fp32"]["parameters"]
    table = []
    for name in ["fp32", *[n for n in records if n != "fp32"]]:
        record, m = records[name], records[name]["measurements"]
        table.append({
            "name": name, "label": record["label"], "method": record["method"],
            "methods": [stage.partition(":")[0] for stage in record.get("stages") or [record["method"]]],
            "status": record.get("status", "baseline") if name != "fp32" else "baseline",
            "sparsity": 1 - record["nonzero_parameters"] / base_params, "parameters": record["parameters"],
            "size_mb": m["size_bytes"] / 1e6, "size_ratio": m["size_bytes"] / base["size_bytes"],
            "metric": metric.key, "score": m[metric.key],
            "better": -m[metric.key] if metric.relative else m[metric.key],
            "delta": _delta(metric, base[metric.key], m[metric.key]),
            "secondary": m.get(metric.secondary), "latency_p50_ms": m["latency_p50_ms"],
            "latency_p95_ms": m["latency_p95_ms"],
            "latency_ratio": m["latency_p50_ms"] / base["latency_p50_ms"],
            "throughput": m["throughput_texts_per_s"], "throughput_ratio": m["throughput_texts_per_s"] / base[
                "throughput_texts_per_s"],
            "loaded_rss_mb": m["loaded_rss_bytes"] / 1e6 if m.get("loaded_rss_bytes") else None,
            "peak_rss_mb": m["peak_rss_bytes"] / 1e6 if m.get("peak_rss_bytes") else None,
        })
    return table


def _mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


SECONDARY_TITLES = {"macro_f1": "macro-F1", "pearson": "Pearson"}


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def markdown_table(table: list[dict[str, Any]], full: bool = True, inputs: str = "texts") -> str:
    """The seed's table (method, sparsity, size, accuracy, latency) plus status and deltas against fp32; the
    accuracy columns are the gate's metric's (micro-F1 for multi-label, RMSE and its growth for regression)."""
    metric = metric_named(table[0].get("metric"))
    delta = f"{metric.title} growth (%)" if metric.relative else f"Δ {metric.title} (points)"
    if full:
        head = (f"| method | status | sparsity | parameters | size MB | size vs fp32 | {metric.title} | {delta} "
                f"| {SECONDARY_TITLES[metric.secondary]} | latency p50 ms | latency p95 ms | p50 vs fp32 "
                f"| {inputs}/s at batch 32 | RSS loaded MB | peak RSS MB |")
    else:
        head = (f"| method | status | size MB | size vs fp32 | {metric.title} | {delta} | latency p50 ms "
                "| p50 vs fp32 |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for r in table:
        status = f"**{r['status']}**" if r["status"] == "rejected" else r["status"]
        common = [r["label"], status]
        if full:
            cells = common + [f"{r['sparsity']:.1%}", f"{r['parameters']:,}", f"{r['size_mb']:.1f}",
                              f"{r['size_ratio']:.2f}x", metric.show(r["score"]), f"{r['delta']:+.2f}",
                              _number(r["secondary"]), f"{r['latency_p50_ms']:.1f}", f"{r['latency_p95_ms']:.1f}",
                              f"{r['latency_ratio']:.2f}x", f"{r['throughput']:.1f}", _mb(r["loaded_rss_mb"]),
                              _mb(r["peak_rss_mb"])]
        else:
            cells = common + [f"{r['size_mb']:.1f}", f"{r['size_ratio']:.2f}x", metric.show(r["score"]),
                              f"{r['delta']:+.2f}", f"{r['latency_p50_ms']:.1f}",
                              f"{r['latency_ratio']:.2f}x"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _count(n: float, noun: str) -> str:
    return f"{n:g} {noun}{'' if n == 1 else 's'}"


def _how_measured_images(summary: dict[str, Any]) -> str:
    env = summary["environment"]
    base = summary["variants"]["fp32"]["measurements"]
    subset = " (a subset: --limit)" if env["limited"] else ""
    runtime = base.get("runtime_rss_bytes")
    floor = f"; {runtime / 1e6:.0f} MB of it is Python, torch, transformers and PIL alone" if runtime else ""
    height, width = env["image_size"]
    return (f"Measured by `tp optimize` on {env['test_texts']} images of the run's recorded test split"
            f"{subset}, the same images for every model (same split as training: {env['same_split_as_training']}), "
            f"resized to {height}x{width} by the run's image processor. CPU `{env['cpu']}`, "
            f"{_count(env['threads'], 'thread')} (--threads) on {env['cpus']} cores, load average "
            f"{env['load_average'][0]} at the start and {env['load_average_end'][0]} at the end: other work shared "
            f"the machine, so timings are noisy. To compare fairly, every model ran each batch (and each batch-1 "
            f"image) in turn, interleaved, and latency is the median (p50) and p95 over {base['latency_texts']} "
            "images, preprocessing (the image processor's resize and normalisation) included; the images were "
            "decoded beforehand. Size counts the weight files only (the image processor is a small JSON file, the "
            "same for all). Memory is that of a fresh process for each model: its RSS once the model is loaded and "
            "has classified one image (so that memory-mapped weights are resident; freed memory handed back to the "
            f"OS first), with the libraries its loader needs{floor}; and its peak RSS after it classified 32 images "
            "(PNG files) in one batch (activations included). "
            f"The gate rejects a variant that {summary_metric(summary).rule(summary['max_drop_points'])}. "
            "Ratios below 1.00x mean smaller or faster than fp32.")


def _how_measured(summary: dict[str, Any]) -> str:
    if is_image_summary(summary):
        return _how_measured_images(summary)
    env = summary["environment"]
    base = summary["variants"]["fp32"]["measurements"]
    subset = " (a subset: --limit)" if env["limited"] else ""
    runtime = base.get("runtime_rss_bytes")
    floor = f"; {runtime / 1e6:.0f} MB of it is Python, torch and transformers alone" if runtime else ""
    return (f"Measured by `tp optimize` on {env['test_texts']} texts of the run's recorded test split"
            f"{subset}, the same texts for every model (same split as training: {env['same_split_as_training']}), "
            f"truncated to {env['max_length']} tokens. CPU `{env['cpu']}`, {_count(env['threads'], 'thread')} "
            f"(--threads) on {env['cpus']} cores, load average {env['load_average'][0]} at the start and "
            f"{env['load_average_end'][0]} at the end: other work shared the machine, so timings are noisy. "
            f"To compare fairly, every model ran each batch (and each batch-1 text) in turn, interleaved, and "
            f"latency is the median (p50) and p95 over {base['latency_texts']} texts, tokenization included. "
            "Size counts the weight files only (the tokenizer, 0.7 MB, is the same for all). Memory is that of a "
            "fresh process for each model: its RSS once the model is loaded and has classified one text (so that "
            "memory-mapped weights are resident; freed memory handed back to the OS first), with the libraries "
            f"its loader needs{floor}; and its peak RSS after it classified 32 texts in one batch (activations "
            "included). "
            f"The gate rejects a variant that {summary_metric(summary).rule(summary['max_drop_points'])}. "
            "Ratios below 1.00x mean smaller or faster than fp32.")


def compression_markdown(summary: dict[str, Any]) -> str:
    table = rows(summary)
    methods = {m for r in table for m in r["methods"] if m != "fp32"}
    known = {**NOTES, **IMAGE_NOTES} if is_image_summary(summary) else NOTES
    notes = "\n".join(f"- `{m}`: {known[m]}" for m in known if m in methods)
    failures = "".join(f"\n- `{f['label']}` could not be built here: {f['error']}"
                       for f in summary["failures"].values())
    if summary.get("reused"):
        failures += (f"\n- Built by an earlier run and only re-measured here (`--reuse`), next to a fresh fp32 "
                     f"baseline: {', '.join(f'`{label}`' for label in summary['reused'])}.")
    students = "".join(_student_line(r) for r in summary["variants"].values()
                       if r["method"] in ("distill", "prune-layers"))
    students += "".join(_search_line(r) for r in summary["variants"].values()
                        if len(((r.get("details") or {}).get("search") or {}).get("trials") or []) > 1)
    recovered = [r for r in summary["variants"].values() if (r.get("details") or {}).get("recovery", {}).get("epochs")]
    recovery = "".join(f"\n- `{r['label']}` was fine-tuned for {_count(r['details']['recovery']['epochs'], 'epoch')} "
                       f"({r['details']['recovery']['steps']} steps) on the train split after pruning."
                       for r in recovered)
    flagged = "".join(f"> **The run itself is flagged**: {w['message']} The gate compares each variant with "
                      "this fp32 model only, so an accepted variant inherits this.\n\n"
                      for w in summary.get("run_warnings") or [] if w.get("severity") == "error")
    flagged += "".join(f"> **The run itself is below a baseline**: {w['message']} Every variant inherits this.\n\n"
                       for w in summary.get("run_warnings") or [] if w.get("severity") == "warning")
    return (f"# Compression of {Path(summary['run']).name}\n\n{flagged}"
            f"{markdown_table(table, inputs=input_noun(summary))}\n\n"
            f"![size vs accuracy, latency](compression.png)\n\n## How this was measured\n\n{_how_measured(summary)}\n\n"
            f"{frontier_sentence(table)}\n\n"
            f"## Methods\n\n{notes}{students}{recovery}{failures}\n\n"
            "Variants live in `variants/<name>/` (not committed); "
            "`tp.compression.variants.load_variant(folder)` loads one and refuses a rejected one unless forced.\n")


def _student_line(record: dict[str, Any]) -> str:
    details, training = record["details"], record["details"]["training"]
    teacher = (f"; the teacher's validation macro-F1 is {details['teacher_validation_macro_f1']:.4f}"
               if "teacher_validation_macro_f1" in details else "")
    stop = "stopped early, " if training["stopped_early"] else ""
    return (f"\n- `{record['label']}` kept teacher layers {details['kept_layers']} of {details['teacher_layers']} and "
            f"trained {training['steps']} of {training['steps_planned']} steps ({stop}{training['seconds']:g} s); its "
            f"best validation macro-F1 was {training['best_validation_macro_f1']:.4f} at step "
            f"{training['best_step']}{teacher}.")


def _search_line(record: dict[str, Any]) -> str:
    search = record["details"]["search"]
    metric = metric_named(search.get("metric"))
    first, trials = search["trials"][0], search["trials"][1:]
    tried = ", ".join(f"{t['fp32_layers']} ({metric.show(t[f'validation_{metric.key}'])})" for t in trials)
    verdict = "passed" if search["passed"] else "none passed, so the trial that lost least was kept"
    lost = f"its {metric.title} grew {first['drop_points']:g}%" if metric.relative else \
        f"it lost {first['drop_points']:g} points"
    how = "KL divergence" if metric.key == "accuracy" else "change of the outputs"
    return (f"\n- `{record['label']}`: all in int8, {lost} on the validation split "
            f"(against {metric.show(search['validation_baseline'])} for the model it quantizes, in fp32), so the "
            f"search kept the most sensitive {'graph nodes' if record['method'] == 'onnx-int8' else 'Linear layers'} "
            f"in fp32 (ranked by the {how} each alone in int8 causes; most sensitive: "
            f"`{search['most_sensitive'][0][0]}`): {tried} kept, validation {metric.title} in brackets; {verdict}. "
            f"The variant keeps {len(search['keep'])} in fp32 and is gated on the test split like the others.")


def frontier_sentence(table: list[dict[str, Any]]) -> str:
    names = ", ".join(f"`{table[i]['label']}`" for i in frontier(table))
    title = metric_named(table[0].get("metric")).title
    good = "as accurate" if title == "accuracy" else f"as good in {title}"
    return (f"On the {title}-speed frontier (no other model is at least {good} and faster at batch 32): "
            f"{names}. The middle plot draws it.")


def card_section(summary: dict[str, Any]) -> str:
    """The model card's compression section, between markers so that a new run replaces it."""
    return (f"{CARD_START}\n## Compression\n\nVariants of this model measured against it on the same test "
            f"{input_noun(summary)} "
            f"(`tp optimize`; details and the measurement conditions in "
            f"[reports/compression.md](reports/compression.md)):\n\n{markdown_table(rows(summary), full=False)}\n\n"
            f"![compression](reports/compression.png)\n{CARD_END}\n")


def update_card(readme: Path, section: str) -> None:
    """Replace the marked section of README.md, else insert it before `## How to use`, else append it."""
    text = readme.read_text(encoding="utf-8")
    marked = re.compile(re.escape(CARD_START) + ".*?" + re.escape(CARD_END) + "\n?", re.DOTALL)
    if marked.search(text):
        text = marked.sub(lambda _: section, text)
    elif "\n## How to use" in text:
        text = text.replace("\n## How to use", f"\n{section}\n## How to use", 1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    readme.write_text(text, encoding="utf-8")


def write_reports(run_dir: Path, summary: dict[str, Any]) -> None:
    """reports/compression.json (everything), .md (the table), .png (the plots) and the card section."""
    reports = Path(run_dir) / "reports"
    write_json(reports / "compression.json", summary)
    (reports / "compression.md").write_text(compression_markdown(summary), encoding="utf-8")
    plot_compression(rows(summary), reports / "compression.png", summary["max_drop_points"],
                     summary_metric(summary))
    readme = Path(run_dir) / "README.md"
    if readme.is_file():
        update_card(readme, card_section(summary))


def load_summary(run_dir: Path) -> dict[str, Any] | None:
    """The last lab summary of a run (for re-rendering its card), or None."""
    path = Path(run_dir) / "reports" / "compression.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None

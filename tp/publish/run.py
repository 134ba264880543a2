"""Assemble what a run publishes to the Hub, validate its model card, and push it in one commit.

The repository holds the merged model at its root (so stock `pipeline(model=repo_id)` loads it), the
LoRA adapter under `adapter/`, the card (README.md), metrics.json, tp.json, config.yaml and reports.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from tp.errors import PublishError

WHAT = ("merged", "adapter", "both")
REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
# licence identifiers the Hub accepts in card metadata (the common ones; `other` needs license_name)
LICENSES = {"apache-2.0", "mit", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc0-1.0",
            "gpl-3.0", "lgpl-3.0", "agpl-3.0", "bsd-2-clause", "bsd-3-clause", "mpl-2.0", "openrail",
            "bigscience-openrail-m", "creativeml-openrail-m", "unlicense", "artistic-2.0", "other"}
RUN_FILES = ("metrics.json", "tp.json", "config.yaml", "data_split.json")


def check_repo_id(repo_id: str) -> str:
    if not REPO_ID.match(repo_id) or "--" in repo_id or ".." in repo_id:
        raise PublishError(f"{repo_id!r} is not a repository id: use OWNER/NAME (letters, digits, - _ .).")
    return repo_id


def read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metrics.json, tp.json) of a run folder, or a PublishError saying what is missing."""
    run_dir = Path(run_dir)
    missing = [name for name in ("metrics.json", "tp.json") if not (run_dir / name).is_file()]
    if missing:
        raise PublishError(f"{run_dir} is not a finished run folder (missing {', '.join(missing)}): "
                           "train one with tp train first.")
    return (json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")),
            json.loads((run_dir / "tp.json").read_text(encoding="utf-8")))


def expected_results(metrics: dict[str, Any]) -> list[tuple[str, float]]:
    """(model-index metric type, value) of each metric the card must report, from metrics.json's problem."""
    from tp.publish.card_problems import METRICS

    problem = metrics.get("problem_type") or "single_label_classification"
    return [(kind, round(float(metrics[f"test_{key}"]), 4)) for key, kind, _, _ in METRICS[problem]]


def validate_card(text: str, metrics: dict[str, Any]) -> Any:
    """Parse the card's metadata with huggingface_hub and check what the Hub would reject or mislead."""
    from huggingface_hub import ModelCard

    try:
        card = ModelCard(text)  # parses YAML and model-index; raises on malformed metadata
    except Exception as error:
        raise PublishError(f"The model card metadata is invalid: {error}") from error
    data = card.data
    for name in data.datasets or []:
        if name.startswith((".", "/", "~")) or Path(name).exists() or not re.match(r"^[\w.-]+(/[\w.-]+)?$", name):
            raise PublishError(f"Card metadata `datasets` holds {name!r}, which is not a Hub dataset id.")
    if data.license not in LICENSES:
        raise PublishError(f"Card license {data.license!r} is not a Hub licence id; use one of "
                           f"{', '.join(sorted(LICENSES))}.")
    if data.base_model and (str(data.base_model).startswith((".", "/", "~")) or Path(str(data.base_model)).exists()):
        raise PublishError(f"Card base_model {data.base_model!r} is a local path, not a Hub id.")
    reported = [(r.metric_type, r.metric_value) for r in data.eval_results or []]
    expected = expected_results(metrics)
    if sorted(reported) != sorted(expected):
        raise PublishError(f"Card model-index {reported} disagrees with metrics.json {expected}.")
    return card


def compression_section(run_dir: Path, title: str) -> str:
    """The run's reports/compression.md as a card section (its image links made relative to the repo root)."""
    table = Path(run_dir) / "reports" / "compression.md"
    if not table.is_file():
        return ""
    text = table.read_text(encoding="utf-8").replace("](compression.png)", "](reports/compression.png)")
    return f"\n## {title}\n\n{text}\n"


def _write_merged(run_dir: Path, dest: Path) -> None:
    """The merged model at the repo root: copied from model/, or merged now from adapter/."""
    if (run_dir / "model" / "config.json").is_file():
        shutil.copytree(run_dir / "model", dest, dirs_exist_ok=True)
        return
    from tp.models.loading import load_classifier

    classifier = load_classifier(run_dir)
    classifier.model.save_pretrained(dest)
    classifier.tokenizer.save_pretrained(dest)


def check_skill(metrics: dict[str, Any], run_dir: Path, force: bool) -> None:
    """A run that learned nothing is not published unless forced (its card then opens with the warning)."""
    from tp.evaluation.skill_check import is_flagged

    warnings = metrics.get("warnings")
    if is_flagged(warnings) and not force:
        reasons = "; ".join(w["message"] for w in warnings if w["severity"] == "error")
        raise PublishError(f"{run_dir} is flagged as having learned nothing ({reasons}). Train a better model, "
                           "or pass --force to publish it anyway (its card says so at the top).")


def assemble_model_repo(run_dir: Path, dest: Path, repo_id: str | None = None, what: str | None = None,
                        license: str = "apache-2.0", force: bool = False) -> list[str]:
    """Write exactly the files to upload into `dest` (atomically); returns their relative paths.

    `what` defaults to both the merged model and the adapter, or the merged model alone for a run without an
    adapter (full fine-tuning). A run whose metrics say it learned nothing is refused unless `force`."""
    from tp.files import staged_folder
    from tp.publish.card import render_card

    what = what or ("both" if (Path(run_dir) / "adapter").is_dir() else "merged")
    if what not in WHAT:
        raise PublishError(f"--what should be one of {', '.join(WHAT)}, got {what!r}.")
    run_dir = Path(run_dir)
    metrics, info = read_run(run_dir)
    check_skill(metrics, run_dir, force)
    if what in ("adapter", "both") and not (run_dir / "adapter").is_dir():
        raise PublishError(f"{run_dir} has no adapter/ (method {info.get('method')}): publish --what merged.")
    with staged_folder(dest) as staging:
        if what in ("merged", "both"):
            _write_merged(run_dir, staging)
        if what in ("adapter", "both"):
            shutil.copytree(run_dir / "adapter", staging / "adapter")
        for name in RUN_FILES:
            if (run_dir / name).is_file():
                shutil.copy2(run_dir / name, staging / name)
        for image in sorted((run_dir / "reports").glob("*.png")) + sorted((run_dir / "reports").glob("*.md")):
            (staging / "reports").mkdir(exist_ok=True)
            shutil.copy2(image, staging / "reports" / image.name)
        section = compression_section(run_dir, "Compression")
        card = render_card(metrics, {**info, "license": license}, repo_id=repo_id, extra_sections=section)
        validate_card(card, metrics)
        (staging / "README.md").write_text(card, encoding="utf-8")
    return sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())

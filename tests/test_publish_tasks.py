"""Publishing multi-label, regression and pair runs: the card's model-index carries the problem's metric types,
the folder loads in stock `transformers.pipeline` with the card's arguments and gives tp's numbers, a pair model
has no widget, no-skill runs are refused, a push goes through the loopback Hub stand-in, and a compressed
variant's card reports the variant's own RMSE or per-label scores and links no file its repository lacks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hub_standin import HubStandIn
from tiny_variants import optimized_copy

from tp.errors import PublishError
from tp.models.loading import load_classifier
from tp.publish.run import assemble_model_repo

ROOT = Path(__file__).resolve().parents[1]


def card_of(folder: Path):
    from huggingface_hub import ModelCard

    return ModelCard.load(folder / "README.md")


def linked_files(card_text: str) -> list[str]:
    """The repository files a card links (images and pages), not web addresses."""
    import re

    return [link for link in re.findall(r"\]\(([^)\s]+)\)", card_text) if "://" not in link]


def int8_variant_repo(run: Path, tmp_path: Path, repo_id: str) -> tuple[Path, dict, Path]:
    """`run` copied and optimized (int8-dynamic), then its variant's repository assembled in tmp_path/repo: the
    copy, the variant's record (variant.json) and the repository folder."""
    from tp.publish.variant import assemble_variant_repo

    run = optimized_copy(run, tmp_path / "run")
    record = json.loads((run / "variants" / "int8-dynamic" / "variant.json").read_text())
    dest = tmp_path / "repo"
    assemble_variant_repo(run, "int8-dynamic", dest, repo_id, force=True)
    return run, record, dest


def test_a_no_skill_run_is_refused_with_the_fix(multi_label_run, tmp_path) -> None:
    with pytest.raises(PublishError, match="learned nothing.*--force"):  # 6 steps on a tiny BERT: no skill
        assemble_model_repo(multi_label_run, tmp_path / "repo", "alice/tags")


def test_multi_label_card_and_stock_pipeline(multi_label_run, tmp_path) -> None:
    from transformers import pipeline

    dest = tmp_path / "repo"
    assemble_model_repo(multi_label_run, dest, "alice/tags", force=True)
    card = card_of(dest)
    metrics = json.loads((multi_label_run / "metrics.json").read_text())
    assert card.data.pipeline_tag == "text-classification"
    assert [(r.metric_type, r.metric_value) for r in card.data.eval_results] == [
        ("f1", round(metrics["test_micro_f1"], 4)), ("f1", round(metrics["test_macro_f1"], 4)),
        ("accuracy", round(metrics["test_accuracy"], 4)), ("hamming_loss", round(metrics["test_hamming_loss"], 4))]
    assert 'top_k=None, function_to_apply="sigmoid"' in card.text
    texts = ["Please send water and food to the camp", "The storm destroyed the bridge near the river"]
    stock = pipeline("text-classification", model=str(dest), top_k=None, function_to_apply="sigmoid")
    ours = load_classifier(multi_label_run).predict(texts)
    for got, expected in zip(stock(texts), ours, strict=True):
        assert {r["label"]: round(r["score"], 4) for r in got} == \
            {s["label"]: round(s["score"], 4) for s in expected["scores"]}


def test_pair_regression_card_and_stock_pipeline(pair_regression_run, tmp_path) -> None:
    from transformers import pipeline

    dest = tmp_path / "repo"
    assemble_model_repo(pair_regression_run, dest, "alice/similarity", force=True)
    card = card_of(dest)
    assert [r.metric_type for r in card.data.eval_results] == ["rmse", "mae", "r_squared", "pearsonr", "spearmanr"]
    assert "widget" not in card.data.to_dict() and 'function_to_apply="none"' in card.text  # a widget takes one text
    pair = ("A man is playing a guitar.", "Someone plays the guitar.")
    stock = pipeline("text-classification", model=str(dest), function_to_apply="none")
    got = stock({"text": pair[0], "text_pair": pair[1]})
    got = got[0] if isinstance(got, list) else got
    (expected,) = load_classifier(pair_regression_run).predict([pair])
    assert got["score"] == pytest.approx(expected["value"], abs=1e-4)  # the value, in the targets' units


def test_push_of_a_pair_model_through_the_hub_stand_in(pair_regression_run, tmp_path) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HF_HUB_OFFLINE")}
    with HubStandIn() as hub:
        done = subprocess.run([sys.executable, "-m", "tp", "push", str(pair_regression_run), "--repo-id",
                               "alice/similarity", "--force"], capture_output=True, text=True, timeout=300,
                              env={**base, "HF_HOME": str(tmp_path), "HF_TOKEN": "hf_test", "HF_ENDPOINT": hub.url})
    assert done.returncode == 0, done.stderr
    files = hub.commits[0]["files"]
    readme = files["README.md"].decode()
    assert "pipeline_tag: text-classification" in readme and "widget" not in readme
    assert json.loads(files["tp.json"])["text_pair"] is True


def test_a_regression_variant_card_reports_its_own_rmse(pair_regression_run, tmp_path) -> None:
    run, record, dest = int8_variant_repo(pair_regression_run, tmp_path, "alice/similarity-int8")
    card = card_of(dest)
    reported = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert reported["rmse"] == round(record["measurements"]["rmse"], 4)
    assert "| test RMSE |" in card.text and "[('" in card.text  # the tp snippet passes a (text, text_pair) tuple
    assert np.isfinite(json.loads((dest / "metrics.json").read_text())["test_pearson"])
    # the run's predicted-against-true plot shows fp32, and the lab keeps no predictions to draw the variant's
    assert (run / "reports" / "predicted_vs_true.png").is_file() and "predicted_vs_true.png" not in card.text
    assert linked_files(card.text) and all((dest / link).is_file() for link in linked_files(card.text))


def test_a_multi_label_variant_card_shows_its_own_label_scores(multi_label_run, tmp_path) -> None:
    run, record, dest = int8_variant_repo(multi_label_run, tmp_path, "alice/tags-int8")
    card = card_of(dest)
    assert "![per-label scores](reports/label_scores.png)" in card.text  # drawn from the variant's measurements
    assert (dest / "reports" / "label_scores.png").read_bytes() != (run / "reports" / "label_scores.png").read_bytes()
    assert json.loads((dest / "metrics.json").read_text())["test_per_class"] == record["measurements"]["per_class"]
    assert all((dest / link).is_file() for link in linked_files(card.text)), linked_files(card.text)

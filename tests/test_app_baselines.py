"""A served run's baselines and no-skill warnings (metrics.json): in GET /models, the log and the demo."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import pytest
from shipped import TEXT_MODEL

from tp.serving.served import read_metrics_file, skill_record
from tp.serving.variants import variant_skill

BASELINES = {
    "majority": {"accuracy": 0.2315, "macro_f1": 0.0752, "predicts": "sports",
                 "description": "always the most frequent training label"},
    "chance": {"accuracy": 0.2014, "macro_f1": 0.2001,
               "description": "random guesses with the training label frequencies (expected scores)"},
    "tfidf_logreg": {"accuracy": 0.9708, "macro_f1": 0.9701, "description": "TF-IDF + logistic regression"},
}
SOFT = {"code": "below_baseline", "severity": "warning", "message": "macro-F1 0.100 is below the tfidf_logreg."}
NO_SKILL = {"code": "no_skill", "severity": "error", "message": "macro-F1 0.100 does not beat the chance baseline."}
WARNINGS = [SOFT, NO_SKILL]  # as a hand-edited file may have them: served loudest first


def write_skill(folder: Path, baselines: object = BASELINES, warnings: object = WARNINGS) -> None:
    """Give a run folder's metrics.json the keys a training run now writes."""
    path = folder / "metrics.json"
    metrics = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    path.write_text(json.dumps({**metrics, "baselines": baselines, "warnings": warnings}), encoding="utf-8")


def test_skill_record_keeps_well_formed_entries_and_old_runs_have_none(tmp_path: Path) -> None:
    assert skill_record(read_metrics_file(tmp_path)) == ({}, [])  # no metrics.json
    assert skill_record({"test_accuracy": 0.9}) == ({}, [])  # a run older than the checks
    assert skill_record({"baselines": [1], "warnings": {"no_skill": 1}}) == ({}, [])  # not the shapes written
    write_skill(tmp_path, {**BASELINES, "broken": {"accuracy": "high"}, "odd": 3},
                [*WARNINGS, {"code": "x", "severity": "fatal", "message": "?"}, "not a warning"])
    baselines, warnings = skill_record(read_metrics_file(tmp_path))
    assert baselines == BASELINES and warnings == [NO_SKILL, SOFT]


def test_a_variant_shows_its_own_judgement_else_its_runs(tmp_path: Path) -> None:
    run = tmp_path / "run"
    variant = run / "variants" / "onnx-int8"
    variant.mkdir(parents=True)
    write_skill(run)
    assert variant_skill(variant) == (BASELINES, [NO_SKILL, SOFT])  # inside its run: the run's
    write_skill(variant, {"majority": BASELINES["majority"]}, [])  # a published variant, judged on its own
    assert variant_skill(variant) == ({"majority": BASELINES["majority"]}, [])
    alone = tmp_path / "alone"
    alone.mkdir()
    assert variant_skill(alone) == ({}, [])


@pytest.fixture(scope="module")
def flagged_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model's run folder, its metrics.json saying it learned nothing."""
    folder = tmp_path_factory.mktemp("flagged") / "news"
    shutil.copytree(TEXT_MODEL, folder)
    write_skill(folder)
    return folder


def test_flagged_run_is_shown_in_models_logged_and_in_the_demo(flagged_run: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    from fastapi.testclient import TestClient

    from tp.serving.app import create_app
    from tp.serving.gradio_demo import model_baselines
    from tp.serving.settings import ServerSettings

    caplog.set_level(logging.WARNING, logger="tp.serving")
    app = create_app(ServerSettings(models=f"news={flagged_run}", backend="torch", demo=False))
    with TestClient(app) as client:
        deadline = time.monotonic() + 180
        while client.get("/api/v1/ready").status_code != 200:
            assert time.monotonic() < deadline, "the model never loaded"
            time.sleep(0.2)
        (model,) = client.get("/api/v1/models").json()["models"]
        markdown = model_baselines(app.state.registry, "news")
    assert model["baselines"] == {name: {"predicts": None, **scores, "scores": {
        key: scores[key] for key in ("accuracy", "macro_f1")}} for name, scores in BASELINES.items()}
    assert model["warnings"] == [NO_SKILL, SOFT]
    lines = [r.getMessage() for r in caplog.records if r.name == "tp.serving" and r.levelno == logging.WARNING]
    assert lines[0].startswith("Model 'news' has not learned its task (metrics.json): NO SKILL: macro-F1 0.100")
    assert lines[1].endswith("WARNING: macro-F1 0.100 is below the tfidf_logreg.")  # softer, after
    # the demo's card tab: the banner first, then the model's scores beside each baseline's
    assert markdown.startswith("> ## ⚠ Warning: this model has not learned its task")
    assert "> - NO SKILL: macro-F1 0.100 does not beat the chance baseline." in markdown
    assert f"| **this model** | {model['metrics']['test_accuracy']:.4f} |" in markdown
    assert "| majority: always the most frequent training label (predicts `sports`) | 0.2315 | 0.0752 |" in markdown


def test_the_demo_says_nothing_for_a_run_without_baselines(tmp_path: Path) -> None:
    from tp.serving.gradio_demo import model_baselines
    from tp.serving.registry import ModelRegistry
    from tp.serving.settings import ServerSettings
    from tp.serving.telemetry import Telemetry

    (tmp_path / "metrics.json").write_text(json.dumps({"test_accuracy": 0.9}), encoding="utf-8")
    registry = ModelRegistry(ServerSettings(models=f"old={tmp_path}"), Telemetry())
    assert model_baselines(registry, "old") == ""  # read from the folder: the model has not loaded
    write_skill(tmp_path, {"majority": {"accuracy": 0.5, "macro_f1": 0.3}}, [SOFT])
    soft = model_baselines(registry, "old")
    assert soft.startswith("> ### Note: a simple baseline does better than this model")
    assert "| majority: always the most frequent training label | 0.5000 | 0.3000 |" in soft

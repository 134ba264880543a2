"""`tp predict`: bulk prediction over real BBC News texts and scikit-learn digits with the shipped models.

Texts are cut to their first 300 characters to keep the runs fast on a CPU; the model is the shipped LoRA
adapter, so the labels are real predictions, checked against the classifier's own logits.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from shipped import IMAGE_MODEL, ROOT, TEXT_MODEL

from tp.cli.main import main

CHARS = 300


@pytest.fixture(scope="module")
def text_classifier():
    from tp.models.loading import load_classifier

    return load_classifier(TEXT_MODEL)


@pytest.fixture(scope="module")
def articles(bbc_frame) -> pd.DataFrame:
    """120 real articles (24 per topic, in topic order), cut short, with an id and the true topic."""
    return pd.DataFrame({"id": range(len(bbc_frame)), "text": bbc_frame["text"].str[:CHARS],
                         "topic": bbc_frame["label"]})


def expected_labels(classifier, texts: list[str]) -> list[str]:
    return [classifier.labels[i] for i in classifier.predict_logits(texts, 32).argmax(axis=1)]


def predict(*args: str | Path) -> int:
    return main(["predict", str(TEXT_MODEL), "--backend", "torch", *map(str, args)])


def parts_folder(output: Path) -> Path:
    return output.parent / f".{output.name}.parts"


def test_every_row_labelled_in_input_order(tmp_path, articles, text_classifier, capsys):
    data, output = tmp_path / "articles.csv", tmp_path / "predictions.csv"
    articles.to_csv(data, index=False)
    # 3 parts (the last one short), texts sorted by length inside each, written back in input order
    assert predict("--data", data, "--output", output, "--part-size", "50", "--batch-size", "16") == 0
    assert "wrote" in capsys.readouterr().out
    result = pd.read_csv(output, keep_default_na=False)
    assert list(result.columns) == ["id", "text", "topic", "label", "score"]
    assert result["id"].tolist() == list(range(len(articles)))
    assert result["text"].tolist() == articles["text"].tolist()
    assert result["label"].tolist() == expected_labels(text_classifier, articles["text"].tolist())
    assert result["score"].between(1 / len(text_classifier.labels), 1.0).all()
    assert (result["label"] == result["topic"]).mean() > 0.6  # a real model, even on 300 characters
    assert not parts_folder(output).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_jsonl_to_parquet_with_all_scores(tmp_path, articles, text_classifier):
    data, output = tmp_path / "articles.jsonl", tmp_path / "predictions.parquet"
    articles.iloc[:30].to_json(data, orient="records", lines=True)
    assert predict("--data", data, "--output", output, "--part-size", "12", "--all-scores") == 0
    result = pd.read_parquet(output)
    labels = text_classifier.labels
    score_columns = [f"score_{label}" for label in labels]
    assert list(result.columns) == ["id", "text", "topic", "label", "score", *score_columns]
    assert result["id"].dtype == np.int64 and result["id"].tolist() == list(range(30))  # JSON types kept
    scores = result[score_columns].to_numpy()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(result["score"], scores.max(axis=1))
    assert result["label"].tolist() == [labels[i] for i in scores.argmax(axis=1)]
    assert result["label"].tolist() == expected_labels(text_classifier, articles["text"].iloc[:30].tolist())


def test_parquet_to_jsonl_with_prefix(tmp_path, articles, text_classifier):
    data, output = tmp_path / "articles.parquet", tmp_path / "out" / "predictions.jsonl"
    frame = articles.iloc[:20].rename(columns={"topic": "label"})  # a labelled file: the prefix avoids the clash
    frame.to_parquet(data, index=False)
    assert predict("--data", data, "--output", output, "--prefix", "pred_") == 0
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == list(range(20))
    assert list(rows[0]) == ["id", "text", "label", "pred_label", "pred_score"]
    assert [row["pred_label"] for row in rows] == expected_labels(text_classifier, frame["text"].tolist())


def test_resume_recomputes_only_missing_parts(tmp_path, articles, text_classifier, capsys):
    data, output = tmp_path / "articles.tsv", tmp_path / "predictions.csv"
    articles.iloc[:40].to_csv(data, sep="\t", index=False)
    common = ("--data", data, "--output", output, "--part-size", "10")
    parts = parts_folder(output)

    assert predict(*common, "--max-parts", "2") == 0  # stops as an interruption would, after 2 of 4 parts
    assert "stopped after 2 part(s)" in capsys.readouterr().out
    assert not output.exists()
    assert sorted(p.name for p in parts.glob("part-*")) == [
        "part-000000.csv", "part-000000.done", "part-000001.csv", "part-000001.done"]
    old = time.time() - 1000
    for name in ("part-000000.csv", "part-000001.csv"):
        os.utime(parts / name, (old, old))
    (parts / "part-000001.done").unlink()  # part 1 was being written when the process died

    assert predict(*common, "--part-size", "20") == 2  # other settings: refused, not mixed
    assert "--overwrite" in capsys.readouterr().err

    assert predict(*common, "--max-parts", "2") == 0  # redoes part 1, adds part 2; part 0 untouched
    assert (parts / "part-000000.csv").stat().st_mtime == pytest.approx(old)
    assert (parts / "part-000001.csv").stat().st_mtime > old + 500
    assert (parts / "part-000002.done").is_file() and not (parts / "part-000003.csv").exists()
    assert "1 part(s) done by an earlier run" in capsys.readouterr().out

    # the last part through the command line a user types; then the merge
    command = [sys.executable, "-m", "tp", "predict", str(TEXT_MODEL), "--backend", "torch", *map(str, common)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "10 texts" in done.stdout and "3 part(s) done by an earlier run" in done.stdout
    assert not parts.exists()
    result = pd.read_csv(output)
    assert result["id"].tolist() == list(range(40))
    assert result["label"].tolist() == expected_labels(text_classifier, articles["text"].iloc[:40].tolist())

    assert predict(*common) == 0  # finished: says so, predicts nothing
    assert "complete already: nothing to predict" in capsys.readouterr().out
    assert predict(*common, "--overwrite") == 0
    assert "predicted 40 texts" in capsys.readouterr().out
    assert pd.read_csv(output)["label"].tolist() == result["label"].tolist()


def test_bad_inputs_are_one_line_errors(tmp_path, articles, capsys):
    renamed = tmp_path / "renamed.csv"
    articles.iloc[:5].rename(columns={"text": "body"}).to_csv(renamed, index=False)
    command = [sys.executable, "-m", "tp", "predict", str(TEXT_MODEL), "--data", str(renamed),
               "--output", str(tmp_path / "out.csv")]
    failed = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert failed.returncode == 2
    assert failed.stderr.strip().splitlines()[-1] == (
        "error: renamed.csv has no column 'text'; its columns are: id, body, topic. "
        "Name the one to predict on with --text-column NAME.")
    assert "Traceback" not in failed.stderr

    empty, header = tmp_path / "empty.csv", tmp_path / "header.csv"
    empty.write_text("", encoding="utf-8")
    header.write_text("id,text\n", encoding="utf-8")
    labelled = tmp_path / "labelled.csv"
    articles.iloc[:5].rename(columns={"topic": "label"}).to_csv(labelled, index=False)
    cases = [((renamed, "out.xlsx"), "unsupported suffix '.xlsx'"), ((empty, "out.csv"), "is empty"),
             ((header, "out.csv"), "no rows"), ((labelled, "out.csv"), "--prefix pred_"),
             ((tmp_path / "missing.csv", "out.csv"), "does not exist"), ((renamed, "renamed.csv"), "is the input")]
    for (data, name), message in cases:
        assert predict("--data", data, "--output", tmp_path / name) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


@pytest.fixture(scope="module")
def digit_images(tmp_path_factory) -> tuple[Path, list[str]]:
    """12 real scikit-learn digits as 32x32 PNGs in nested folders, and their true labels in sorted path order."""
    from PIL import Image
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("digits")
    digits = load_digits()
    files = {}
    for i in range(12):
        pixels = np.clip(digits.images[i] * 16, 0, 255).astype(np.uint8)
        name = f"batch{i % 2}/{'sub/' if i % 3 == 0 else ''}digit-{i:02d}.png"
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels, mode="L").resize((32, 32), Image.BILINEAR).save(folder / name)
        files[name] = str(digits.target[i])
    (folder / "notes.txt").write_text("not an image", encoding="utf-8")
    (folder / ".thumbnails").mkdir()
    (folder / ".thumbnails" / "skip.png").write_bytes(b"hidden: skipped")
    names = sorted(files)
    return folder, [files[name] for name in names]


@pytest.fixture(scope="module")
def image_classifier():
    from tp.models.loading import load_classifier

    return load_classifier(IMAGE_MODEL)


def image_labels(classifier, paths: list[Path]) -> list[str]:
    from tp.data.images import open_image

    images = [open_image({"bytes": None, "path": str(path)}) for path in paths]
    return [classifier.labels[i] for i in classifier.predict_logits(images).argmax(axis=1)]


def test_image_folder(tmp_path, digit_images, image_classifier):
    folder, truth = digit_images
    output = tmp_path / "digits.csv"
    assert main(["predict", str(IMAGE_MODEL), "--data", str(folder), "--output", str(output),
                 "--part-size", "5", "--batch-size", "4"]) == 0
    result = pd.read_csv(output, dtype={"label": str})
    assert list(result.columns) == ["path", "label", "score"]
    assert result["path"].tolist() == sorted(result["path"]) and len(result) == 12  # hidden and .txt skipped
    assert result["path"].str.startswith("batch").all()
    assert result["label"].tolist() == image_labels(image_classifier, [folder / p for p in result["path"]])
    assert (result["label"] == pd.Series(truth)).mean() >= 0.75


def test_image_column_and_unreadable_row(tmp_path, digit_images, image_classifier, capsys):
    folder, _ = digit_images
    paths = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("digit-*.png"))[:6]
    data = folder / "images.csv"  # paths relative to the data file's folder
    pd.DataFrame({"image": paths, "n": range(6)}).to_csv(data, index=False)
    output = tmp_path / "images.jsonl"
    assert main(["predict", str(IMAGE_MODEL), "--data", str(data), "--output", str(output), "--all-scores"]) == 0
    result = pd.read_json(output, lines=True, dtype={"label": str})
    assert result["image"].tolist() == paths
    assert result["label"].tolist() == image_labels(image_classifier, [folder / p for p in paths])
    np.testing.assert_allclose(result[[f"score_{d}" for d in range(10)]].sum(axis=1), 1.0, atol=1e-5)

    broken = tmp_path / "broken.csv"
    pd.DataFrame({"image": [str(folder / paths[0]), str(folder / ".thumbnails" / "skip.png"),
                            str(folder / "gone.png")]}).to_csv(broken, index=False)
    assert main(["predict", str(IMAGE_MODEL), "--data", str(broken), "--output", str(tmp_path / "b.csv")]) == 2
    err = capsys.readouterr().err.splitlines()[-1]
    assert err.startswith("error: Row 2 of broken.csv (column 'image': ") and "skip.png" in err, err
    assert "is not a readable image (UnidentifiedImageError" in err


def test_onnx_backend_agrees_with_torch(tmp_path, articles, text_classifier):
    pytest.importorskip("onnxruntime")
    data, output = tmp_path / "articles.csv", tmp_path / "onnx.csv"
    articles.iloc[:24].to_csv(data, index=False)
    assert main(["predict", str(TEXT_MODEL), "--data", str(data), "--output", str(output), "--backend", "onnx"]) == 0
    result = pd.read_csv(output)
    texts = articles["text"].iloc[:24].tolist()
    assert result["label"].tolist() == expected_labels(text_classifier, texts)
    logits = text_classifier.predict_logits(texts)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(result["score"], (probs / probs.sum(axis=1, keepdims=True)).max(axis=1), atol=1e-4)


@pytest.mark.slow
def test_accelerate_two_processes(tmp_path, articles, text_classifier):
    """Two processes each take every other part; the main one merges. --multi_gpu: without it accelerate
    starts a single process on a CPU-only machine."""
    data, output = tmp_path / "articles.csv", tmp_path / "predictions.parquet"
    articles.iloc[:50].to_csv(data, index=False)
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
               "29517", "-m", "tp", "predict", str(TEXT_MODEL), "--data", str(data), "--output", str(output),
               "--part-size", "10", "--backend", "torch", "--device", "cpu"]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the main process merges the parts" in done.stdout and "wrote" in done.stdout
    assert "20 texts" in done.stdout and "30 texts" in done.stdout  # parts 0, 2, 4 and parts 1, 3
    result = pd.read_parquet(output)
    assert result["id"].tolist() == [str(i) for i in range(50)]  # CSV cells stay as written: strings
    assert result["label"].tolist() == expected_labels(text_classifier, articles["text"].iloc[:50].tolist())
    assert not parts_folder(output).exists()


@pytest.mark.slow
def test_resume_after_kill_9(tmp_path, articles, text_classifier):
    data, output = tmp_path / "articles.csv", tmp_path / "predictions.csv"
    articles.iloc[:60].to_csv(data, index=False)
    command = [sys.executable, "-m", "tp", "predict", str(TEXT_MODEL), "--data", str(data), "--output", str(output),
               "--part-size", "10", "--batch-size", "5", "--backend", "torch"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = parts_folder(output)
    deadline = time.monotonic() + 300
    while len(list(parts.glob("*.done"))) < 2 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(list(parts.glob("*.done")))
    assert 2 <= done_before < 6 and not output.exists()

    rerun = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{done_before} part(s) done by an earlier run" in rerun.stdout
    result = pd.read_csv(output)
    assert result["id"].tolist() == list(range(60))
    assert result["label"].tolist() == expected_labels(text_classifier, articles["text"].iloc[:60].tolist())

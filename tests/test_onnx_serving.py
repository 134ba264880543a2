"""ONNX Runtime serving (tp.serving.onnx_serving): the cached export, its parity with torch, the decision
of which runtime serves a model, and the fallback to torch. Tiny BERT classifiers, real exports."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tp.errors import ModelSourceError
from tp.models.loading import load_classifier
from tp.serving.inference import TextInference
from tp.serving.onnx_serving import (
    META_FILE,
    LazyModel,
    background_export,
    cache_key,
    export_folder,
    exports_later,
    load_onnx,
    load_onnx_classifier,
    model_files,
    move_to_torch,
    runs_on_onnx,
)

TEXTS = ["Shares rose after the results.", "The striker scored twice in the final minutes of the match.",
         "Parliament debated the new bill. " * 60]  # past the 128 positions: truncated


@pytest.fixture(scope="module")
def tiny_classifier_dir(tmp_path_factory: pytest.TempPathFactory, minilm_dir: Path) -> Path:
    """A 2-layer BERT sequence classifier (random weights, 3 labels) with MiniLM's tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-classifier")
    labels = ["sport", "business", "politics"]
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=128, num_labels=3,
                        id2label=dict(enumerate(labels)), label2id={name: i for i, name in enumerate(labels)})
    BertForSequenceClassification(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(minilm_dir, model_max_length=128).save_pretrained(folder)
    (folder / "README.md").write_text("a card\n")
    return folder


def settings(backend: str = "auto", quantize: str = "none", cache_dir: Path | None = None) -> SimpleNamespace:
    return SimpleNamespace(backend=backend, quantize=quantize, cache_dir=cache_dir)


def never() -> None:
    raise AssertionError("the torch model should not load: the export is cached")


def test_export_matches_torch_and_is_reused(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    torch_classifier = load_classifier(tiny_classifier_dir)
    expected = torch_classifier.predict_logits(TEXTS)
    calls = []

    def load_torch() -> object:
        calls.append(1)
        return load_classifier(tiny_classifier_dir)

    classifier, explain = load_onnx_classifier(tiny_classifier_dir, "none", tmp_path, load_torch)
    assert calls == [1]
    assert classifier.labels == ["sport", "business", "politics"] and classifier.max_length == 128
    np.testing.assert_allclose(classifier.predict_logits(TEXTS), expected, atol=1e-4)
    (folder,) = (tmp_path / "onnx").iterdir()
    meta = json.loads((folder / META_FILE).read_text())
    assert meta["fused_ops"].get("Attention") == 2  # one fused attention kernel per layer
    assert meta["fp32_max_logit_diff"] < 1e-3
    assert not [path for path in (tmp_path / "onnx").iterdir() if path.name.startswith(".")]  # no partial folder

    again, lazy = load_onnx_classifier(tiny_classifier_dir, "none", tmp_path, never)  # cached: torch not loaded
    np.testing.assert_allclose(again.predict_logits(TEXTS), expected, atol=1e-4)
    assert again.info["base_model"] == str(tiny_classifier_dir)
    assert calls == [1]
    lazy_calls = []
    _, lazy_explain = load_onnx_classifier(tiny_classifier_dir, "none", tmp_path,
                                           lambda: lazy_calls.append(1) or load_classifier(tiny_classifier_dir))
    assert lazy_calls == []
    assert lazy_explain.config.num_labels == 3 and lazy_calls == [1]  # loaded on first use, once
    assert lazy_explain.get() is lazy_explain.get() and lazy_calls == [1]
    assert explain.get() is not None


def test_int8_export_is_separate_and_smaller(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    fp32, _ = load_onnx_classifier(tiny_classifier_dir, "none", tmp_path, lambda: load_classifier(tiny_classifier_dir))
    int8, _ = load_onnx_classifier(tiny_classifier_dir, "int8", tmp_path, lambda: load_classifier(tiny_classifier_dir))
    folders = (tmp_path / "onnx").iterdir()
    sizes = {path.name.rsplit("-", 1)[1]: (path / "model.onnx").stat().st_size for path in folders}
    assert set(sizes) == {"none", "int8"} and sizes["int8"] < 0.5 * sizes["none"]
    assert int8.predict_logits(TEXTS).shape == fp32.predict_logits(TEXTS).shape


def test_cache_key_follows_the_weights_not_the_reports(tiny_classifier_dir: Path, tmp_path: Path) -> None:
    import shutil

    copy = Path(shutil.copytree(tiny_classifier_dir, tmp_path / "copy"))
    key = cache_key(copy, "none")
    assert cache_key(copy, "int8") != key
    (copy / "reports").mkdir()
    (copy / "reports" / "x.json").write_text("{}")
    (copy / "README.md").write_text("another card\n")
    assert cache_key(copy, "none") == key and "README.md" not in [p.name for p in model_files(copy)]
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "classifier_dropout": 0.2}))
    assert cache_key(copy, "none") != key


def test_which_models_run_on_onnx(tiny_classifier_dir: Path, tiny_vit_dir: Path, tmp_path: Path) -> None:
    text, image = "text-classification", "image-classification"
    assert runs_on_onnx(settings("auto"), tiny_classifier_dir, "cpu", text)
    assert runs_on_onnx(settings("onnx"), tiny_classifier_dir, "cpu", text)
    assert not runs_on_onnx(settings("torch"), tiny_classifier_dir, "cpu", text)
    assert not runs_on_onnx(settings("auto"), tiny_classifier_dir, "cuda", text)
    assert not runs_on_onnx(settings("onnx"), tiny_vit_dir, "cpu", image)
    variant = tmp_path / "variant"
    variant.mkdir()
    (variant / "variant.json").write_text("{}")
    assert not runs_on_onnx(settings("auto"), variant, "cpu", text)


def test_a_failed_export_falls_back_to_torch_only_in_auto(tiny_vit_dir: Path, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    def load() -> object:  # not a text classifier: the export refuses it
        return load_classifier(tiny_vit_dir)

    with caplog.at_level(logging.WARNING, logger="tp.serving"):
        classifier, explain = load_onnx(tiny_vit_dir, settings("auto", cache_dir=tmp_path), load)
    assert explain is None and classifier.task == "image-classification"
    assert "TP_BACKEND=torch" in caplog.text
    with pytest.raises(ModelSourceError, match="text models only"):
        load_onnx(tiny_vit_dir, settings("onnx", cache_dir=tmp_path), load)
    assert not list((tmp_path / "onnx").iterdir())  # nothing half-written left behind


def test_batches_move_to_torch_with_the_same_answers(tiny_classifier_dir: Path, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    classifier, explain = load_onnx_classifier(tiny_classifier_dir, "none", tmp_path,
                                               lambda: load_classifier(tiny_classifier_dir))
    inference = TextInference(classifier.model, classifier.tokenizer, 128, 8)
    served = SimpleNamespace(name="tiny", explain_model=explain, runtime="onnxruntime")
    before = inference(TEXTS)
    move_to_torch(served, inference)
    assert served.runtime == "torch" and inference.model is explain.get()
    after = inference(TEXTS)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-5)
        assert a.truncated == b.truncated
    assert [a.truncated for a in after] == [False, False, True]

    def broken() -> None:
        raise OSError("weights gone")

    stuck = SimpleNamespace(name="tiny", explain_model=LazyModel(broken), runtime="onnxruntime")
    onnx_model = inference.model = classifier.model
    with caplog.at_level(logging.ERROR, logger="tp.serving"):
        move_to_torch(stuck, inference)
    assert stuck.runtime == "onnxruntime" and inference.model is onnx_model and "stay on ONNX Runtime" in caplog.text


def test_a_first_start_exports_in_the_background_for_the_next(tiny_classifier_dir: Path, tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    auto = settings("auto", cache_dir=tmp_path)
    assert exports_later(tiny_classifier_dir, auto)  # empty cache: serve on torch now
    assert not exports_later(tiny_classifier_dir, settings("onnx", cache_dir=tmp_path))
    assert not exports_later(tiny_classifier_dir, settings("torch", cache_dir=tmp_path))
    assert not exports_later(tiny_classifier_dir, settings("auto", "int8", tmp_path))  # int8 is in the graph
    background_export(tiny_classifier_dir, auto, lambda: load_classifier(tiny_classifier_dir))()
    target = export_folder(tiny_classifier_dir, "none", tmp_path)
    assert (target / META_FILE).is_file() and (target / "model.onnx").is_file()
    assert not exports_later(tiny_classifier_dir, auto)  # the next start loads the export
    classifier, _ = load_onnx(tiny_classifier_dir, auto, never)
    np.testing.assert_allclose(classifier.predict_logits(TEXTS),
                               load_classifier(tiny_classifier_dir).predict_logits(TEXTS), atol=1e-4)

    def broken() -> None:
        raise OSError("weights gone")

    other = tmp_path / "other-cache"
    with caplog.at_level(logging.WARNING, logger="tp.serving"):
        background_export(tiny_classifier_dir, settings("auto", cache_dir=other), broken)()  # only logs
    assert "next start tries again" in caplog.text and "weights gone" in caplog.text
    assert exports_later(tiny_classifier_dir, settings("auto", cache_dir=other))

"""Smaller students (`distill:L`, `prune-layers:L`) and stacked variants (`distill:2+onnx-int8`) on tiny BERTs.

The teacher is a 4-layer, 32-wide BERT fine-tuned for a few seconds on 86 real BBC articles, so that it
has skill a student can keep or lose.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from tp.compression.config import CompressionConfig, MethodSpec, parse_methods
from tp.compression.distill import StudentTraining, distillation_loss, macro_f1, train_student
from tp.compression.layers import bottom, encoder_blocks, every_kth, keep_layers
from tp.compression.variants import load_variant, read_variant
from tp.errors import ConfigError, RejectedVariantError

LABELS = ["business", "entertainment", "politics", "sports", "tech"]


def tiny_bert(layers: int = 4) -> torch.nn.Module:
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=128, num_labels=len(LABELS),
                        id2label=dict(enumerate(LABELS)), label2id={n: i for i, n in enumerate(LABELS)})
    return BertForSequenceClassification(config).eval()


@pytest.fixture(scope="module")
def tokenizer(tiny_bert_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_bert_dir)


@pytest.fixture(scope="module")
def encode(tokenizer):
    return lambda texts: tokenizer(texts, truncation=True, max_length=64, padding=True, return_tensors="pt")


@pytest.fixture(scope="module")
def bbc(bbc_frame) -> dict[str, tuple[list[str], list[int]]]:
    """The 120 articles split 72 / 24 / 24, every topic in each."""
    frame = bbc_frame.sample(frac=1.0, random_state=0)
    texts, labels = frame["text"].tolist(), [LABELS.index(y) for y in frame["label"]]
    return {"train": (texts[:72], labels[:72]), "validation": (texts[72:96], labels[72:96]),
            "test": (texts[96:], labels[96:])}


@pytest.fixture(scope="module")
def teacher(encode, bbc) -> torch.nn.Module:
    from tp.compression.recovery import recover

    model = tiny_bert()
    recover(model, encode, *bbc["train"], epochs=12, learning_rate=2e-3)
    return model


def test_specs_with_layers_and_stages_parse_and_refuse_bad_ones() -> None:
    specs = parse_methods("distill:3,prune-layers:6,distill:3+onnx-int8,prune-layers:6+distill:3+int8-dynamic")
    assert [s.name for s in specs] == ["distill-3", "prune-layers-6", "distill-3_onnx-int8",
                                       "prune-layers-6_distill-3_int8-dynamic"]
    assert [s.label for s in specs][2:] == ["distill:3+onnx-int8", "prune-layers:6+distill:3+int8-dynamic"]
    assert specs[2].method == "onnx-int8" and specs[2].base == specs[0] and specs[0].layers == 3
    assert [s.own_label for s in specs[3].stages] == ["prune-layers:6", "distill:3", "int8-dynamic"]
    for bad, message in [("distill", "number of layers"), ("distill:0.5", "number of layers"),
                         ("distill:0", "number of layers"),
                         ("onnx-int8+distill:3", "put `onnx-int8` last"),
                         ("prune-heads:0.3+int8-dynamic", "put `prune-heads` last"), ("distill:x", "Bad parameter"),
                         ("distill:3+int8", "Unknown")]:
        with pytest.raises(ConfigError, match=message):
            parse_methods(bad)
    with pytest.raises(ConfigError, match="distill_alpha"):
        CompressionConfig(methods=specs, distill_alpha=1.5)


def test_layer_choices_and_a_student_stock_transformers_loads(tokenizer, tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification, pipeline

    assert every_kth(12, 6) == [0, 2, 4, 6, 8, 10] and every_kth(12, 3) == [0, 4, 8] and bottom(12, 3) == [0, 1, 2]
    teacher = tiny_bert()
    student = keep_layers(teacher, [0, 2])
    assert len(encoder_blocks(student)[2]) == 2 and len(encoder_blocks(teacher)[2]) == 4  # the teacher is intact
    assert student.config.num_hidden_layers == 2 and student.config.tp_kept_layers == [0, 2]
    kept, original = student.bert.encoder.layer[1], teacher.bert.encoder.layer[2]
    assert torch.equal(kept.output.dense.weight, original.output.dense.weight)
    student.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    assert not list(tmp_path.glob("*.bin"))
    batch = tokenizer(["Shares rose on the stock market."], return_tensors="pt")
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path).eval()
    with torch.inference_mode():
        assert torch.allclose(reloaded(**batch).logits, student(**batch).logits, atol=1e-6)
    answer = pipeline("text-classification", model=str(tmp_path), device="cpu")("The team won the cup final.")
    assert answer[0]["label"] in LABELS


def test_the_loss_is_cross_entropy_plus_temperature_scaled_kl() -> None:
    student, labels = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([0])
    hard = torch.nn.functional.cross_entropy(student, labels)
    assert torch.allclose(distillation_loss(student, student * 3, labels, 2.0, 0.0), hard)
    assert torch.allclose(distillation_loss(student, student.clone(), labels, 2.0, 0.5), 0.5 * hard)  # KL 0
    far = distillation_loss(student, -student, labels, 2.0, 1.0)
    assert far > 0 and torch.allclose(distillation_loss(student, -student, labels, 4.0, 1.0) / far,
                                      far.new_tensor(16 / 4) * _kl(student, 4.0) / _kl(student, 2.0))


def _kl(student: torch.Tensor, t: float) -> torch.Tensor:
    f = torch.nn.functional
    return f.kl_div(f.log_softmax(student / t, -1), f.softmax(-student / t, -1), reduction="batchmean")


def test_training_keeps_the_best_validation_weights_and_stops_early(teacher, encode, bbc) -> None:
    student = keep_layers(teacher, [0, 2])
    logits = torch.cat([teacher(**encode(bbc["train"][0][i:i + 16])).logits.detach() for i in range(0, 72, 16)])
    done = train_student(student, encode, bbc["train"], bbc["validation"], StudentTraining(epochs=4, patience=2,
                         learning_rate=1e-3), logits)
    assert done["alpha"] == 0.5 and done["temperature"] == 2.0
    assert done["best_validation_macro_f1"] == round(macro_f1(student, encode, *bbc["validation"]), 4)  # restored
    assert done["best_validation_macro_f1"] == max(h["validation_macro_f1"] for h in done["history"])
    frozen = keep_layers(teacher, [0, 1])
    still = train_student(frozen, encode, bbc["train"], bbc["validation"], StudentTraining(epochs=4, patience=2,
                          learning_rate=0.0))
    assert still["stopped_early"] and still["steps"] == 4  # 5 steps an epoch, evaluated every 2: two stale in a row
    assert still["alpha"] == 0.0 and still["temperature"] is None


@pytest.fixture(scope="module")
def student_run(tmp_path_factory: pytest.TempPathFactory, tokenizer, teacher, bbc_frame) -> Path:
    run = tmp_path_factory.mktemp("runs") / "tiny4"
    teacher.save_pretrained(run / "model")
    tokenizer.save_pretrained(run / "model")
    bbc_frame.to_csv(run.parent / "bbc.csv", index=False)
    (run / "config.yaml").write_text(yaml.safe_dump({"name": "tiny4", "data": {"source": str(run.parent / "bbc.csv")}}))
    (run / "tp.json").write_text(json.dumps({"name": "tiny4", "task": "text-classification", "labels": LABELS,
                                             "base_model": "tiny-bert", "max_length": 64}))
    return run


def test_the_lab_builds_students_and_stacked_variants_trains_each_student_once(student_run: Path) -> None:
    from tp.compression.optimize import optimize_run

    lines: list[str] = []
    config = CompressionConfig(methods=parse_methods("distill:2,distill:2+onnx-int8,distill:2+int8-dynamic,"
                                                     "prune-layers:1"), max_drop=100, latency_texts=3,
                               measure_memory=False, student_learning_rate=1e-3, distill_epochs=2)
    summary = optimize_run(student_run, config, log=lines.append)
    assert sum("training the distill:2 student" in line for line in lines) == 1
    variants = summary["variants"]
    assert set(variants) == {"fp32", "distill-2", "distill-2_onnx-int8", "distill-2_int8-dynamic", "prune-layers-1"}
    distilled = variants["distill-2"]
    assert distilled["layers"] == 2 and distilled["details"]["kept_layers"] == [0, 2]
    assert distilled["parameters"] < variants["fp32"]["parameters"]
    assert distilled["details"]["teacher_validation_macro_f1"] > 0.2  # the teacher has skill
    stacked = variants["distill-2_onnx-int8"]
    assert stacked["stages"] == ["distill:2", "onnx-int8"] and stacked["parameters"] == distilled["parameters"]
    assert stacked["details"]["base"]["training"] == distilled["details"]["training"]
    assert variants["prune-layers-1"]["details"]["kept_layers"] == [0]
    for name in set(variants) - {"fp32"}:
        folder = student_run / "variants" / name
        assert read_variant(folder)["status"] == "accepted"
        assert load_variant(folder).predict(["The minister spoke."])[0]["label"] in LABELS
    report = (student_run / "reports" / "compression.md").read_text()
    assert "| distill:2+onnx-int8 | accepted |" in report and "`distill`:" in report and "frontier" in report


def test_a_student_that_lost_its_skill_is_rejected_and_refused(student_run: Path) -> None:
    """prune-layers:1 with no learning: the teacher's head reads its first layer's output, and the gate sees it."""
    from tp.compression.optimize import optimize_run

    config = CompressionConfig(methods=parse_methods("prune-layers:1"), max_drop=0.0, latency_texts=3,
                               measure_memory=False, student_learning_rate=0.0)
    record = optimize_run(student_run, config, log=lambda line: None)["variants"]["prune-layers-1"]
    assert record["status"] == "rejected" and record["gate"]["accuracy_drop_points"] > 0
    with pytest.raises(RejectedVariantError, match="prune-layers-1"):
        load_variant(student_run / "variants" / "prune-layers-1")


def test_a_shorter_served_length_is_a_variant_of_its_own(student_run: Path) -> None:
    from tp.compression.optimize import optimize_run

    assert MethodSpec.parse("distill:2+max-length:32+onnx-int8").max_length == 32
    config = CompressionConfig(methods=parse_methods("max-length:32,distill:2+max-length:16+onnx-int8,max-length:64"),
                               max_drop=100, latency_texts=3, measure_memory=False, distill_epochs=0.5)
    summary = optimize_run(student_run, config, log=lambda line: None)
    assert "max-length-64" in summary["failures"] and "fewer" in summary["failures"]["max-length-64"]["error"]
    short = load_variant(student_run / "variants" / "max-length-32")
    assert short.max_length == 32 and summary["variants"]["max-length-32"]["max_length"] == 32
    assert summary["variants"]["max-length-32"]["parameters"] == summary["variants"]["fp32"]["parameters"]
    stacked = load_variant(student_run / "variants" / "distill-2_max-length-16_onnx-int8")
    assert stacked.max_length == 16 and stacked.predict(["The minister spoke. " * 40])[0]["label"] in LABELS


def test_the_app_serves_the_fastest_accepted_variant_by_default_and_explains_with_fp32(student_run: Path,
                                                                                       tmp_path: Path) -> None:
    import httpx

    from tp.compression.optimize import optimize_run
    from tp.serving.process import start_tp_app

    config = CompressionConfig(methods=parse_methods("distill:2,distill:2+onnx-int8"), max_drop=100,
                               latency_texts=3, measure_memory=False, distill_epochs=0.5)
    summary = optimize_run(student_run, config, log=lambda line: None)
    fastest = max(("distill-2", "distill-2_onnx-int8"),
                  key=lambda name: summary["variants"][name]["measurements"]["throughput_texts_per_s"])
    for setting, expected in (("auto", fastest), ("none", None)):
        server = start_tp_app({"TP_MODELS": f"tiny={student_run}", "TP_DEMO": "false", "TP_VARIANT": setting},
                              tmp_path / f"{setting}.log")
        try:
            server.wait_until("/api/v1/ready", 240)
            with httpx.Client(base_url=server.url, timeout=60) as client:
                model = client.get("/api/v1/models").json()["models"][0]
                assert model["variant"] == expected, model["variant_reason"]
                assert f"TP_VARIANT={setting}" in model["variant_reason"]
                if expected:
                    accuracy = summary["variants"][expected]["measurements"]["accuracy"]
                    assert model["metrics"]["test_accuracy"] == accuracy
                    assert "fastest variant" in model["variant_reason"]
                assert client.post("/api/v1/predict", json={"inputs": ["The minister spoke."]}).status_code == 200
                explained = client.post("/api/v1/explain", json={"inputs": "The minister spoke."})
                assert explained.status_code == 200, explained.text  # the fp32 weights the variant came from
        finally:
            server.stop()


def test_a_published_student_card_loads_it_with_the_stock_pipeline() -> None:
    from tp.publish.variant import usage_section

    text = usage_section("distill", "alice/news-distill-2", "The minister spoke.",
                         {"task": "text-classification", "max_length": 128})
    assert 'pipeline("text-classification", model="alice/news-distill-2")' in text
    assert "truncation=True, max_length=128" in text and "only tp loads" not in text


def test_a_student_variant_folder_loads_in_the_stock_pipeline(student_run: Path) -> None:
    """What `tp push --variant distill-2` uploads is this folder as it is (variant.json beside it)."""
    from transformers import pipeline

    from tp.compression.optimize import optimize_run

    config = CompressionConfig(methods=parse_methods("distill:2"), max_drop=100, latency_texts=3,
                               measure_memory=False, distill_epochs=0.5)
    optimize_run(student_run, config, log=lambda line: None)
    folder = student_run / "variants" / "distill-2"
    classifier = pipeline("text-classification", model=str(folder), device="cpu")
    assert classifier.model.config.num_hidden_layers == 2
    mine = load_variant(folder).predict(["The minister spoke."])[0]
    stock = classifier("The minister spoke.", truncation=True, max_length=64)[0]
    assert stock["label"] == mine["label"] and abs(stock["score"] - mine["score"]) < 1e-4

"""The lab's smaller students (`distill:L`, `prune-layers:L`) and the models stacked variants build on.

A stacked variant (`distill:3+onnx-int8`) compresses the model its base stage made, not the run's fp32
model. Within one lab run a student is trained once and shared: `distill:3` and `distill:3+onnx-int8`
use the same one (`LabData.built`). With `reuse`, a student already saved in `variants/<name>/` is
loaded instead of trained again.
"""

from __future__ import annotations

from typing import Any

from tp.compression.config import CompressionConfig, MethodSpec
from tp.compression.lab_data import LabData
from tp.compression.variants import is_variant_folder, read_variant


def _teacher(lab: LabData, teacher: Any, key: str) -> dict[str, Any]:
    """The teacher's logits over the train split and its validation macro-F1, computed once per teacher."""
    from tp.compression.distill import logits_of, macro_f1

    if key not in lab.teacher:
        lab.teacher[key] = {"train_logits": logits_of(teacher, lab.encode, lab.splits["train"][0]),
                            "validation_macro_f1": round(macro_f1(teacher, lab.encode, *lab.splits["validation"]), 4)}
    return lab.teacher[key]


def make_student(spec: MethodSpec, lab: LabData, config: CompressionConfig, teacher: Any,
                 log: Any = print) -> tuple[Any, dict]:
    """Keep `spec.layers` of the teacher's layers, then train the student; returns it and what was done."""
    from tp.compression.distill import StudentTraining, train_student
    from tp.compression.layers import bottom, check_layers, every_kth, keep_layers

    total = check_layers(teacher, spec.layers)
    distilling = spec.method == "distill"
    indices = (every_kth if distilling else bottom)(total, spec.layers)
    student = keep_layers(teacher, indices)
    settings = StudentTraining(epochs=config.distill_epochs if distilling else config.prune_layers_epochs,
                               learning_rate=config.student_learning_rate, temperature=config.distill_temperature,
                               alpha=config.distill_alpha if distilling else 0.0)
    scores = _teacher(lab, teacher, spec.base.label if spec.base else "fp32") if distilling else None
    training = train_student(student, lab.encode, lab.splits["train"], lab.splits["validation"], settings,
                             scores["train_logits"] if scores else None, log)
    details = {"layers": spec.layers, "teacher_layers": total, "kept_layers": indices,
               "initialised_from": "every k-th teacher layer" if distilling else "the bottom layers",
               "training": training}
    if scores:
        details["teacher_validation_macro_f1"] = scores["validation_macro_f1"]
    return student, details


def source_model(spec: MethodSpec, lab: LabData, config: CompressionConfig,
                 log: Any = print) -> tuple[Any, dict[str, Any] | None]:
    """The model `spec` compresses: the run's fp32 model, or (stacked) its base stage's student, and the
    base's details (None for the run's own model)."""
    if spec.base is None:
        return lab.classifier.model, None
    return student_of(spec.base, lab, config, log)


def student_of(spec: MethodSpec, lab: LabData, config: CompressionConfig, log: Any = print) -> tuple[Any, dict]:
    """The model a stackable spec makes: a student trained (or, with reuse, loaded) once per lab run, or for
    `max-length:N` the model it builds on (only the served length changes)."""
    if spec.method == "max-length":
        model, base = source_model(spec, lab, config, log)
        return model, {**(base or {}), "max_length": spec.max_length}
    if spec.label not in lab.built:
        folder = lab.run_dir / "variants" / spec.name
        if config.reuse and is_variant_folder(folder):
            from tp.compression.variants import load_fp32

            log(f"reusing the {spec.label} student built earlier ...")
            lab.built[spec.label] = (load_fp32(folder), read_variant(folder).get("details") or {})
        else:
            teacher, _ = source_model(spec, lab, config, log)
            log(f"training the {spec.label} student ({spec.layers} layers) on {len(lab.splits['train'][0])} "
                f"train {lab.classifier.spec.unit} ...")
            lab.built[spec.label] = make_student(spec, lab, config, teacher, log)
    return lab.built[spec.label]

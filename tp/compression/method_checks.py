"""Whether a method can compress this run at all, checked before anything is built: students learn one label
per text, and max-length shortens texts to fewer tokens than the run reads. Errors name what to use instead."""

from __future__ import annotations

from tp.compression.config import MethodSpec
from tp.compression.lab_data import LabData
from tp.errors import ConfigError
from tp.tasks import SINGLE_LABEL


def check_method(spec: MethodSpec, lab: LabData) -> None:
    """ConfigError when `spec` cannot compress the run behind `lab` (its problem, its inputs or its length)."""
    check_problem(spec, lab)
    check_length(spec, lab)


def check_problem(spec: MethodSpec, lab: LabData) -> None:
    """Students learn from one label per text (cross-entropy, soft targets, macro-F1 early stopping)."""
    students = [stage.own_label for stage in spec.stages if stage.method in ("distill", "prune-layers")]
    problem = lab.scorer.problem
    if students and problem.name != SINGLE_LABEL.name:
        raise ConfigError(f"`{spec.label}`: {students[0]} trains a student on one label per text; "
                          f"{lab.run_dir.name} is a {problem.name.replace('_', ' ')} run. Use int8-dynamic, "
                          "onnx-int8, prune-heads, prune-magnitude or max-length for it.")


def check_length(spec: MethodSpec, lab: LabData) -> None:
    """max-length:N reads texts only, and fewer tokens than the run already does."""
    if spec.max_length is None:
        return
    if lab.is_image:
        raise ConfigError(f"`{spec.label}`: max-length shortens texts; {lab.run_dir.name} classifies images.")
    if spec.max_length >= lab.classifier.max_length:
        raise ConfigError(f"`{spec.label}`: the run already reads at most {lab.classifier.max_length} tokens a "
                          f"text; max-length must be fewer.")

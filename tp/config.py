"""Training recipes: validated dataclasses read from YAML, with dotted command-line overrides.

A recipe has four sections, `model`, `data`, `method` and `training`, plus a `name`. Unknown keys and
bad values are rejected at construction with a message naming the key, the value and the fix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tp.config_values import build_dataclass
from tp.errors import ConfigError
from tp.models.text_encoding import TRUNCATIONS
from tp.tasks import PROBLEM_RECIPES

METHODS = ("lora", "full", "head", "freeze")
PRECISIONS = ("auto", "fp32", "fp16", "bf16")
CLASS_WEIGHTS = ("auto", "none", "balanced")
SELECTION_METRICS = ("auto", "macro_f1", "accuracy", "micro_f1", "rmse", "mae", "spearman", "loss")
EVAL_STRATEGIES = ("auto", "epoch", "steps")


def _help(text: str, default: Any = dataclasses.MISSING, **kwargs: Any) -> Any:
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata={"help": text})
    return field(default=default, metadata={"help": text}, **kwargs)


@dataclass
class ModelConfig:
    source: str = _help("Hub id, local folder, `builtin:minilm` (weights from pip) or `builtin:vit-tiny` "
                        "(a small ViT architecture, trained from scratch).", "builtin:minilm")
    max_length: int = _help("Tokens per text; longer texts are truncated.", 256)
    revision: str | None = _help("Hub revision (branch, tag or commit) to pin.", None)
    trust_remote_code: bool = _help("Run code shipped with a Hub model. Off unless you trust it.", False)
    load_in_8bit: bool = _help("Load the frozen base in 8-bit (bitsandbytes).", False)
    load_in_4bit: bool = _help("Load the frozen base in 4-bit NF4 (bitsandbytes, CUDA only).", False)

    def __post_init__(self) -> None:
        if not self.source.strip():
            raise ConfigError("`model.source` is empty: give a Hub id, a folder, builtin:minilm or builtin:vit-tiny.")
        if not 8 <= self.max_length <= 8192:
            raise ConfigError(f"`model.max_length` should be in [8, 8192], got {self.max_length}.")
        if self.load_in_8bit and self.load_in_4bit:
            raise ConfigError("`model.load_in_8bit` and `model.load_in_4bit` are both true: pick one.")


@dataclass
class AugmentationConfig:
    """Random changes to training images (never to validation or test images)."""

    rotation_degrees: float = _help("Rotate by up to this many degrees either way (0: off).", 0.0)
    shift_fraction: float = _help("Shift by up to this fraction of the width/height (0: off).", 0.0)
    flip: bool = _help("Mirror left-right half of the time. Off: digits and text must not be flipped.", False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rotation_degrees <= 180.0:
            raise ConfigError("`data.augmentation.rotation_degrees` should be in [0, 180], "
                              f"got {self.rotation_degrees}.")
        if not 0.0 <= self.shift_fraction < 0.5:
            raise ConfigError(f"`data.augmentation.shift_fraction` should be in [0, 0.5), got {self.shift_fraction}.")

    @property
    def enabled(self) -> bool:
        return bool(self.rotation_degrees or self.shift_fraction or self.flip)


@dataclass
class DataConfig:
    source: str = _help(
        "Hub dataset id, a CSV/TSV/JSON/JSONL/Parquet file, a folder of train/test files, a folder of class "
        "subfolders of images, `builtin:bbc-news` (texts) or `builtin:digits` (8x8 images). Image sources make "
        "an image-classification run.",
        "builtin:bbc-news",
    )
    config_name: str | None = _help("Hub dataset configuration (e.g. `sst2` of `glue`).", None)
    text_column: str = _help("Column holding the text.", "text")
    image_column: str = _help("Column holding the image (Hub image datasets; `img` is found too).", "image")
    label_column: str = _help("Column holding the label (strings or integers; a list of labels or a delimited "
                              "string for multi_label; a number for regression).", "label")
    task: str = _help("What a label is: `auto` (one class per row; lists of labels, or data.label_separator, make "
                      "it multi_label), `single_label`, `multi_label` (any number of labels per row) or "
                      "`regression` (a number). A numeric label column with many values is never guessed: "
                      "say single_label or regression.", "auto")
    label_separator: str | None = _help("Multi-label rows as delimited strings: the separator (e.g. `,`); "
                                        "implies data.task multi_label.", None)
    text_pair_column: str | None = _help("Column holding the second text of a pair (entailment, similarity, "
                                         "question-answer relevance): the model reads both texts together.", None)
    train_split: str = _help("Split to train on when the source has splits.", "train")
    test_split: str | None = _help("Split to test on; default: `test` if present, else carved.", None)
    validation_split: str | None = _help("Split to validate on; default: carved from train.", None)
    test_size: float = _help("Fraction carved as a stratified test split when none exists.", 0.2)
    validation_size: float = _help("Fraction of train carved as validation when none exists.", 0.1)
    split_seed: int = _help("Seed of the carved splits (recorded, so evaluation is reproducible).", 42)
    max_train_samples: int | None = _help("Use only this many training rows (quick runs).", None)
    max_eval_samples: int | None = _help("Use only this many validation and test rows.", None)
    empty_texts: str = _help("`drop` empty/missing texts and count them, or `error`.", "drop")
    encoding: str = _help("Text encoding of local files.", "utf-8")
    truncation: str = _help("Texts longer than model.max_length: keep the `head` (first tokens), or `head_tail` "
                            "(the first quarter and the last three quarters: a review's verdict is often at its "
                            "end; Sun et al. 2019). Applied alike at training, evaluation and serving.", "head")
    augmentation: AugmentationConfig = field(default_factory=AugmentationConfig)

    def __post_init__(self) -> None:
        for name in ("test_size", "validation_size"):
            value = getattr(self, name)
            if not 0.0 < value < 0.9:
                raise ConfigError(f"`data.{name}` should be in (0, 0.9), got {value}.")
        if self.truncation not in TRUNCATIONS:
            raise ConfigError(f"`data.truncation` should be one of {', '.join(TRUNCATIONS)}, got {self.truncation!r}.")
        if self.task not in PROBLEM_RECIPES:
            raise ConfigError(f"`data.task` should be one of {', '.join(PROBLEM_RECIPES)}, got {self.task!r}.")
        if self.label_separator is not None and self.task not in ("auto", "multi_label"):
            raise ConfigError(f"`data.label_separator` splits multi-label rows, but data.task is {self.task!r}: "
                              "set data.task: multi_label, or unset data.label_separator.")
        if self.text_pair_column is not None and self.truncation != "head":
            raise ConfigError("`data.truncation` head_tail keeps the ends of one text; pairs are cut the longer text "
                              "first: set data.truncation: head, or unset data.text_pair_column.")
        if self.text_pair_column is not None and self.text_pair_column == self.text_column:
            raise ConfigError(f"`data.text_pair_column` and `data.text_column` are both {self.text_column!r}: name "
                              "the column of the second text.")
        if self.label_separator == "":
            raise ConfigError("`data.label_separator` is empty: give the character between labels, e.g. `,`.")
        if self.empty_texts not in ("drop", "error"):
            raise ConfigError(f"`data.empty_texts` should be `drop` or `error`, got {self.empty_texts!r}.")
        for name in ("max_train_samples", "max_eval_samples"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ConfigError(f"`data.{name}` should be at least 2, got {value}.")


@dataclass
class MethodConfig:
    name: str = _help("`auto` (full fine-tuning for a base of up to 150 M parameters that fits the memory budget, "
                      "else lora), `lora`, `full`, `head` (frozen encoder) or `freeze` (last N blocks).", "auto")
    lora_r: int = _help("LoRA rank.", 8)
    lora_alpha: int = _help("LoRA scaling numerator (scale = alpha / r).", 16)
    lora_dropout: float = _help("Dropout on the LoRA branch.", 0.1)
    target_modules: list[str] | None = _help("LoRA targets; default: query/value of the architecture.", None)
    train_last_n_blocks: int = _help("`freeze`: how many final encoder blocks stay trainable.", 3)

    def __post_init__(self) -> None:
        if self.name not in ("auto", *METHODS):
            raise ConfigError(f"`method.name` should be auto or one of {', '.join(METHODS)}, got {self.name!r}.")
        if self.lora_r <= 0:
            raise ConfigError(f"`method.lora_r` should be positive, got {self.lora_r}.")
        if self.lora_alpha <= 0:
            raise ConfigError(f"`method.lora_alpha` should be positive, got {self.lora_alpha}.")
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(f"`method.lora_dropout` should be in [0, 1), got {self.lora_dropout}.")
        if self.train_last_n_blocks < 0:
            raise ConfigError(f"`method.train_last_n_blocks` should be >= 0, got {self.train_last_n_blocks}.")


@dataclass
class TrainingConfig:
    epochs: float = _help("Passes over the training split (more when min_steps asks for it).", 3.0)
    max_steps: int = _help("Stop after this many optimizer steps (-1: use epochs and min_steps).", -1)
    min_steps: int = _help("At least this many optimizer steps: a small dataset gets more epochs instead of "
                           "too few updates to learn anything (0: off).", 200)
    batch_size: int = _help("Examples per device per step.", 16)
    eval_batch_size: int = _help("Examples per evaluation batch.", 32)
    gradient_accumulation_steps: int = _help("Steps accumulated before each optimizer update.", 1)
    learning_rate: float | None = _help("Peak learning rate; default by method: lora 1e-3, full 5e-5, head 2e-3, "
                                        "freeze 1e-4.", None)
    weight_decay: float = _help("AdamW weight decay.", 0.01)
    warmup_ratio: float = _help("Fraction of steps with linear warm-up.", 0.1)
    class_weights: str = _help("Weighted cross-entropy: `auto` (balanced when the largest class has at least 1.5x "
                               "the rows of the smallest), `balanced` (n / (k * count) per class) or `none`.", "auto")
    metric_for_best_model: str = _help("Validation metric that picks the checkpoint kept at the end and that early "
                                       "stopping watches: `auto` (the task's main metric: macro_f1; micro_f1 for "
                                       "multi_label; rmse for regression), `macro_f1`, `accuracy`, `micro_f1`, "
                                       "`rmse`, `mae`, `spearman` or `loss`.", "auto")
    gradient_checkpointing: bool = _help("Recompute activations to save memory (slower).", False)
    precision: str = _help("`auto` (bf16/fp16 on CUDA, fp32 on CPU), `fp32`, `fp16` or `bf16`.", "auto")
    eval_strategy: str = _help("`auto` (every epoch, and at least 5 times a run), `epoch` or `steps`. Every "
                               "evaluation is a checkpoint: `--resume` restarts from the last one.", "auto")
    eval_steps: int = _help("Evaluate every N steps when eval_strategy is `steps`.", 50)
    logging_steps: int = _help("Log the training loss every N steps.", 10)
    early_stopping_patience: int | None = _help("Stop after N evaluations without improvement.", None)
    seed: int = _help("Seed for initialisation, dropout and data order.", 42)
    cpu_threads: int | None = _help("Torch threads when training on the CPU (default: torch's choice). Small "
                                    "models train several times faster on 1 thread on a busy machine.", None)

    def __post_init__(self) -> None:
        positive = ("batch_size", "eval_batch_size", "gradient_accumulation_steps", "eval_steps", "logging_steps")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"`training.{name}` should be positive, got {getattr(self, name)}.")
        if self.epochs <= 0 and self.max_steps <= 0:
            raise ConfigError(f"`training.epochs` should be positive, got {self.epochs}.")
        if self.learning_rate is not None and not 0 < self.learning_rate < 1:
            raise ConfigError(f"`training.learning_rate` should be in (0, 1), got {self.learning_rate}.")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(f"`training.warmup_ratio` should be in [0, 1), got {self.warmup_ratio}.")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"`training.precision` should be one of {PRECISIONS}, got {self.precision!r}.")
        if self.cpu_threads is not None and self.cpu_threads <= 0:
            raise ConfigError(f"`training.cpu_threads` should be positive, got {self.cpu_threads}.")
        if self.eval_strategy not in EVAL_STRATEGIES:
            raise ConfigError(f"`training.eval_strategy` should be one of {', '.join(EVAL_STRATEGIES)}, "
                              f"got {self.eval_strategy!r}.")
        if self.min_steps < 0:
            raise ConfigError(f"`training.min_steps` should be >= 0, got {self.min_steps}.")
        if self.class_weights not in CLASS_WEIGHTS:
            raise ConfigError(f"`training.class_weights` should be one of {', '.join(CLASS_WEIGHTS)}, "
                              f"got {self.class_weights!r}.")
        if self.metric_for_best_model not in SELECTION_METRICS:
            raise ConfigError(f"`training.metric_for_best_model` should be one of {', '.join(SELECTION_METRICS)}, "
                              f"got {self.metric_for_best_model!r}.")


@dataclass
class Recipe:
    name: str = _help("Run name: the run folder is `<output_dir>/<name>`.", "run")
    output_dir: str = _help("Folder that holds run folders.", "runs")
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    method: MethodConfig = field(default_factory=MethodConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def __post_init__(self) -> None:
        if not self.name or "/" in self.name or self.name.startswith("."):
            raise ConfigError(f"`name` should be a plain folder name, got {self.name!r}.")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name


def apply_overrides(values: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply `section.key=value` overrides (values parsed as YAML) to a recipe mapping."""
    for override in overrides:
        if "=" not in override:
            raise ConfigError(f"Override {override!r} should look like `training.epochs=1`.")
        dotted, raw = override.split("=", 1)
        *parents, leaf = dotted.strip().split(".")
        node = values
        for parent in parents:
            node = node.setdefault(parent, {})
            if not isinstance(node, dict):
                raise ConfigError(f"Override {override!r}: `{parent}` is not a section.")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:  # `,` (a label separator) is no YAML value: take it as written
            value = raw
        if value == "" and raw.strip() not in ("''", '""'):  # YAML reads `|` and `>` as empty block scalars
            value = raw
        node[leaf] = value
    return values


def load_recipe(path: str | Path | None = None, overrides: list[str] | None = None) -> Recipe:
    """Read a recipe from YAML (or defaults when `path` is None) and apply overrides."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"Recipe file {path} does not exist; see configs/ for examples.")
        try:
            values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ConfigError(f"Recipe {path} is not valid YAML: {error}") from error
        if not isinstance(values, dict):
            raise ConfigError(f"Recipe {path} should be a mapping of sections, got {type(values).__name__}.")
    values = apply_overrides(values, overrides or [])
    return build_dataclass(Recipe, values)

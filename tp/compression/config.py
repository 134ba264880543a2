"""What to compress and how to judge it: method specs (`prune-heads:0.3`, `distill:3+onnx-int8`) and settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from tp.errors import ConfigError

FRACTION, LAYERS, TOKENS = "fraction", "layers", "tokens"
# method -> (default parameter or None, what the parameter is or None, what it does: for --help and errors)
METHODS: dict[str, tuple[float | None, str | None, str]] = {
    "int8-dynamic": (None, None, "torch dynamic int8 Linear layers + int8 word embeddings (a ViT's patch Conv2d "
                                 "stays fp32)"),
    "prune-heads": (0.3, FRACTION, "structured attention-head pruning by measured importance (Michel et al. 2019)"),
    "prune-magnitude": (0.5, FRACTION, "unstructured magnitude pruning of each encoder Linear layer, stored sparsely"),
    "onnx-int8": (None, None, "ONNX export + ONNX Runtime dynamic int8 (needs onnx and onnxruntime)"),
    "bnb-8bit": (None, None, "bitsandbytes LLM.int8() weights (the classifier head stays fp32)"),
    "distill": (None, LAYERS, "a student with L of the teacher's layers (every k-th), trained on soft targets and "
                           "labels (Hinton et al. 2015; DistilBERT)"),
    "prune-layers": (None, LAYERS, "keep the bottom L layers, then fine-tune on the labels (the cheap baseline of "
                                "distill)"),
    "max-length": (None, TOKENS, "serve at most N tokens a text (fewer than the run's): the same weights, less work"),
}
# methods whose result is a plain transformers model of the same architecture: another method can build on it
STACKABLE = ("distill", "prune-layers", "max-length")
WHOLE = {LAYERS: "a number of layers to keep", TOKENS: "a number of tokens"}


@dataclass(frozen=True)
class MethodSpec:
    """One method to apply, e.g. `prune-heads:0.3` -> MethodSpec("prune-heads", 0.3), built on `base` if given:
    `distill:3+onnx-int8` -> MethodSpec("onnx-int8", base=MethodSpec("distill", 3))."""

    method: str
    value: float | None = None
    base: MethodSpec | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"Unknown compression method {self.method!r}; choose from {', '.join(METHODS)}.")
        kind = METHODS[self.method][1]
        if kind == FRACTION and (self.value is None or not 0.0 < self.value < 1.0):
            raise ConfigError(f"`{self.method}` needs a fraction between 0 and 1 (e.g. {self.method}:0.3), "
                              f"got {self.value}.")
        if kind in WHOLE and (self.value is None or self.value != int(self.value) or self.value < 1):
            example = 3 if kind == LAYERS else 128
            raise ConfigError(f"`{self.method}` needs {WHOLE[kind]} (e.g. {self.method}:{example}), got {self.value}.")
        if kind is None and self.value is not None:
            raise ConfigError(f"`{self.method}` takes no parameter, got {self.method}:{self.value:g}.")
        if self.base is not None and self.base.method not in STACKABLE:
            raise ConfigError(f"`{self.base.label}+{self.own_label}`: only {' and '.join(STACKABLE)} make a model "
                              f"another method can build on; put `{self.base.method}` last.")

    @property
    def fraction(self) -> float | None:
        return self.value if METHODS[self.method][1] == FRACTION else None

    @property
    def layers(self) -> int | None:
        return int(self.value) if METHODS[self.method][1] == LAYERS else None

    @property
    def max_length(self) -> int | None:
        """The tokens a text this variant serves: the smallest `max-length:N` among its stages (None: the run's)."""
        lengths = [int(stage.value) for stage in self.stages if stage.method == "max-length"]
        return min(lengths) if lengths else None

    @property
    def own_name(self) -> str:
        return self.method if self.value is None else f"{self.method}-{self.value:g}"

    @property
    def own_label(self) -> str:
        return self.method if self.value is None else f"{self.method}:{self.value:g}"

    @property
    def name(self) -> str:
        """The variant's folder name: `prune-heads-0.3`, `distill-3_onnx-int8` (no colon or plus sign)."""
        return self.own_name if self.base is None else f"{self.base.name}_{self.own_name}"

    @property
    def label(self) -> str:
        return self.own_label if self.base is None else f"{self.base.label}+{self.own_label}"

    @property
    def stages(self) -> list[MethodSpec]:
        """Base first: `distill:3+onnx-int8` -> [distill:3, distill:3+onnx-int8]."""
        return [*(self.base.stages if self.base else []), self]

    @classmethod
    def parse_one(cls, text: str, base: MethodSpec | None = None) -> MethodSpec:
        method, _, value = text.strip().partition(":")
        if not value:
            return cls(method, METHODS.get(method, (None,))[0], base)
        try:
            number = float(value)
        except ValueError as error:
            raise ConfigError(f"Bad parameter in {text!r}: write e.g. {method}:0.3 or {method}:3.") from error
        return cls(method, number, base)

    @classmethod
    def parse(cls, text: str) -> MethodSpec:
        """`prune-heads:0.3`, or stages joined by `+`: `distill:3+onnx-int8`."""
        spec = None
        for part in text.split("+"):
            spec = cls.parse_one(part, spec)
        return spec


def parse_methods(text: str) -> list[MethodSpec]:
    """`int8-dynamic,prune-heads:0.3` -> two MethodSpecs; duplicates are refused."""
    specs = [MethodSpec.parse(part) for part in text.split(",") if part.strip()]
    if not specs:
        raise ConfigError(f"No compression method given; choose from {', '.join(METHODS)}.")
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ConfigError(f"A method is listed twice in {text!r}.")
    return specs


@dataclass
class CompressionConfig:
    """Settings of one compression run over a run folder."""

    methods: list[MethodSpec] = field(default_factory=lambda: parse_methods("int8-dynamic,prune-heads:0.3"))
    max_drop: float = 1.0  # accuracy points a variant may lose before the gate rejects it
    recover_epochs: float = 0.0  # fine-tuning after pruning, on the run's train split
    recover_learning_rate: float = 3e-5  # small: the pruned model is already trained
    distill_epochs: float = 3.0  # distill: epochs on the train split (early stopping may end it sooner)
    student_learning_rate: float = 8e-5  # distill and prune-layers alike
    distill_temperature: float = 2.0
    distill_alpha: float = 0.5  # weight of the teacher's soft targets against the labels
    prune_layers_epochs: float = 1.0  # prune-layers: fine-tuning on the labels after dropping layers
    search_trials: int = 4  # int8-dynamic: fp32 fallbacks tried on validation when int8 loses too much (0: none)
    limit: int | None = None  # evaluate on N test examples spread over the split (quick runs; the gate judges N)
    importance_texts: int = 256  # validation inputs (texts or images) whose gradients rank the heads (prune-heads)
    latency_texts: int = 40  # test inputs timed one by one at batch 1, interleaved across variants
    batch_size: int = 32
    threads: int | None = None  # CPU threads for torch and ONNX Runtime while measuring (None: torch's default)
    measure_memory: bool = True  # peak RSS of a fresh process per variant (a few seconds each)
    overwrite: bool = True  # replace variants of an earlier run of the lab
    reuse: bool = False  # measure and gate variants already built instead of building them again

    def __post_init__(self) -> None:
        if self.max_drop < 0:
            raise ConfigError(f"`max_drop` is in accuracy points and cannot be negative, got {self.max_drop}.")
        if not 0.0 <= self.distill_alpha <= 1.0 or self.distill_temperature <= 0:
            raise ConfigError(f"`distill_alpha` must be in [0, 1] and `distill_temperature` positive, got "
                              f"{self.distill_alpha} and {self.distill_temperature}.")
        if min(self.recover_epochs, self.distill_epochs, self.prune_layers_epochs) < 0:
            raise ConfigError("Epochs cannot be negative (`recover_epochs`, `distill_epochs`, `prune_layers_epochs`).")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"`limit` must be a positive number of test examples, got {self.limit}.")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"`threads` must be a positive number, got {self.threads}.")
        if self.search_trials < 0:
            raise ConfigError(f"`search_trials` cannot be negative, got {self.search_trials}.")
        for name in ("importance_texts", "latency_texts", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"`{name}` must be a positive number, got {getattr(self, name)}.")

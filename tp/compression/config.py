"""What to compress and how to judge it: method specs (`prune-heads:0.3`) and the lab's settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from tp.errors import ConfigError

# method -> the fraction it takes (None: it takes none), and what it does, for --help and errors
METHODS: dict[str, tuple[float | None, str]] = {
    "int8-dynamic": (None, "torch dynamic int8 Linear layers + int8 word embeddings (a ViT's patch Conv2d stays fp32)"),
    "prune-heads": (0.3, "structured attention-head pruning by measured importance (Michel et al. 2019)"),
    "prune-magnitude": (0.5, "unstructured magnitude pruning of each encoder Linear layer, stored sparsely"),
    "onnx-int8": (None, "ONNX export + ONNX Runtime dynamic int8 (needs onnx and onnxruntime)"),
    "bnb-8bit": (None, "bitsandbytes LLM.int8() weights (the classifier head stays fp32)"),
}


@dataclass(frozen=True)
class MethodSpec:
    """One method to apply, e.g. `prune-heads:0.3` -> MethodSpec("prune-heads", 0.3)."""

    method: str
    fraction: float | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"Unknown compression method {self.method!r}; choose from {', '.join(METHODS)}.")
        takes = METHODS[self.method][0] is not None
        if takes and (self.fraction is None or not 0.0 < self.fraction < 1.0):
            raise ConfigError(f"`{self.method}` needs a fraction between 0 and 1 (e.g. {self.method}:0.3), "
                              f"got {self.fraction}.")
        if not takes and self.fraction is not None:
            raise ConfigError(f"`{self.method}` takes no fraction, got {self.method}:{self.fraction}.")

    @property
    def name(self) -> str:
        """The variant's folder name: `prune-heads-0.3` (no colon, which some file systems refuse)."""
        return self.method if self.fraction is None else f"{self.method}-{self.fraction:g}"

    @property
    def label(self) -> str:
        return self.method if self.fraction is None else f"{self.method}:{self.fraction:g}"

    @classmethod
    def parse(cls, text: str) -> MethodSpec:
        method, _, fraction = text.strip().partition(":")
        if not fraction:
            default = METHODS.get(method, (None, ""))[0]
            return cls(method, default)
        try:
            return cls(method, float(fraction))
        except ValueError as error:
            raise ConfigError(f"Bad fraction in {text!r}: write e.g. {method}:0.3.") from error


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
        if self.recover_epochs < 0:
            raise ConfigError(f"`recover_epochs` cannot be negative, got {self.recover_epochs}.")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"`limit` must be a positive number of test examples, got {self.limit}.")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"`threads` must be a positive number, got {self.threads}.")
        for name in ("importance_texts", "latency_texts", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"`{name}` must be a positive number, got {getattr(self, name)}.")

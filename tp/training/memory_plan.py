"""Will it fit? Estimate peak GPU memory of a recipe before training, and suggest what fits.

Weights by dtype (8/4-bit for quantized Linear layers), gradients and AdamW states of the trainable
parameters, and activations for batch x sequence length (Korthikanti et al., 2022, "Reducing
activation recomputation": per layer s*b*h*(34 + 5*a*s/h) bytes at 16-bit), with and without
gradient checkpointing. Parameter counts come from the real architecture built on the meta device.
A ViT's sequence is its patches plus [CLS]: (image_size / patch_size)^2 + 1. For a Hub id that is not
cached offline, a config shipped inside tp (ViT-B/16) stands in, so the plan needs no network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from tp.config import Recipe
from tp.training.modeling import ARCHITECTURES, Architecture

GIB = 1024**3
CUDA_OVERHEAD = 0.6 * GIB  # CUDA context + allocator fragmentation, outside max_memory_allocated


@dataclass
class MemoryPlan:
    """Estimated peak memory (bytes) by component, and whether it fits the budget."""

    model: str
    method: str
    batch_size: int
    sequence_length: int
    precision: str
    weight_bits: int
    gradient_checkpointing: bool
    total_params: int
    trainable_params: int
    weights: int
    gradients: int
    optimizer: int
    activations: int
    budget_gib: float
    suggestions: list[str] = field(default_factory=list)

    @property
    def peak(self) -> int:
        """What torch.cuda.max_memory_allocated should show."""
        return self.weights + self.gradients + self.optimizer + self.activations

    @property
    def fits(self) -> bool:
        return self.peak + CUDA_OVERHEAD <= self.budget_gib * GIB

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "peak": self.peak, "fits": self.fits}


def _config_folder(recipe: Recipe) -> Any:
    """Where the model's config.json is: the resolved source, else a copy shipped inside tp (offline)."""
    from tp.errors import ModelSourceError
    from tp.sources import resolve_model_source, shipped_config_folder

    try:
        return resolve_model_source(recipe.model.source, recipe.model.revision).path
    except ModelSourceError:
        shipped = shipped_config_folder(recipe.model.source)
        if shipped is None:
            raise
        return shipped


def _meta_model(recipe: Recipe, num_labels: int) -> Any:
    import torch
    from transformers import AutoConfig, AutoModelForImageClassification, AutoModelForSequenceClassification

    from tp.models.image_classifier import is_image_model

    config = AutoConfig.from_pretrained(_config_folder(recipe), trust_remote_code=recipe.model.trust_remote_code)
    config.num_labels = num_labels
    image = is_image_model(config.to_dict())
    with torch.device("meta"):
        return (AutoModelForImageClassification if image else AutoModelForSequenceClassification).from_config(config)


def count_trainable(model: Any, recipe: Recipe) -> tuple[int, int, int]:
    """(total, trainable, quantizable Linear weights) for the recipe's method on `model`."""
    import torch

    method, model_type = recipe.method, model.config.model_type
    arch = ARCHITECTURES.get(model_type) or Architecture(tuple(method.target_modules or ()), ("classifier",), "")
    targets = tuple(method.target_modules or arch.lora_targets)
    total = sum(p.numel() for p in model.parameters())
    head = sum(p.numel() for n, p in model.named_parameters() if n.startswith(arch.head))
    linear_weights = sum(m.weight.numel() for n, m in model.named_modules()
                         if isinstance(m, torch.nn.Linear) and not n.startswith(arch.head))
    if method.name == "full":
        return total, total, linear_weights
    if method.name == "head":
        return total, head, linear_weights
    if method.name == "freeze":
        layers = arch.blocks.split(".")
        blocks = model
        for part in layers:
            blocks = getattr(blocks, part)
        last = blocks[len(blocks) - min(method.train_last_n_blocks, len(blocks)):]
        return total, head + sum(p.numel() for p in last.parameters()), linear_weights
    lora = sum(method.lora_r * (m.in_features + m.out_features) for n, m in model.named_modules()
               if isinstance(m, torch.nn.Linear) and n.split(".")[-1] in targets)
    return total + lora, head + lora, linear_weights


def activation_bytes(config: Any, batch: int, seq: int, bytes_per_value: int, checkpointing: bool) -> int:
    """Activations kept for the backward pass of an encoder of `config`'s shape."""
    h, a, layers = config.hidden_size, config.num_attention_heads, config.num_hidden_layers
    if bytes_per_value == 2:
        per_layer = seq * batch * h * 34 + 5 * a * seq * seq * batch
    else:  # fp32: each 16-bit value doubles, the 1-byte dropout masks do not
        per_layer = seq * batch * h * 66 + 9 * a * seq * seq * batch
    embeddings = seq * batch * h * (bytes_per_value + 1) + seq * batch * 8 * 3  # output + mask, int64 ids
    if checkpointing:  # keep each block's input, recompute one block at a time
        return embeddings + layers * seq * batch * h * bytes_per_value + per_layer
    return embeddings + layers * per_layer


def sequence_length(config: Any, recipe: Recipe) -> int:
    if getattr(config, "image_size", None) and getattr(config, "patch_size", None):
        return (config.image_size // config.patch_size) ** 2 + 1  # patches + [CLS]
    return recipe.model.max_length


def plan_memory(recipe: Recipe, budget_gib: float = 8.0, precision: str | None = None,
                suggest: bool = True, num_labels: int = 2) -> MemoryPlan:
    """Estimate a recipe's peak GPU memory; when it does not fit, suggest settings that do."""
    model = _meta_model(recipe, num_labels)
    config = model.config
    total, trainable, linear = count_trainable(model, recipe)
    precision = precision or ("bf16" if recipe.training.precision == "auto" else recipe.training.precision)
    bits = 8 if recipe.model.load_in_8bit else 4 if recipe.model.load_in_4bit else 32
    frozen_linear = linear if bits < 32 else 0  # only Linear layers are quantized; the rest stay fp32
    weights = (total - frozen_linear) * 4 + frozen_linear * bits // 8
    seq = sequence_length(config, recipe)
    t = recipe.training
    plan = MemoryPlan(
        model=recipe.model.source, method=recipe.method.name, batch_size=t.batch_size, sequence_length=seq,
        precision=precision, weight_bits=bits, gradient_checkpointing=t.gradient_checkpointing,
        total_params=total, trainable_params=trainable, weights=weights, gradients=trainable * 4,
        optimizer=trainable * 8,  # AdamW: two fp32 moments per trainable parameter
        activations=activation_bytes(config, t.batch_size, seq, 4 if precision == "fp32" else 2,
                                     t.gradient_checkpointing),
        budget_gib=budget_gib)
    if suggest and not plan.fits:
        plan.suggestions = _suggestions(recipe, budget_gib, precision, num_labels)
    return plan


def _suggestions(recipe: Recipe, budget_gib: float, precision: str, num_labels: int) -> list[str]:
    """Settings that fit, cheapest first: checkpointing, then smaller batches with accumulation."""
    t = recipe.training
    tries = [(t.batch_size, True)] + [(b, ck) for b in (16, 8, 4, 2, 1) if b < t.batch_size for ck in (False, True)]
    for batch, checkpointing in tries:
        accumulation = max(1, t.batch_size * t.gradient_accumulation_steps // batch)
        trial = replace(recipe, training=replace(t, batch_size=batch, gradient_checkpointing=checkpointing,
                                                 gradient_accumulation_steps=accumulation))
        if plan_memory(trial, budget_gib, precision, suggest=False, num_labels=num_labels).fits:
            return [f"training.batch_size={batch}", f"training.gradient_accumulation_steps={accumulation}",
                    f"training.gradient_checkpointing={str(checkpointing).lower()}"]
    return ["nothing tried fits: use method.name=lora with model.load_in_8bit=true, or a smaller model"]


def format_plan(plan: MemoryPlan) -> str:
    """A short table a person reads before training starts."""
    gib = lambda n: f"{n / GIB:6.2f} GiB"  # noqa: E731
    lines = [
        f"Memory plan for {plan.model} ({plan.method}, batch {plan.batch_size} x {plan.sequence_length} "
        f"tokens, {plan.precision}, {plan.weight_bits}-bit weights, checkpointing "
        f"{'on' if plan.gradient_checkpointing else 'off'}):",
        f"  parameters   {plan.trainable_params:,} trainable of {plan.total_params:,}",
        f"  weights      {gib(plan.weights)}", f"  gradients    {gib(plan.gradients)}",
        f"  optimizer    {gib(plan.optimizer)}", f"  activations  {gib(plan.activations)}",
        f"  peak (GPU)   {gib(plan.peak)} + ~{CUDA_OVERHEAD / GIB:.1f} GiB CUDA context",
        f"  budget       {plan.budget_gib:.1f} GiB: {'fits' if plan.fits else 'DOES NOT FIT'}",
    ]
    if plan.suggestions:
        lines.append("  to fit, set: " + " ".join(f"--set {s}" for s in plan.suggestions))
    return "\n".join(lines)

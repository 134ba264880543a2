"""Build a classifier for training: load the base (optionally 8/4-bit) and apply a method.

Methods: `lora` (peft, SEQ_CLS, the classification head in `modules_to_save` so that it is saved
with the adapter), `full`, `head` (frozen encoder) and `freeze` (the last N blocks and the head).
Text and image (ViT) classifiers alike; a built-in architecture (no weights) starts from random weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tp.config import MethodConfig, ModelConfig
from tp.errors import ConfigError, TrainingError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Architecture:
    lora_targets: tuple[str, ...]  # attention projections LoRA adapts (query and value)
    head: tuple[str, ...]  # freshly initialised modules that must be trained and saved
    blocks: str  # dotted path of the encoder's block list, for `freeze`


ARCHITECTURES = {
    "bert": Architecture(("query", "value"), ("classifier",), "bert.encoder.layer"),
    "distilbert": Architecture(("q_lin", "v_lin"), ("pre_classifier", "classifier"),
                               "distilbert.transformer.layer"),
    "roberta": Architecture(("query", "value"), ("classifier",), "roberta.encoder.layer"),
    "camembert": Architecture(("query", "value"), ("classifier",), "roberta.encoder.layer"),
    "xlm-roberta": Architecture(("query", "value"), ("classifier",), "roberta.encoder.layer"),
    "electra": Architecture(("query", "value"), ("classifier",), "electra.encoder.layer"),
    "deberta-v2": Architecture(("query_proj", "value_proj"), ("pooler", "classifier"),
                               "deberta.encoder.layer"),
    # transformers 5 names ViT's projections q_proj/v_proj and its blocks vit.layers (4.x: query/value, encoder.layer)
    "vit": Architecture(("q_proj", "v_proj"), ("classifier",), "vit.layers"),
}


def architecture_of(model_type: str) -> Architecture:
    """LoRA targets, head modules and block list of a supported architecture."""
    if model_type not in ARCHITECTURES:
        raise ConfigError(f"Model type {model_type!r} has no built-in LoRA targets; supported: "
                          f"{', '.join(ARCHITECTURES)}. Set method.target_modules to its attention "
                          "projections to use it anyway.")
    return ARCHITECTURES[model_type]


def pick_precision(requested: str) -> str:
    """`auto` means bf16 on a CUDA GPU that has it, else fp16 on CUDA, else fp32 (CPU)."""
    import torch

    if requested != "auto":
        if requested in ("fp16", "bf16") and not torch.cuda.is_available():
            raise TrainingError(f"training.precision={requested} needs a CUDA GPU; use fp32 or auto on a CPU.")
        return requested
    if not torch.cuda.is_available():
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def quantization_config(model_cfg: ModelConfig, keep_full: tuple[str, ...]) -> Any | None:
    """A BitsAndBytesConfig for 8/4-bit bases; the head stays in full precision (it is trained)."""
    if not (model_cfg.load_in_8bit or model_cfg.load_in_4bit):
        return None
    import torch
    from transformers import BitsAndBytesConfig

    from tp.console import mute_bitsandbytes_cpu_notice

    mute_bitsandbytes_cpu_notice()

    if model_cfg.load_in_4bit and not torch.cuda.is_available():
        raise TrainingError("4-bit training needs a CUDA GPU (bitsandbytes' CPU 4-bit backward "
                            "fails); on a CPU use model.load_in_8bit or full precision.")
    if model_cfg.load_in_8bit:
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(keep_full))
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                              bnb_4bit_compute_dtype=torch.bfloat16, llm_int8_skip_modules=list(keep_full))


def load_base_classifier(model_cfg: ModelConfig, labels: list[str], path: str,
                         head: tuple[str, ...] = ("classifier",), image: bool = False,
                         pretrained: bool = True, problem_type: str | None = None) -> torch.nn.Module:
    """A sequence (or image) classifier with a fresh head for `labels`, from the files at `path`.

    `problem_type` (transformers' config.problem_type) makes the saved config say how to read the logits:
    sigmoid for multi-label, the raw value for regression (one output).

    `pretrained=False`: `path` holds only a config (a built-in architecture), the weights are random.
    """
    from transformers import AutoConfig, AutoModelForImageClassification, AutoModelForSequenceClassification

    model_class = AutoModelForImageClassification if image else AutoModelForSequenceClassification
    from tp.models.classifier import label_config

    label_kwargs = label_config(labels, problem_type)
    if not pretrained:
        if model_cfg.load_in_8bit or model_cfg.load_in_4bit:
            raise ConfigError(f"{model_cfg.source} has no pretrained weights to quantize: it is trained from "
                              "scratch; turn model.load_in_8bit/load_in_4bit off.")
        return model_class.from_config(AutoConfig.from_pretrained(path, **label_kwargs))
    quant = quantization_config(model_cfg, head)
    kwargs: dict[str, Any] = {"quantization_config": quant} if quant is not None else {}
    if quant is not None:
        import torch

        kwargs["device_map"] = {"": 0} if torch.cuda.is_available() else {"": "cpu"}
    if image:
        kwargs["ignore_mismatched_sizes"] = True  # a Hub ViT may carry a 1000-class (ImageNet) head
    return model_class.from_pretrained(path, trust_remote_code=model_cfg.trust_remote_code, **label_kwargs,
                                       **kwargs)


def _module(model: torch.nn.Module, dotted: str) -> Any:
    for part in dotted.split("."):
        model = getattr(model, part, None)
        if model is None:
            return None
    return model


def _set_trainable(model: torch.nn.Module, prefixes: tuple[str, ...]) -> None:
    for name, param in model.named_parameters():
        param.requires_grad = any(name.startswith(p) for p in prefixes)


def apply_method(model: torch.nn.Module, method: MethodConfig, quantized: bool = False,
                 gradient_checkpointing: bool = False) -> torch.nn.Module:
    """Make only what `method` trains trainable; wrap in peft for LoRA."""
    model_type = model.config.model_type
    if model_type not in ARCHITECTURES and method.target_modules:
        arch = Architecture(tuple(method.target_modules), ("classifier",), "")
    else:
        arch = architecture_of(model_type)
    if quantized:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=gradient_checkpointing)
    elif gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if method.name == "lora":
        from peft import LoraConfig, TaskType, get_peft_model

        image = getattr(model, "main_input_name", "") == "pixel_values"
        # SEQ_CLS's forward takes input_ids; an image model gets peft's plain wrapper (pixel_values pass through)
        config = LoraConfig(task_type=None if image else TaskType.SEQ_CLS, r=method.lora_r,
                            lora_alpha=method.lora_alpha,
                            lora_dropout=method.lora_dropout,
                            target_modules=list(method.target_modules or arch.lora_targets),
                            modules_to_save=list(arch.head))
        return get_peft_model(model, config)
    if quantized:
        raise ConfigError(f"method.name={method.name} cannot train 8/4-bit weights; use lora with "
                          "model.load_in_8bit, or turn quantized loading off.")
    if method.name == "head":
        _set_trainable(model, arch.head)
    elif method.name == "freeze":
        blocks = _module(model, arch.blocks)
        if blocks is None:
            raise ConfigError(f"method.name=freeze: no block list at {arch.blocks!r} in {model_type}.")
        n = min(method.train_last_n_blocks, len(blocks))
        last = tuple(f"{arch.blocks}.{i}." for i in range(len(blocks) - n, len(blocks)))
        final_norm = tuple(name for name, _ in model.named_modules()
                           if name.endswith(("layernorm", "pooler")) and name.count(".") == 1)
        _set_trainable(model, last + arch.head + final_norm)
    return model


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameters; 4-bit packed weights count as their logical size."""
    trainable = total = 0
    for param in model.parameters():
        n = param.numel() * (2 if param.__class__.__name__ == "Params4bit" else 1)
        total += n
        trainable += n if param.requires_grad else 0
    return trainable, total

"""The server's settings: one pydantic-settings class read from the environment (prefix `TP_`).

Bad values stop start-up with a message that names the variable and the fix; nothing here imports
torch, so validating settings is instant.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from tp.errors import ConfigError, InputError
from tp.jobs.settings import TrainingSettings
from tp.sources import HUB_ID

log = logging.getLogger("tp.serving")

IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")  # formats the server can be allowed to decode
MODEL_NAME = re.compile(r"^[A-Za-z0-9][\w.-]{0,63}$")
ORIGIN = re.compile(r"^https?://[^/\s]+$")


@dataclass(frozen=True)
class ModelSpec:
    """One model to serve: the name clients use, and where its files are (never chosen by a request)."""

    name: str
    source: str  # an absolute local folder, or a Hub id
    is_local: bool


def _name_for(source: str) -> str:
    name = Path(source.rstrip("/")).name or source
    return re.sub(r"[^\w.-]", "-", name)[:64]


def parse_model_spec(entry: str) -> ModelSpec:
    """`name=source` or a bare `source` (named after its folder) into a checked ModelSpec."""
    name, _, source = entry.partition("=") if "=" in entry else ("", "", entry)
    name, source = name.strip(), source.strip()
    if not source:
        raise ValueError(f"model entry {entry!r} has no source: write name=folder or name=owner/repo")
    local = Path(source).expanduser()
    if local.is_dir():
        source, is_local = str(local.resolve()), True
    elif source.startswith((".", "/", "~")) or not HUB_ID.match(source) or source.count("/") > 1:
        raise ValueError(f"model folder {source!r} does not exist: give an existing run folder, model "
                         "folder or a Hub id (owner/name)")
    else:
        is_local = False
    name = name or _name_for(source)
    if not MODEL_NAME.match(name):
        raise ValueError(f"model name {name!r} should be 1-64 letters, digits, '.', '_' or '-'")
    return ModelSpec(name, source, is_local)


class ServerSettings(TrainingSettings, BaseSettings):
    """Everything the server reads from the environment; each field is `TP_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="TP_", extra="ignore", validate_default=True)

    model: str | None = Field(None, description="One model to serve: a run folder, a model folder or a Hub id.")
    models: str | None = Field(
        None,
        description="Models to serve, comma-separated `name=source` (a run folder, a model folder or a "
                    "Hub id); the first is the default unless TP_DEFAULT_MODEL says otherwise. app.py sets it to "
                    "the shipped models when neither TP_MODEL nor TP_MODELS is set.")
    default_model: str | None = Field(None, description="Name of the model used when a request names none.")
    device: str = Field("auto", description="`auto` (CUDA when available), `cpu`, `cuda` or `cuda:N`.")
    workers: int | None = Field(None, ge=1, le=64,
                                description="Batches in flight per model, each on its own thread (default: 2 on "
                                            "a CPU, so one batch's Python work overlaps the other's; 1 on a GPU).")
    threads: int | None = Field(None, ge=1, le=256,
                                description="torch threads per batch (default: the CPU's cores / TP_WORKERS).")
    quantize: Literal["none", "int8", "bf16"] = Field(
        "none", description="`int8`: int8 weights, activations quantized per batch (CPU; ONNX Runtime or torch); "
                            "`bf16`: bfloat16 weights (torch; fast on GPUs "
                            "and on CPUs with AMX or AVX512-BF16, slower than fp32 on other CPUs).")
    backend: Literal["auto", "torch", "onnx"] = Field(
        "auto", description="What runs text models' batches on a CPU: `onnx` (ONNX Runtime: a fused graph exported "
                            "once into TP_CACHE_DIR; starts seconds sooner), `torch`, or `auto`: ONNX Runtime from "
                            "the start, then torch once it has loaded in the background (fp32; int8 stays on ONNX "
                            "Runtime). GPUs and image models use torch.")
    cache_dir: Path | None = Field(None, description="Where ONNX exports are kept (default: ~/.cache/tp).")
    client_dir: Path | None = Field(None, description="The Vue client's build (vue-client/dist), served at /app; "
                                                      "app.py sets it to its checkout's build.")
    max_batch_size: int = Field(32, ge=1, le=1024, description="Most inputs (texts or images) in one forward pass.")
    max_batch_tokens: int = Field(8192, ge=16, le=10_000_000,
                                  description="Most tokens, padding included, in one forward pass (rows x the "
                                              "longest row; an image counts its patches), as TEI's "
                                              "max_batch_tokens: bounds a pass's memory when long texts come in "
                                              "large batches. A single text is never split. 32 texts of 512 "
                                              "tokens on a CPU: one pass +599 MB at 12.3 texts/s, two passes "
                                              "of 8,192 +287 MB at 15.3 texts/s.")
    max_batch_wait_ms: float = Field(5.0, ge=0, le=10_000, description="How long a batch waits to fill up.")
    max_items: int = Field(64, ge=1, le=10_000, description="Most inputs (texts or images) in one request.")
    max_chars: int = Field(50_000, ge=1, le=10_000_000, description="Most characters in one text.")
    max_tokens: int | None = Field(None, ge=8, le=8192,
                                   description="Tokens per text (longer ones are truncated and flagged); "
                                               "default: the length the model was trained with.")
    max_request_bytes: int = Field(8 << 20, ge=1024, le=1 << 30,
                                   description="Largest request body, JSON or multipart (8 MiB: one 5 MiB image "
                                               "in base64 fits).")
    max_image_bytes: int = Field(5 << 20, ge=1024, le=1 << 30, description="Largest image file (bytes).")
    max_image_pixels: int = Field(4096 * 4096, ge=64, le=1 << 30,
                                  description="Most pixels (width x height) per image, checked from the file's "
                                              "header before decoding: the decompression-bomb guard.")
    image_formats: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["PNG", "JPEG", "WEBP", "GIF", "BMP"],
        description=f"Comma-separated image formats accepted (of {', '.join(IMAGE_FORMATS)}).")
    queue_limit: int = Field(256, ge=1, le=1_000_000,
                             description="Most inputs waiting per model; past it requests get 503.")
    max_concurrent_requests: int = Field(
        128, ge=1, le=100_000, description="Most model requests (POST /api/...) answered at once; past it they get "
                                           "429 with Retry-After, before their body is read.")
    request_timeout_s: float = Field(60.0, gt=0, le=86_400,
                                     description="Longest a request waits for its model (queue and forward pass); "
                                                 "past it the answer is 504.")
    shutdown_timeout_s: float = Field(20.0, ge=0, le=3600,
                                      description="On SIGTERM, how long requests already accepted have to finish "
                                                  "(new ones get 503 meanwhile) before the server exits.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS (none by default).")
    api_key: SecretStr | None = Field(None, description="When set, the REST API and the demo require it.")
    host: str = Field("127.0.0.1", validation_alias=AliasChoices("TP_HOST", "GRADIO_SERVER_NAME"),
                      description="Interface to bind (0.0.0.0 in a container).")
    port: int = Field(7860, ge=1, le=65535, validation_alias=AliasChoices("TP_PORT", "PORT"))
    root_path: str = Field("", description="Public sub-path when served behind a proxy, e.g. /tp.")
    demo: bool = Field(True, description="Mount the Gradio demo at / (false: REST API only).")
    variant: Literal["auto", "none"] = Field(
        "auto", description="`auto`: a run folder with variants measured by `tp optimize` on a CPU of this model is "
                            "served by its fastest variant that the accuracy gate accepted (CPU, no TP_QUANTIZE; "
                            "explanations keep the fp32 weights; /models says which and why); `none`: always the "
                            "run's own weights.")
    force_variants: bool = Field(False, description="Serve compressed variants that their accuracy gate rejected "
                                                    "(refused by default: start-up stops with the reason).")
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if origin != "*" and not ORIGIN.match(origin):
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], e.g. "
                                 "http://localhost:5173")
        return origins

    @field_validator("image_formats", mode="before")
    @classmethod
    def _split_formats(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip().upper() for name in value.split(",") if name.strip()]
        return value

    @field_validator("image_formats")
    @classmethod
    def _check_formats(cls, formats: list[str]) -> list[str]:
        formats = [name.upper().replace("JPG", "JPEG") for name in formats]
        unknown = [name for name in formats if name not in IMAGE_FORMATS]
        if unknown or not formats:
            raise ValueError(f"should be a comma-separated list of {', '.join(IMAGE_FORMATS)}, got "
                             f"{', '.join(unknown) or 'nothing'}")
        return list(dict.fromkeys(formats))

    @field_validator("api_key")
    @classmethod
    def _check_key(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < 16:
            raise ValueError("is shorter than 16 characters: make one with "
                             "python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
        return key

    @field_validator("device")
    @classmethod
    def _check_device(cls, device: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
            raise ValueError(f"should be auto, cpu, cuda or cuda:N, got {device!r}")
        return device

    @field_validator("root_path")
    @classmethod
    def _check_root_path(cls, root: str) -> str:
        root = root.strip().rstrip("/")
        if root and (not root.startswith("/") or " " in root):
            raise ValueError(f"should be a path starting with /, like /tp, got {root!r}")
        return root

    @model_validator(mode="after")
    def _check_models(self) -> ServerSettings:
        try:
            specs = self.specs  # parses and checks every entry
        except ValueError as error:
            raise ValueError(f"{'TP_MODEL' if self.model else 'TP_MODELS'}: {error}") from None
        names = [spec.name for spec in specs]
        if len(set(names)) != len(names):
            raise ValueError(f"TP_MODELS names a model twice ({', '.join(names)}): give each a distinct name")
        if self.default_model is not None and self.default_model not in names:
            raise ValueError(f"TP_DEFAULT_MODEL is {self.default_model!r}, not one of {', '.join(names)}")
        if self.queue_limit < self.max_items:
            raise ValueError(f"TP_QUEUE_LIMIT ({self.queue_limit}) is below TP_MAX_ITEMS ({self.max_items}): a full "
                             "request could never be queued; raise TP_QUEUE_LIMIT or lower TP_MAX_ITEMS")
        if self.backend == "onnx" and self.device.startswith("cuda"):
            raise ValueError("TP_BACKEND=onnx runs on the CPU: set TP_DEVICE=cpu (or auto), or TP_BACKEND=torch "
                             "(or auto) on a GPU")
        if self.backend == "onnx" and self.quantize == "bf16":
            raise ValueError("TP_QUANTIZE=bf16 runs on torch: set TP_BACKEND=torch (or auto)")
        if self.quantize == "int8" and self.device.startswith("cuda"):
            raise ValueError("TP_QUANTIZE=int8 is dynamic quantization for the CPU: set TP_DEVICE=cpu "
                             "(or auto), or TP_QUANTIZE=none on a GPU")
        return self

    @property
    def specs(self) -> list[ModelSpec]:
        """The models to serve, default first; TP_MODEL (one source) wins over TP_MODELS."""
        if self.model:
            entries = [self.model]
        elif self.models is None:
            raise ValueError("no model to serve: set TP_MODEL (a run folder, a model folder or a Hub id) or "
                             "TP_MODELS (name=source,...), or name folders: tp serve models/bbc-news-minilm")
        else:
            entries = [entry for entry in self.models.split(",") if entry.strip()]
        if not entries:
            raise ValueError("TP_MODELS is empty: name at least one model, e.g. bbc=models/bbc-news-minilm")
        specs = [parse_model_spec(entry) for entry in entries]
        if self.default_model:
            specs.sort(key=lambda spec: spec.name != self.default_model)
        return specs

    def check_items(self, items: list[object]) -> None:
        """InputError when a request has more texts, text pairs or images than TP_MAX_ITEMS."""
        if len(items) > self.max_items:
            kind = "texts" if isinstance(items[0], str) else "images" if hasattr(items[0], "image") else "text pairs"
            raise InputError(f"`inputs` has {len(items)} {kind}; the limit is {self.max_items} per request "
                             "(TP_MAX_ITEMS): split them into several requests.")

    def check_texts(self, texts: list[str]) -> None:
        """InputError when a request has too many texts or too long a text (shared by REST and Gradio)."""
        self.check_items(texts)
        for index, text in enumerate(texts):
            self._check_length(text, "`inputs`" if len(texts) == 1 else f"`inputs[{index}]`")

    def check_pairs(self, pairs: list[tuple[str, str]], one: bool = False) -> None:
        """InputError when a request has too many text pairs (each pair is one item) or too long a text in one."""
        self.check_items(pairs)
        for index, pair in enumerate(pairs):
            for name, text in zip(("text", "text_pair"), pair, strict=True):
                self._check_length(text, f"`inputs.{name}`" if one else f"`inputs[{index}].{name}`")

    def _check_length(self, text: str, where: str) -> None:
        if len(text) > self.max_chars:
            raise InputError(f"{where} has {len(text):,} characters; the limit is {self.max_chars:,} "
                             "(TP_MAX_CHARS): shorten it (the model reads only its first tokens anyway).")


def _variable(field: str) -> str:
    aliases = {"host": "TP_HOST", "port": "TP_PORT"}
    return aliases.get(field, f"TP_{field.upper()}")


def load_settings(**overrides: object) -> ServerSettings:
    """Read and check the settings; any problem is one ConfigError naming the variables to fix."""
    known = {_variable(name) for name in ServerSettings.model_fields}
    unknown = sorted(var for var in os.environ if var.startswith("TP_") and var not in known)
    if unknown:  # a typo would otherwise be ignored silently
        log.warning("Ignoring unknown settings %s; known: %s", ", ".join(unknown), ", ".join(sorted(known)))
    try:
        return ServerSettings(**overrides)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            field = str(problem["loc"][0]) if problem["loc"] else ""
            message = problem["msg"].removeprefix("Value error, ")
            if not field:  # a check across fields: its message names the variables
                lines.append(message)
                continue
            shown = "" if field == "api_key" else f"={problem['input']!r}"  # never echo a secret
            lines.append(f"{_variable(field)}{shown}: {message}")
        raise ConfigError("Invalid server settings:\n  " + "\n  ".join(lines)) from None

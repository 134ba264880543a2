"""Classification metrics with scikit-learn (evaluate.load needs the Hub; this does not)."""

from __future__ import annotations

import resource
import sys
from importlib import metadata
from typing import Any

PACKAGES = ("torch", "transformers", "peft", "accelerate", "datasets", "bitsandbytes",
            "scikit-learn", "huggingface_hub", "tp")


def classification_metrics(y_true: list[int], y_pred: list[int], labels: list[str],
                           prefix: str = "test") -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    ids = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=ids, zero_division=0)
    return {
        f"{prefix}_accuracy": float(accuracy_score(y_true, y_pred)),
        f"{prefix}_macro_f1": float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0)),
        f"{prefix}_size": len(y_true),
        f"{prefix}_per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])} for i, name in enumerate(labels)},
        f"{prefix}_confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
    }


def training_state_bytes(model: Any, optimizer: Any) -> dict[str, int]:
    """Bytes held by weights, gradients and optimizer states, counted from the tensors themselves."""
    import torch

    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    gradients = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    states = 0
    if optimizer is not None:
        for state in optimizer.state.values():
            states += sum(v.numel() * v.element_size() for v in state.values() if isinstance(v, torch.Tensor))
    return {"weights_bytes": weights, "gradients_bytes": gradients, "optimizer_bytes": states,
            "training_state_bytes": weights + gradients + states}


def peak_rss_bytes() -> int:
    """This process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def package_versions() -> dict[str, str]:
    """Versions of the libraries that shape a run's results."""
    versions = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    import platform
    from pathlib import Path

    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def torch_capability_under(env: dict[str, str]) -> str:
    """The ISA torch picks in a process started with `env` on top of this one's (ATEN_CPU_CAPABILITY caps it)."""
    import os
    import subprocess
    import sys

    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout.strip()


def cpu_record(env: dict[str, str] | None = None) -> dict[str, Any]:
    """What a benchmark report says of the CPU: model, cores, the ISA torch uses, and AVX-512 / AMX flags. With
    `env` (the settings a measured server was started with), the ISA is the one torch uses under them."""
    import os
    from pathlib import Path

    import torch

    flags: set[str] = set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        line = next((x for x in cpuinfo.read_text(errors="replace").splitlines() if x.startswith("flags")), "")
        flags = set(line.split(":", 1)[-1].split())
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8", "amx_tile")
    capability = torch_capability_under(env) if env else torch.backends.cpu.get_cpu_capability()
    return {"cpu": cpu_name(), "cpus": os.cpu_count(), "torch_cpu_capability": capability,
            "isa_flags": sorted(f for f in wanted if f in flags)}


def describe_cpu(record: dict[str, Any]) -> str:
    """One report line for a cpu_record(): the model, its CPUs, the ISA torch uses and the flags that matter."""
    return (f"CPU: {record['cpu']} ({record['cpus']} CPUs; torch {record['torch_cpu_capability']}; "
            f"{' '.join(record['isa_flags']) or 'no AVX2/AVX-512/AMX flags'})")

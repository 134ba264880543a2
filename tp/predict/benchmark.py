"""`tp benchmark predict`: tp predict against a naive loop of `transformers.pipeline` calls, one text at a time,
on the same real BBC News articles, in the same run, on the same CPU threads.

Both see the same texts cut to the model's max length. The texts are split into rounds that alternate which
of the two goes first, so other jobs on a shared machine weigh on both alike. Reported for each: the model
load (tp: per run of `tp predict`, averaged; the baseline: `pipeline()` on a plain model folder, made once
beforehand), the prediction time and texts/s (tp's includes reading the file and writing the output; the
loop's only its calls), end to end (one load plus all the predicting), the ratio, how often the labels agree,
and the CPU.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from tp.errors import ConfigError
from tp.tasks import TEXT


def bbc_texts(rows: int) -> Any:
    """`rows` real BBC News articles, a seeded sample across the topics (repeated past the corpus's 2,225)."""
    import pandas as pd

    from tp.data.sources import read_bbc_news

    frame = read_bbc_news()
    repeats = -(-rows // len(frame))
    sample = pd.concat([frame.sample(frac=1.0, random_state=seed) for seed in range(repeats)], ignore_index=True)
    sample = sample.iloc[:rows].reset_index(drop=True)
    return pd.DataFrame({"id": range(rows), "text": sample["text"]})


class PipelineLoop:
    """The naive baseline: the model saved as a plain folder, `pipeline()` on it, one call per text."""

    def __init__(self, model: str, folder: Path) -> None:
        from transformers import pipeline

        from tp.models.loading import load_classifier

        classifier = load_classifier(model)
        classifier.model.save_pretrained(folder)
        classifier.tokenizer.save_pretrained(folder)
        self.max_length = classifier.max_length
        del classifier
        start = time.perf_counter()
        self.pipe = pipeline("text-classification", model=str(folder), tokenizer=str(folder), device="cpu")
        self.load_seconds = time.perf_counter() - start

    def __call__(self, texts: list[str]) -> tuple[list[str], float]:
        start = time.perf_counter()
        labels = [self.pipe(text, truncation=True, max_length=self.max_length)[0]["label"] for text in texts]
        return labels, time.perf_counter() - start


def run_benchmark(model: str, rows: int, batch_size: int, backend: str, part_size: int,
                  rounds: int = 3) -> dict[str, Any]:
    import pandas as pd
    import torch

    from tp.evaluation.metrics import cpu_record
    from tp.models.loading import folder_task
    from tp.predict.backend import model_folder
    from tp.predict.run import PredictConfig, predict

    if rows < 1 or rounds < 1:
        raise ConfigError(f"--rows and --rounds must be at least 1 (got {rows} and {rounds}).")
    if folder_task(model_folder(model)) != TEXT.name:
        raise ConfigError(f"{model} is not a text classifier: the benchmark predicts BBC News texts.")
    frame = bbc_texts(rows)
    load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    tp_labels: dict[int, list[str]] = {}
    naive_labels: dict[int, list[str]] = {}
    tp_runs: list[Any] = []
    naive_seconds = 0.0
    bounds = [rows * r // rounds for r in range(rounds + 1)]
    with tempfile.TemporaryDirectory(prefix="tp-bench-predict-") as tmp:
        (Path(tmp) / "plain").mkdir()
        naive = PipelineLoop(model, Path(tmp) / "plain")
        for r in range(rounds):
            part = frame.iloc[bounds[r]:bounds[r + 1]]
            if part.empty:
                continue
            data, output = Path(tmp) / f"bbc-{r}.csv", Path(tmp) / f"predictions-{r}.csv"
            part.to_csv(data, index=False)

            for runner in (("tp", "pipeline") if r % 2 == 0 else ("pipeline", "tp")):
                if runner == "tp":
                    tp_runs.append(predict(PredictConfig(model, data, output, batch_size=batch_size,
                                                         part_size=part_size, backend=backend, device="cpu",
                                                         progress=False)))
                    tp_labels[r] = pd.read_csv(output)["label"].tolist()
                else:
                    naive_labels[r], seconds = naive(part["text"].tolist())
                    naive_seconds += seconds
    tp_seconds = sum(run.predict_seconds for run in tp_runs)
    tp_load = sum(run.load_seconds for run in tp_runs) / len(tp_runs)
    tp_wall, naive_wall = tp_load + tp_seconds, naive.load_seconds + naive_seconds
    agree = sum(a == b for r in tp_labels for a, b in zip(tp_labels[r], naive_labels[r], strict=True))
    return {
        "model": model, "rows": rows, "rounds": len(tp_runs), "batch_size": batch_size, "part_size": part_size,
        "torch_threads": torch.get_num_threads(), "load_average": load_average, **cpu_record(),
        "tp": {"backend": tp_runs[0].backend, "load_seconds": tp_load, "predict_seconds": tp_seconds,
               "texts_per_s": rows / tp_seconds, "end_to_end_seconds": tp_wall,
               "end_to_end_texts_per_s": rows / tp_wall},
        "pipeline_loop": {"load_seconds": naive.load_seconds, "predict_seconds": naive_seconds,
                          "texts_per_s": rows / naive_seconds, "end_to_end_seconds": naive_wall,
                          "end_to_end_texts_per_s": rows / naive_wall},
        "speedup": naive_seconds / tp_seconds,
        "end_to_end_speedup": naive_wall / tp_wall,
        "label_agreement": agree / rows,
    }


def format_report(report: dict[str, Any]) -> str:
    from tp.evaluation.metrics import describe_cpu

    tp, naive = report["tp"], report["pipeline_loop"]
    busy = report.get("load_average") is not None and report["load_average"] > 0.5 * report["cpus"]
    lines = [
        f"tp predict vs a pipeline() loop: {report['rows']} BBC News texts, {report['model']}, "
        f"{report['rounds']} alternating round(s)",
        f"{describe_cpu(report)}, torch threads {report['torch_threads']}",
        *([f"load average {report['load_average']:.1f} at the start: other jobs share these cores"] if busy else []),
        f"{'':24}{'load s':>9}{'predict s':>11}{'texts/s':>10}{'end-to-end s':>14}{'texts/s':>10}",
        f"{'tp predict (' + tp['backend'] + ')':24}{tp['load_seconds']:9.1f}{tp['predict_seconds']:11.1f}"
        f"{tp['texts_per_s']:10.1f}{tp['end_to_end_seconds']:14.1f}{tp['end_to_end_texts_per_s']:10.1f}",
        f"{'pipeline, 1 text a call':24}{naive['load_seconds']:9.1f}{naive['predict_seconds']:11.1f}"
        f"{naive['texts_per_s']:10.1f}{naive['end_to_end_seconds']:14.1f}{naive['end_to_end_texts_per_s']:10.1f}",
        f"ratio (tp / pipeline): {report['speedup']:.2f}x texts/s predicting, {report['end_to_end_speedup']:.2f}x "
        "end to end",
        f"labels agree on {report['label_agreement']:.1%} of the texts "
        f"(tp batch {report['batch_size']}, parts of {report['part_size']} rows)",
    ]
    return "\n".join(lines)

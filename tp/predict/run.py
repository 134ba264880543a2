"""The bulk prediction loop: `tp predict MODEL --data FILE --output OUT` (tp.cli.predict is its command line).

Each process reads the input part by part (tp.predict.reader), predicts the parts it owns (part i goes to
process i mod N) that are not done yet, texts (or text pairs) sorted by length within a part so batches carry
little padding, writes each part back in input order with the problem's columns (tp.predict.columns: `label`
and `score`; multi-label `labels`; regression `value`) through tp.predict.writer; the main process then waits
for every part's done marker and merges them into OUT.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tp.errors import ConfigError
from tp.models.loading import folder_task
from tp.predict import processes
from tp.predict.backend import Predictor, load_predictor, model_folder, pick_backend, pick_device
from tp.predict.columns import PredictionColumns
from tp.predict.reader import Source, open_source
from tp.predict.task_inputs import TaskInputs, task_inputs
from tp.predict.writer import PartStore, check_output
from tp.tasks import IMAGE, TEXT

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


@dataclass
class PredictConfig:
    model: str
    data: Path
    output: Path
    text_column: str | None = None  # None: "text" (a pair model: the text column its run recorded)
    image_column: str = "image"
    batch_size: int = 32
    part_size: int = 1000
    all_scores: bool = False
    prefix: str = ""  # of the added columns: `pred_` gives pred_label, pred_score, pred_score_<label>
    backend: str = "auto"
    quantize: str = "none"
    device: str = "auto"
    threads: int | None = None
    overwrite: bool = False
    max_parts: int | None = None  # stop after predicting this many parts (a rerun does the rest)
    encoding: str = "utf-8"
    progress: bool | None = None  # None: a bar when stderr is a terminal
    text_pair_column: str | None = None  # pair models: the second text (None: the column the run recorded)
    threshold: float | None = None  # multi-label: one decision threshold for every label (None: the run's)
    label_separator: str = "|"  # multi-label into CSV: joins a row's labels (JSONL and Parquet hold lists)


@dataclass
class PredictResult:
    status: str  # "done" (OUT written), "finished before", "stopped" (max_parts), "shard done" (not the main process)
    output: Path
    unit: str  # "texts" or "images"
    rows: int = 0  # predicted by this process in this run
    parts_predicted: int = 0
    parts_skipped: int = 0  # done by an earlier run
    parts_total: int | None = None
    rows_written: int | None = None  # rows of OUT, when this run wrote it
    backend: str = ""
    device: str = ""
    load_seconds: float = 0.0
    predict_seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.rows / self.predict_seconds if self.predict_seconds else 0.0


def _length(item: Any) -> int:
    return len(item[0]) + len(item[1]) if isinstance(item, tuple) else len(item)


def predict_part(predictor: Predictor, source: Source, inputs: TaskInputs, frame: pd.DataFrame, index: int,
                 batch_size: int, advance: Callable[[int], Any]) -> np.ndarray:
    """Logits of one part's rows, in the part's order (texts and pairs batched by length)."""
    import numpy as np

    logits = np.zeros((len(frame), len(predictor.labels)), dtype=np.float32)
    texts = inputs.texts(source, frame, index) if predictor.task == TEXT.name else None
    order = sorted(range(len(frame)), key=lambda i: _length(texts[i])) if texts is not None else \
        list(range(len(frame)))
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        items = [texts[i] for i in rows] if texts is not None else source.open_images(frame, index, rows)
        logits[rows] = predictor.logits(items)
        advance(len(rows))
    return logits


def _check_names(source: Source, columns: PredictionColumns) -> None:
    taken = sorted(set(source.columns) & set(columns.names()))
    if taken:
        raise ConfigError(f"{source.path.name} already has column(s) {', '.join(taken)}: pass --prefix pred_ to "
                          f"add {', '.join('pred_' + name for name in columns.names()[:2])}... instead, or rename "
                          "them in the input.")


def _check_config(cfg: PredictConfig, procs: processes.Processes) -> None:
    for name, value in (("--batch-size", cfg.batch_size), ("--part-size", cfg.part_size),
                        ("--max-parts", cfg.max_parts), ("--threads", cfg.threads)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1 (got {value}).")
    if cfg.threshold is not None and not 0.0 < cfg.threshold < 1.0:
        raise ConfigError(f"--threshold {cfg.threshold:g} is a sigmoid score: give one between 0 and 1 (e.g. 0.5).")
    if not cfg.label_separator:
        raise ConfigError("--label-separator is empty: give the character that joins a row's labels, e.g. '|'.")
    if cfg.max_parts is not None and procs.world > 1:
        raise ConfigError("--max-parts stops one process early; with several, run without it.")


def predict(cfg: PredictConfig, notice: Callable[[str], None] | None = None) -> PredictResult:
    """Run (or resume) one bulk prediction in this process; see the module docstring."""
    import torch

    notice = notice or (lambda line: print(line, file=sys.stderr, flush=True))
    procs = processes.current()
    _check_config(cfg, procs)
    suffix = check_output(Path(cfg.output))
    if Path(cfg.output).expanduser().resolve() == Path(cfg.data).expanduser().resolve():
        raise ConfigError(f"--output {cfg.output} is the input file: name another file (it keeps every input column).")
    folder = model_folder(cfg.model)
    task = folder_task(folder)
    inputs = task_inputs(folder, cfg.text_column, cfg.text_pair_column, cfg.threshold)
    column = cfg.image_column if task == IMAGE.name else inputs.text_column
    source = open_source(Path(cfg.data), task, column, cfg.part_size, cfg.encoding)
    inputs.check(source)
    separator = cfg.label_separator if suffix == ".csv" else None
    columns = PredictionColumns(inputs.problem, [], cfg.prefix, cfg.all_scores, separator=separator)
    _check_names(source, columns)
    unit = "images" if task == IMAGE.name else "texts"
    device = pick_device(cfg.device, procs.local_rank)
    backend = pick_backend(cfg.backend, task, device, folder, cfg.quantize)
    manifest = {"model": str(folder.resolve()), **source.fingerprint, "column": column, "part_size": cfg.part_size,
                "all_scores": cfg.all_scores, "prefix": cfg.prefix, **inputs.manifest(separator)}
    store = PartStore(Path(cfg.output), manifest)
    result = PredictResult("finished before", store.output, unit, backend=backend, device=device)
    if device == "cpu" and (cfg.threads or procs.world > 1):
        torch.set_num_threads(cfg.threads or processes.cpu_threads(procs))
    predictor = None
    try:
        with procs.main_first():  # the main one cleans up, writes the manifest and fills the ONNX cache first
            if not store.finished() or (cfg.overwrite and procs.main):
                if procs.main:
                    store.prepare(cfg.overwrite)
                else:
                    store.check_manifest()
                predictor = load_predictor(cfg.model, folder, backend, device, cfg.quantize,
                                           fallback=cfg.backend == "auto")
        if predictor is None:
            return result
        result.backend, result.device, result.load_seconds = predictor.backend, predictor.device, \
            predictor.load_seconds
        columns = PredictionColumns(predictor.problem, predictor.labels, cfg.prefix, cfg.all_scores,
                                    predictor.thresholds, cfg.threshold, separator)
        _check_names(source, columns)
        _loop(cfg, procs, source, inputs, columns, store, predictor, result, notice)
    finally:
        procs.close()
    return result


def _pending_rows(source: Source, store: PartStore, procs: processes.Processes, max_parts: int | None) -> int | None:
    if source.total is None:
        return None
    count = -(-source.total // source.part_size)
    mine = [i for i in range(count) if procs.owns(i) and not store.is_done(i)][:max_parts]
    return sum(source.part_rows(i) or 0 for i in mine)


def _loop(cfg: PredictConfig, procs: processes.Processes, source: Source, inputs: TaskInputs,
          columns: PredictionColumns, store: PartStore, predictor: Predictor, result: PredictResult,
          notice: Callable[[str], None]) -> None:
    from tqdm.auto import tqdm

    progress = sys.stderr.isatty() if cfg.progress is None else cfg.progress
    bar = tqdm(total=_pending_rows(source, store, procs, cfg.max_parts), unit=f" {result.unit}",
               desc=f"{procs.label()}predict", disable=not progress, dynamic_ncols=True, smoothing=0.1,
               position=procs.local_rank if procs.world > 1 else None, file=sys.stderr)
    start = time.perf_counter()
    count, stopped = 0, False
    with bar:
        for index, frame in source.parts():
            count = index + 1
            if not procs.owns(index):
                continue
            if store.is_done(index):
                result.parts_skipped += 1
                bar.set_postfix_str(f"{result.parts_skipped} part(s) done before", refresh=False)
                continue
            if cfg.max_parts is not None and result.parts_predicted >= cfg.max_parts:
                stopped = True
                break
            logits = predict_part(predictor, source, inputs, frame, index, cfg.batch_size, bar.update)
            store.write_part(index, columns.added_to(frame, logits))
            result.parts_predicted += 1
            result.rows += len(frame)
    result.predict_seconds = time.perf_counter() - start
    if stopped:
        result.status = "stopped"
        return
    result.parts_total = count
    if not procs.main:
        result.status = "shard done"
        return
    store.wait_for(count, notice)
    result.rows_written = store.merge(count)
    result.status = "done"

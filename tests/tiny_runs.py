"""Run folders around tiny models, built the way a training run leaves them: for fast unit tests only."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

BBC_LABELS = ["business", "entertainment", "politics", "sports", "tech"]


def untrained_text_run(run: Path, tiny_bert_dir: Path, frame) -> Path:
    """A run folder around an untrained 2-layer BERT whose recorded data is a CSV of `frame` (BBC articles)."""
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    config = BertConfig.from_pretrained(tiny_bert_dir, num_labels=5, id2label=dict(enumerate(BBC_LABELS)),
                                        label2id={n: i for i, n in enumerate(BBC_LABELS)})
    BertForSequenceClassification(config).save_pretrained(run / "model")
    AutoTokenizer.from_pretrained(tiny_bert_dir).save_pretrained(run / "model")
    frame.to_csv(run.parent / "bbc.csv", index=False)
    recipe = {"name": run.name, "data": {"source": str(run.parent / "bbc.csv")}}
    (run / "config.yaml").write_text(yaml.safe_dump(recipe))
    (run / "tp.json").write_text(json.dumps({"name": run.name, "task": "text-classification", "labels": BBC_LABELS,
                                             "base_model": "tiny-bert", "max_length": 64}))
    return run

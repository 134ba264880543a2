"""Run folders of the tasks beyond one label per text, trained for a few steps on tiny BERTs and real data.

Data: `tests/data/disaster_messages_400.jsonl` (400 real disaster-response messages with their aid categories,
a seeded sample of the train split of `builtin:disaster-messages`) and `tests/data/sts_b_400.tsv` (400 real
STS Benchmark sentence pairs with their 0-5 similarity scores, a seeded sample of the train split of
`builtin:sts-b`). Tiny models learn nothing in a few steps: these runs test plumbing, never accuracy.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
MULTI_LABEL_DATA = DATA / "disaster_messages_400.jsonl"
PAIRS_DATA = DATA / "sts_b_400.tsv"
QUICK = ["model.max_length=64", "training.max_steps=6", "training.batch_size=16", "training.eval_strategy=steps",
         "training.eval_steps=3", "training.logging_steps=1"]
MULTI_LABEL_SETTINGS = [f"data.source={MULTI_LABEL_DATA}", "data.label_column=labels"]
PAIR_REGRESSION_SETTINGS = [f"data.source={PAIRS_DATA}", "data.text_column=sentence1",
                            "data.text_pair_column=sentence2", "data.label_column=score", "data.task=regression"]


def save_tiny_bert(folder: Path, tokenizer_dir: Path) -> Path:
    """A 2-layer, 32-wide BERT with the tokenizer of `tokenizer_dir` (MiniLM's): for fast tests only."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=128)
    BertModel(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tokenizer_dir).save_pretrained(folder)
    return folder


def train_tiny(tiny_bert_dir: Path, output: Path, name: str, settings: list[str], method: str = "lora") -> Path:
    """A run folder trained 6 steps from the tiny BERT with `settings` (data and task) and `method`."""
    from tp.config import load_recipe
    from tp.training.train import train

    recipe = load_recipe(None, [*QUICK, *settings, f"model.source={tiny_bert_dir}", f"output_dir={output}",
                                f"name={name}", f"method.name={method}"])
    return train(recipe)


def main(output: Path) -> None:
    """`python tests/tiny_tasks.py OUT`: OUT/multi (multi-label) and OUT/pairs (pair regression), as the
    multi_label_run and pair_regression_run fixtures make them; the Vue client's e2e tests serve them."""
    from tp.sources import builtin_path

    bert = save_tiny_bert(output / "tiny-bert", builtin_path("builtin:minilm"))
    train_tiny(bert, output, "multi", MULTI_LABEL_SETTINGS)
    train_tiny(bert, output, "pairs", PAIR_REGRESSION_SETTINGS)


if __name__ == "__main__":
    import sys

    main(Path(sys.argv[1]))

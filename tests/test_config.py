from pathlib import Path

import pytest

from tp.config import load_recipe
from tp.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("recipe", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_recipes_are_valid(recipe: Path) -> None:
    loaded = load_recipe(recipe)
    assert loaded.name and loaded.model.source and loaded.data.source


def test_overrides_apply_with_types() -> None:
    recipe = load_recipe(ROOT / "configs/bbc-minilm-lora.yaml",
                         ["training.epochs=1", "method.lora_r=4", "data.max_train_samples=10", "name=x"])
    assert recipe.training.epochs == 1.0
    assert recipe.method.lora_r == 4
    assert recipe.data.max_train_samples == 10
    assert recipe.run_dir == Path("runs/x")


@pytest.mark.parametrize("override, message", [
    ("training.epoch=1", "Unknown key `training.epoch`"),
    ("method.name=prefix", "`method.name` should be auto or one of"),
    ("method.lora_r=0", "`method.lora_r` should be positive, got 0"),
    ("training.learning_rate=abc", "`training.learning_rate` should be of type float"),
    ("training.batch_size=2.5", "`training.batch_size` should be of type int"),
    ("model.load_in_8bit=yes-please", "`model.load_in_8bit` should be true or false"),
    ("data.test_size=1.5", "`data.test_size` should be in (0, 0.9), got 1.5"),
    ("data.empty_texts=keep", "`data.empty_texts` should be `drop` or `error`"),
    ("name=../escape", "`name` should be a plain folder name"),
    ("training=3", "`training` should be a mapping"),
])
def test_bad_values_are_rejected_naming_the_value(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_recipe(None, [override])
    assert message in str(error.value)


def test_scientific_notation_is_a_float(tmp_path: Path) -> None:
    recipe = tmp_path / "r.yaml"
    recipe.write_text("training:\n  learning_rate: 5e-5\n")  # YAML 1.1 reads this as a string
    assert load_recipe(recipe, ["training.weight_decay=1e-2"]).training.learning_rate == 5e-5
    assert load_recipe(recipe, ["training.weight_decay=1e-2"]).training.weight_decay == 0.01


def test_8bit_and_4bit_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="pick one"):
        load_recipe(None, ["model.load_in_8bit=true", "model.load_in_4bit=true"])


def test_missing_and_malformed_recipe_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_recipe(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="should be a mapping"):
        load_recipe(bad)


def test_short_runs_log_their_loss_often_and_max_length_fits_the_models_positions() -> None:
    from transformers import BertConfig

    from tp.training.defaults import fit_max_length, resolve_recipe

    recipe, _ = resolve_recipe(load_recipe(None, ["training.max_steps=30"]), 200, 3)
    assert recipe.training.logging_steps == 1  # 30 steps: a loss every step, not 3 in all
    recipe, _ = resolve_recipe(load_recipe(None, ["training.max_steps=5000"]), 200, 3)
    assert recipe.training.logging_steps == 10  # the configured interval when the run is long enough
    capped, line = fit_max_length(recipe, BertConfig(max_position_embeddings=128))
    assert capped.model.max_length == 128 and "128 positions" in line
    assert fit_max_length(capped, BertConfig(max_position_embeddings=512)) == (capped, None)

import pytest

from tp.config import load_recipe
from tp.training.memory_plan import GIB, activation_bytes, format_plan, plan_memory


def test_minilm_lora_counts_match_the_real_model() -> None:
    plan = plan_memory(load_recipe(None, ["model.source=builtin:minilm"]), num_labels=5)
    assert plan.trainable_params == 75_653  # r=8 on query/value: 6 x 2 x 8 x (384 + 384) + head 384 x 5 + 5
    assert plan.total_params == 22_713_216 + 75_653  # all-MiniLM-L6-v2 has 22,713,216 parameters
    assert plan.gradients == plan.trainable_params * 4
    assert plan.optimizer == plan.trainable_params * 8


def test_activation_arithmetic_on_a_known_shape() -> None:
    class Shape:
        hidden_size, num_attention_heads, num_hidden_layers = 768, 12, 6

    s, b = 128, 32
    per_layer = s * b * 768 * 34 + 5 * 12 * s * s * b
    embeddings = s * b * 768 * 3 + s * b * 24
    assert activation_bytes(Shape, b, s, 2, False) == embeddings + 6 * per_layer
    with_checkpointing = activation_bytes(Shape, b, s, 2, True)
    assert with_checkpointing == embeddings + 6 * s * b * 768 * 2 + per_layer
    assert with_checkpointing < activation_bytes(Shape, b, s, 2, False) / 3


def test_8bit_weights_shrink_and_full_training_costs_more() -> None:
    lora = plan_memory(load_recipe(None, []))
    eight = plan_memory(load_recipe(None, ["model.load_in_8bit=true"]))
    full = plan_memory(load_recipe(None, ["method.name=full"]))
    # MiniLM's Linear weights: 6 x (4 x 384^2 + 2 x 384 x 1536) + pooler 384^2 go from 4 bytes to 1;
    # the 11.7 M-parameter embedding table is not a Linear layer and stays fp32
    linear = 6 * (4 * 384**2 + 2 * 384 * 1536) + 384**2
    assert eight.weights == lora.weights - 3 * linear
    assert full.optimizer == full.total_params * 8
    assert full.peak > lora.peak


def test_a_plan_that_does_not_fit_suggests_one_that_does() -> None:
    recipe = load_recipe(None, ["training.batch_size=256", "model.max_length=512"])
    plan = plan_memory(recipe, budget_gib=2.0)
    assert not plan.fits
    assert any(s.startswith("training.batch_size=") for s in plan.suggestions)
    fixed = load_recipe(None, ["training.batch_size=256", "model.max_length=512", *plan.suggestions])
    assert plan_memory(fixed, budget_gib=2.0).fits
    assert "DOES NOT FIT" in format_plan(plan)


@pytest.mark.parametrize("budget", [8.0])
def test_plan_is_printed_in_gib(budget: float) -> None:
    text = format_plan(plan_memory(load_recipe(None, []), budget_gib=budget))
    assert "GiB" in text and "fits" in text
    assert GIB == 1024**3

"""Examples from the picked model's test split under the demo's text tabs: single texts, or text pairs in two fields.

A run records a few test inputs in tp.json (`examples`: texts, or [text, text_pair] lists for a pair model). Each tab
has one example set of each shape; the one the picked model takes shows its examples, the other hides, and both
follow the model picker. Clicking an example fills the tab's boxes.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

LABEL = "Examples from the test split"


def model_examples(registry: Any, name: str | None) -> tuple[list[list[str]], list[list[str]]]:
    """(the model's single-text examples as one-field rows, its pair examples as [text, text_pair] rows); empty
    for a model without recorded examples or one the server does not know (yet)."""
    known = name is not None and (name in registry.models or name in registry.names)
    found = registry.run_info(name).get("examples", []) if known else []
    texts = [[example] for example in found if isinstance(example, str)]
    pairs = [list(example) for example in found
             if isinstance(example, list) and len(example) == 2 and all(isinstance(text, str) for text in example)]
    return texts, pairs


def example_updates(registry: Any, name: str | None) -> tuple[Any, Any]:
    """Updates of a tab's two example sets for the model `name`: its examples in the set of its shape, shown."""
    texts, pairs = model_examples(registry, name)
    return gr.update(samples=texts, visible=bool(texts)), gr.update(samples=pairs, visible=bool(pairs))


def example_sets(registry: Any, first: str | None, text: gr.Textbox, text_pair: gr.Textbox,
                 api_prefix: str) -> list[gr.Dataset]:
    """A tab's two example sets (one text; a pair in two fields), showing the examples of `first`, and their clicks
    that fill the tab's boxes (events `{api_prefix}_example` and `{api_prefix}_example_pair`)."""
    texts, pairs = model_examples(registry, first)
    single = gr.Dataset(components=[text], samples=texts, label=LABEL, visible=bool(texts))
    paired = gr.Dataset(components=[text, text_pair], samples=pairs, label=LABEL, visible=bool(pairs),
                        headers=["Text", "Second text (text_pair)"])
    single.click(lambda row: row[0], single, text, api_name=f"{api_prefix}_example")
    paired.click(lambda row: (row[0], row[1]), paired, [text, text_pair], api_name=f"{api_prefix}_example_pair")
    return [single, paired]

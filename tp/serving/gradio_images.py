"""The demo's image tab: upload an image, see the scores and a heatmap of what the model looked at.

Shown only when an image model is served. It decodes uploads with the REST API's checks (bytes,
pixels, formats) and calls the same registry, so the same micro-batcher; tp's errors become `gr.Error`.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.concurrency import run_in_threadpool

from tp.errors import TpError
from tp.serving.images import decode_images, example_files, image_limits
from tp.serving.registry import ModelRegistry
from tp.serving.settings import ServerSettings
from tp.tasks import IMAGE


def image_model_names(registry: ModelRegistry) -> list[str]:
    return [name for name in registry.names if registry.planned_task(name) == IMAGE.name]


def _png(data: str) -> Any:
    from PIL import Image

    return Image.open(io.BytesIO(base64.b64decode(data)))


def example_rows(registry: ModelRegistry, name: str, settings: ServerSettings) -> list[list[Any]]:
    """The model's examples/*.png as Examples rows ([] when its folder has none, or it is a Hub id).

    Loaded as images, so Gradio caches copies and never serves a file from the model folder."""
    from PIL import Image

    spec = next(spec for spec in registry.specs if spec.name == name)
    folder = Path(spec.source) if spec.is_local else None
    rows = []
    for _, path in example_files(folder, [], settings.max_image_bytes):
        with Image.open(path) as image:
            rows.append([image.copy()])
    return rows


def image_tab(registry: ModelRegistry, settings: ServerSettings, names: list[str],
              more_models: bool = False) -> gr.Dropdown:
    """The tab's components and events (`classify_image`, `explain_image`), inside the caller's Blocks; its model
    picker, which takes names beyond the first choices when `more_models` (training jobs serve models)."""
    limits = image_limits(settings)

    async def decoded(path: str | None) -> Any:
        if not path:
            raise gr.Error("Upload an image first.")
        try:
            data = await run_in_threadpool(Path(path).read_bytes)
            (image,) = await run_in_threadpool(decode_images, [data], limits, True)
        except TpError as error:
            raise gr.Error(str(error)) from None
        return image

    async def classify(path: str | None, name: str) -> dict[str, float]:
        image = await decoded(path)
        try:
            served, (scores,) = await registry.classify(name, [image], images=True)
        except TpError as error:
            raise gr.Error(str(error)) from None
        return dict(zip(served.labels, scores.probabilities, strict=True))

    async def explain(path: str | None, name: str, method: str) -> tuple[Any, ...]:
        image = await decoded(path)
        try:
            served = registry.get(name)
            served.check_kind(True)
            result = await served.explain(image, method, 16, None)
        except TpError as error:
            raise gr.Error(str(error)) from None
        summary = (f"**{result['label']}** ({result['score']:.1%}). The heatmap ({method.replace('_', ' ')}, "
                   f"{result['width']}x{result['height']}, the model's input size) is bright where the model "
                   f"looked to score **{result['target']}**.")
        scores = dict(zip(served.labels, result["probabilities"], strict=True))
        return summary, scores, _png(result["overlay_png"]), _png(result["heatmap_png"])

    with gr.Tab("Image"):
        model = gr.Dropdown(names, value=names[0], label="Image model", visible=len(names) > 1,
                            allow_custom_value=more_models)
        formats = ", ".join(settings.image_formats)
        # filepath, no mode conversion: the upload reaches the server's own checks as sent
        upload = gr.Image(type="filepath", image_mode=None, label=f"Image ({formats})", sources=["upload"])
        with gr.Row():
            run = gr.Button("Classify", variant="primary")
            method = gr.Radio(list(IMAGE.explain_methods), value=IMAGE.default_explain_method, label="Heatmap")
            explain_button = gr.Button("Explain")
        examples = example_rows(registry, names[0], settings)
        if examples:
            gr.Examples(examples, inputs=[upload], label="Examples, one per label")
        summary = gr.Markdown()
        label = gr.Label(num_top_classes=10, label="Scores")
        with gr.Row():
            overlay = gr.Image(label="Heatmap over the input", type="pil", interactive=False)
            heatmap = gr.Image(label="Heatmap", type="pil", interactive=False)
        run.click(classify, [upload, model], [label], api_name="classify_image", concurrency_limit=None)
        explain_button.click(explain, [upload, model, method], [summary, label, overlay, heatmap],
                             api_name="explain_image", concurrency_limit=None)
    return model

"""Behind the pipeline for images: what an image classifier looked at, as a heatmap.

Image -> the processor's resize and normalisation -> logits -> softmax -> label, plus a heatmap over the
model's input: `saliency` (the magnitude of the target logit's gradient on each pixel, smoothed over a
few pixels) or `attention_rollout` (attention from [CLS] to each patch, multiplied through the layers,
Abnar & Zuidema 2020). Both come back as base64 PNGs at the model's input size: the heatmap alone,
colour-mapped, and blended over the resized input. Works on fp32 models (gradients are needed).
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

from tp.errors import InputError
from tp.tasks import IMAGE

if TYPE_CHECKING:
    import numpy as np
    import torch
    from PIL import Image

METHODS = IMAGE.explain_methods
# a dark-to-bright colour map (black, purple, red, orange, pale yellow), like matplotlib's "inferno"
COLOURS = ((0, 0, 4), (87, 16, 110), (188, 55, 84), (249, 142, 9), (252, 255, 164))


def colour_map(heat: np.ndarray) -> np.ndarray:
    """(H, W) values in [0, 1] to (H, W, 3) uint8 colours."""
    import numpy as np

    stops = np.linspace(0, 1, len(COLOURS))
    channels = [np.interp(heat, stops, [colour[c] for colour in COLOURS]) for c in range(3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


def png_base64(pixels: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _normalised(heat: torch.Tensor) -> np.ndarray:
    heat = heat - heat.min()
    peak = float(heat.max())
    return (heat / peak if peak > 0 else heat).cpu().numpy()


def saliency(model: Any, pixels: torch.Tensor, target: int) -> torch.Tensor:
    """|d logit / d pixel|, the largest over the colour channels, averaged over 3x3 pixels: (H, W)."""
    import torch

    inputs = pixels.clone().requires_grad_(True)
    logit = model(pixel_values=inputs).logits[0, target]
    (gradient,) = torch.autograd.grad(logit, inputs)
    magnitude = gradient.abs().amax(dim=1, keepdim=True)  # (1, 1, H, W)
    return torch.nn.functional.avg_pool2d(magnitude, 3, stride=1, padding=1, count_include_pad=False)[0, 0]


PROJECTIONS = (("q_proj", "k_proj"), ("query", "key"))  # transformers 5 names, then 4's


def _self_attention_modules(model: Any) -> list[tuple[Any, Any]]:
    """(query, key) projections of each attention block (ViT, DeiT, BEiT...), in layer order."""
    from torch.nn import Linear

    for query, key in PROJECTIONS:
        found = [(getattr(module, query), getattr(module, key)) for module in model.modules()
                 if isinstance(getattr(module, query, None), Linear) and isinstance(getattr(module, key, None), Linear)]
        if found:
            return found
    return []


def attention_rollout(model: Any, pixels: torch.Tensor) -> torch.Tensor:
    """Attention from [CLS] to each patch through every layer, upsampled to the input: (H, W).

    Attention weights are recomputed from each layer's queries and keys (caught by forward hooks), so
    the model keeps its fast attention kernel, which does not return them.
    """
    import torch

    blocks = _self_attention_modules(model)
    heads = getattr(model.config, "num_attention_heads", None)
    if not blocks or not heads:
        raise InputError("attention_rollout needs a transformer with query/key projections (ViT-like): "
                         "use method saliency for this model.")
    caught: list[dict[str, torch.Tensor]] = [{} for _ in blocks]
    hooks = [projection.register_forward_hook(
        lambda module, args, output, store=store, part=part: store.__setitem__(part, output.detach()))
        for pair, store in zip(blocks, caught, strict=True)
        for projection, part in zip(pair, ("query", "key"), strict=True)]
    try:
        with torch.inference_mode():
            model(pixel_values=pixels)
    finally:
        for hook in hooks:
            hook.remove()
    rollout = None
    for store in caught:
        query, key = store["query"][0], store["key"][0]  # (tokens, hidden)
        tokens, hidden = query.shape
        query = query.view(tokens, heads, hidden // heads).transpose(0, 1)
        key = key.view(tokens, heads, hidden // heads).transpose(0, 1)
        weights = torch.softmax(query @ key.transpose(1, 2) / (hidden // heads) ** 0.5, dim=-1).mean(0)
        weights = 0.5 * weights + 0.5 * torch.eye(tokens, device=weights.device)  # the residual path
        weights = weights / weights.sum(-1, keepdim=True)
        rollout = weights if rollout is None else weights @ rollout
    patches = rollout[0, 1:]  # from [CLS]; a distilled model's extra token would break the square
    side = int(round(patches.numel() ** 0.5))
    if side * side != patches.numel():
        patches = patches[-side * side:]
    grid = patches.reshape(1, 1, side, side).float()
    height, width = pixels.shape[-2:]
    return torch.nn.functional.interpolate(grid, size=(height, width), mode="bilinear", align_corners=False)[0, 0]


def explain_image(model: Any, processor: Any, labels: list[str], image: Image.Image,
                  method: str = IMAGE.default_explain_method, target: str | None = None) -> dict[str, Any]:
    """Logits, probabilities, id2label and a heatmap (alone and over the resized input) for one image.

    Args:
        target: the label to explain (saliency); default the predicted one. The rollout does not depend
            on a label: it shows where the model looked.
    """
    import numpy as np
    import torch
    from PIL import Image

    from tp.data.images import to_rgb

    if method not in METHODS:
        raise InputError(f"Unknown image explanation method {method!r}: use one of {', '.join(METHODS)}.")
    if target is not None and target not in labels:
        raise InputError(f"Unknown target label {target!r}: this model's labels are {', '.join(labels)}.")
    device = next(model.parameters()).device
    image = to_rgb(image)
    pixels = processor(images=[image], return_tensors="pt")["pixel_values"].to(device)
    with torch.inference_mode():
        logits = model(pixel_values=pixels).logits[0].float()
    probabilities = torch.softmax(logits, dim=-1)
    predicted = int(probabilities.argmax())
    target_id = labels.index(target) if target is not None else predicted
    if method == "saliency":
        with torch.enable_grad():
            heat = _normalised(saliency(model, pixels, target_id).float())
    else:
        heat = _normalised(attention_rollout(model, pixels))
    height, width = heat.shape
    colours = colour_map(heat)
    resized = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)
    overlay = (0.5 * resized + 0.5 * colours).round().astype(np.uint8)
    return {"logits": logits.cpu().tolist(), "probabilities": probabilities.cpu().tolist(),
            "id2label": {str(i): name for i, name in enumerate(labels)}, "label": labels[predicted],
            "score": float(probabilities[predicted]), "target": labels[target_id], "method": method,
            "heatmap_png": png_base64(colours), "overlay_png": png_base64(overlay), "width": width, "height": height}

"""Images sent to the server: base64 or data URLs to decoded PIL images, within the server's limits.

Every check runs before the pixels are decoded: the size of the base64 text, then the bytes, then the
format and the width x height from the file's header (the decompression-bomb guard), then the decode
itself (a truncated or corrupt file). Each failure is an InputError (413: ImageTooLargeError) whose
message says what to fix; nothing here reaches a 500.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tp.errors import InputError
from tp.serving.errors import TooLargeError
from tp.serving.settings import IMAGE_FORMATS, ServerSettings

if TYPE_CHECKING:
    from PIL import Image

DATA_URL = re.compile(r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,",
                      re.IGNORECASE)
WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class ImageLimits:
    """What one image may be: bytes, pixels and formats (from TP_MAX_IMAGE_BYTES, ..._PIXELS, _FORMATS)."""

    max_bytes: int
    max_pixels: int
    formats: tuple[str, ...]


def image_limits(settings: ServerSettings) -> ImageLimits:
    return ImageLimits(settings.max_image_bytes, settings.max_image_pixels, tuple(settings.image_formats))


def base64_bytes(text: str, limits: ImageLimits, where: str) -> bytes:
    """The file's bytes from base64 or a data URL, refusing more than `max_bytes` before decoding."""
    match = DATA_URL.match(text[:200])
    if match:
        if not match.group("b64"):
            raise InputError(f"{where} is a data URL without ;base64: send data:image/png;base64,<base64>.")
        text = text[match.end():]
    text = WHITESPACE.sub("", text)  # base64 wrapped at 76 columns is still base64
    if len(text) * 3 // 4 > limits.max_bytes + 3:
        raise TooLargeError(f"{where} is about {len(text) * 3 // 4:,} bytes; the limit is {limits.max_bytes:,} "
                            "per image (TP_MAX_IMAGE_BYTES): send a smaller or more compressed image.")
    if not text:
        raise InputError(f"{where} is empty: send the image file's bytes in base64.")
    try:
        data = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        try:  # the URL-safe alphabet (- and _) is base64 too
            data = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            raise InputError(f"{where} is not base64: send the image file's bytes base64-encoded, or a data URL "
                             "like data:image/png;base64,....") from None
    return data


def decode_image(data: bytes, limits: ImageLimits, where: str) -> Image.Image:
    """Decode one image file's bytes to an RGB image, checking bytes, format and pixels first."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError(f"{where} is an empty file: send an image ({', '.join(limits.formats)}).")
    if len(data) > limits.max_bytes:
        raise TooLargeError(f"{where} is {len(data):,} bytes; the limit is {limits.max_bytes:,} per image "
                            "(TP_MAX_IMAGE_BYTES): send a smaller or more compressed image.")
    allowed = ", ".join(limits.formats)
    try:
        image = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)  # reads the header only
    except UnidentifiedImageError:
        raise InputError(f"{where} is not an image this server reads: send a {allowed} file.") from None
    except Image.DecompressionBombError:  # PIL's own guard (set_pillow_limit), past twice the limit
        raise InputError(f"{where} has too many pixels; the limit is {limits.max_pixels:,} "
                         "(TP_MAX_IMAGE_PIXELS): downscale it.") from None
    except Exception as error:  # a header PIL cannot parse
        raise InputError(f"{where} is not a readable image ({error}): send a {allowed} file.") from None
    if image.format not in limits.formats:
        raise InputError(f"{where} is a {image.format} image; this server takes {allowed}: convert it.")
    width, height = image.size
    if width < 1 or height < 1 or width * height > limits.max_pixels:
        raise InputError(f"{where} is {width}x{height} = {width * height:,} pixels; the limit is "
                         f"{limits.max_pixels:,} (TP_MAX_IMAGE_PIXELS): downscale it.")
    try:
        image.seek(0)  # an animated GIF or WEBP: its first frame
        image.load()
        return image if image.mode == "RGB" else image.convert("RGB")
    except Exception as error:  # truncated or corrupt data after a valid header
        raise InputError(f"{where} could not be decoded ({error}): the file is truncated or corrupt; send "
                         "the whole file.") from None


def decode_images(sources: list[str] | list[bytes], limits: ImageLimits, one: bool = False) -> list[Image.Image]:
    """Decode base64 strings or raw file bytes (multipart uploads) into RGB images.

    Args:
        one: name the single input `inputs` (not `inputs[0]`) in messages.
    """
    images = []
    for index, source in enumerate(sources):
        where = "`inputs`" if one else f"`inputs[{index}]`"
        if isinstance(source, bytes):
            where = "The file" if one else f"File {index + 1}"
            images.append(decode_image(source, limits, where))
        else:
            images.append(decode_image(base64_bytes(source, limits, where), limits, where))
    return images


def set_pillow_limit(max_pixels: int) -> None:
    """PIL's own decompression-bomb limit, process-wide: it refuses past twice it (and warns past it, which
    is silenced: decode_image refuses those images itself, with a message for the client)."""
    import warnings

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def example_label(stem: str, labels: list[str]) -> str:
    """The label an example file shows: its name (`7.png`), or a label at either end (`3_seven`, `seven-1`)."""
    if stem in labels:
        return stem
    parts = re.split(r"[_\-. ]+", stem)
    for part in (parts[-1], parts[0]):
        if part in labels:
            return part
    return stem


def example_files(folder: Path | None, labels: list[str], max_bytes: int, limit: int = 64) -> list[tuple[str, Path]]:
    """(label, file) of a run folder's examples/*.png, in label order; [] when there are none."""
    files = sorted((folder / "examples").glob("*.png"))[:limit] if folder is not None else []
    found = [(example_label(path.stem, labels), path) for path in files
             if path.is_file() and path.stat().st_size <= max_bytes]
    order = {label: index for index, label in enumerate(labels)}
    return sorted(found, key=lambda pair: order.get(pair[0], len(order)))


def example_data_urls(folder: Path | None, labels: list[str], max_bytes: int) -> list[tuple[str, str]]:
    """(label, data URL) of a run folder's examples/*.png, for GET /models."""
    return [(label, "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii"))
            for label, path in example_files(folder, labels, max_bytes)]

"""Image uploads as multipart/form-data: file parts named `files`, optional `model`, `top_k`... fields.

The body guard reads the (capped) body, and this turns the form into the JSON body the route already
validates, `{"inputs": [{"image": "<base64>"}, ...], "model": ..., "top_k": ...}`: one request model,
one validation path and the same error messages for both content types.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.types import Message, Scope

from tp.serving.api.constants import API_PREFIX

# routes that take uploads: whether each takes several files
UPLOAD_ROUTES = {f"{API_PREFIX}/predict": True, f"{API_PREFIX}/explain": False}
FILE_FIELD = "files"
MAX_FORM_FIELDS = 16  # model, top_k, method, target, steps: a handful is enough


class UploadError(ValueError):
    """A multipart body this route cannot use; the message says what to send instead."""


def form_schema(many: bool, fields: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI requestBody entry for multipart/form-data (beside the generated JSON one)."""
    files = {"type": "string", "format": "binary"}
    described = ("One or more image files (repeat the `files` part)." if many
                 else "One image file.")
    properties = {FILE_FIELD: {"type": "array", "items": files, "minItems": 1, "description": described},
                  **fields}
    return {"multipart/form-data": {"schema": {"type": "object", "required": [FILE_FIELD],
                                               "properties": properties}}}


async def read_form(scope: Scope, body: bytes, max_files: int) -> Any:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        return await Request(scope, receive).form(max_files=max_files, max_fields=MAX_FORM_FIELDS)
    except MultiPartException as error:
        raise UploadError(f"The multipart body could not be read ({error.message}): send file parts named "
                          f"`{FILE_FIELD}` (at most {max_files}) and a few form fields.") from None
    except Exception as error:  # a malformed body or boundary
        raise UploadError(f"The multipart body could not be read ({error}): send it as multipart/form-data "
                          f"with file parts named `{FILE_FIELD}`.") from None


async def form_as_json(scope: Scope, body: bytes, many: bool, max_files: int) -> bytes:
    """The JSON body equivalent to a multipart upload, or UploadError."""
    form = await read_form(scope, body, max_files + 1)  # one more, so "too many" gets the usual message
    images: list[dict[str, str]] = []
    fields: dict[str, Any] = {}
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != FILE_FIELD:
                    raise UploadError(f"The file part is named {name!r}: name each file part `{FILE_FIELD}`.")
                data = await value.read()
                if not data:
                    raise UploadError(f"The file {value.filename or len(images) + 1!r} is empty: send an image file.")
                images.append({"image": base64.b64encode(data).decode("ascii")})
            elif name == FILE_FIELD:
                raise UploadError(f"`{FILE_FIELD}` was sent as a text field: send it as a file part "
                                  "(curl -F files=@digit.png).")
            elif value.strip():  # an empty optional field is left out, as in a browser's form
                fields[name] = value.strip()
    finally:
        await form.close()
    if not images:
        raise UploadError(f"No file was sent: add the image as a file part named `{FILE_FIELD}` "
                          "(curl -F files=@digit.png).")
    if not many and len(images) > 1:
        raise UploadError(f"{len(images)} files were sent: this route explains one image at a time.")
    return json.dumps({"inputs": images if many else images[0], **fields}).encode()

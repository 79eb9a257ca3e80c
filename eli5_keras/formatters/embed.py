"""Pictures inlined in HTML as ``data:`` URIs, so a page needs no other file or network."""
from __future__ import annotations

import base64
import io

from PIL import Image

__all__ = ["data_uri", "png_bytes", "png_data_uri"]


def png_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as a PNG file."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(data: bytes, mime: str) -> str:
    """``data:<mime>;base64,<data>``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def png_data_uri(image: Image.Image) -> str:
    """``image`` as a ``data:image/png;base64,...`` URI."""
    return data_uri(png_bytes(image), "image/png")

"""Ground-truth regions drawn on the input: a mask's border in a colour that stands out."""
from __future__ import annotations

import numpy as np
from PIL import Image

__all__ = ["mask_outline", "outlined"]

OUTLINE_COLOURS = np.array([(255, 0, 255), (255, 255, 255), (0, 0, 0), (255, 255, 0)], np.uint8)
"""The outline is drawn in whichever of these is farthest from the region's mean colour."""


def mask_outline(mask: np.ndarray) -> np.ndarray:
    """Border pixels of a boolean mask ``(H, W)``: in the mask, next to a pixel outside it
    (4-neighbourhood; the image's edge counts as outside)."""
    padded = np.pad(np.asarray(mask, bool), 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return padded[1:-1, 1:-1] & ~interior


def outlined(image: Image.Image, mask: np.ndarray) -> Image.Image:
    """``image`` (``H x W``, any mode) as RGB with the border of ``mask`` ``(H, W)`` drawn on it.

    Raises
    ------
    ValueError
        ``mask`` is not of the image's size.
    """
    mask = np.asarray(mask, bool)
    if mask.shape != (image.height, image.width):
        raise ValueError(f"mask must have the image's shape {(image.height, image.width)}; got {mask.shape}.")
    pixels = np.array(image.convert("RGB"))
    if mask.any():
        distance = np.linalg.norm(OUTLINE_COLOURS.astype(float) - pixels[mask].mean(axis=0), axis=1)
        pixels[mask_outline(mask)] = OUTLINE_COLOURS[np.argmax(distance)]
    return Image.fromarray(pixels)

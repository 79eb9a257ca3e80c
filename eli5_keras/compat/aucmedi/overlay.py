"""AUCMEDI's ``visualize_heatmap`` for 2-D images: a [0, 1] heat map drawn with the
``jet`` colormap over the image (``aucmedi.utils.visualizer``), saved as a picture."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ...formatters.colormaps import resolve_colormap

GRAYSCALE_SMOOTH = 1e-6
"""AUCMEDI's ``Standardize(mode="grayscale")`` epsilon."""


def grayscale(image: np.ndarray) -> np.ndarray:
    """AUCMEDI's ``Standardize(mode="grayscale")``: ``round(255 (x - min + e) / (max - min + e))``."""
    low, high = np.min(image), np.max(image)
    return np.around((image - low + GRAYSCALE_SMOOTH) / (high - low + GRAYSCALE_SMOOTH) * 255, decimals=0)


def overlay_image(image: np.ndarray, heatmap: np.ndarray, overlay: bool = True, alpha: float = 0.4) -> np.ndarray:
    """The picture AUCMEDI saves, as uint8: ``jet(uint8(255 h)) * 255 * alpha + (1 - alpha)
    * image`` (``(H, W, 3)``), or the heat map alone ``uint8(255 h)`` (``(H, W)``) when
    ``overlay`` is False.

    ``image`` ``(H, W, C)``: one channel outside [0, 255] is rescaled to it
    (:func:`grayscale`), one channel is repeated to RGB; several channels must lie in
    [0, 255] (ValueError otherwise, as AUCMEDI). ``heatmap`` ``(H, W)`` in [0, 1]."""
    image = np.asarray(image, np.float64)
    heatmap = np.asarray(heatmap)
    if image.ndim != 3 or heatmap.shape != image.shape[:2]:
        raise ValueError(
            f"overlays are drawn for 2-D images (H, W, C) with a heat map (H, W); got an image of shape "
            f"{image.shape} and a heat map of shape {heatmap.shape}."
        )
    if image.shape[-1] == 1 and (image.min() < 0 or image.max() > 255):
        image = grayscale(image)
    elif image.shape[-1] != 1 and (image.min() < 0 or image.max() > 255):
        raise ValueError(
            "overlays of multi-channel images need values in [0, 255] (AUCMEDI's visualizer); got values in "
            f"[{image.min()}, {image.max()}]."
        )
    if image.shape[-1] == 1:
        image = np.concatenate((image,) * 3, axis=-1)
    levels = np.uint8(heatmap * 255)
    if not overlay:
        return levels
    jet = resolve_colormap("jet")(np.arange(256))[:, :3]
    return np.uint8(jet[levels] * 255 * alpha + (1 - alpha) * image)


def save_overlay(image: np.ndarray, heatmap: np.ndarray, path: str, overlay: bool = True, alpha: float = 0.4) -> None:
    """:func:`overlay_image` written to ``path`` (the format from its suffix, PIL)."""
    Image.fromarray(overlay_image(image, heatmap, overlay, alpha)).save(path)

"""AUCMEDI's ``visualize_heatmap`` (``aucmedi.utils.visualizer``): a [0, 1] heat map drawn
with the ``jet`` colormap over an image or a volume, saved as a picture (2-D) or as
:mod:`.volume` writes volumes."""
from __future__ import annotations

import numpy as np
from PIL import Image

from ...formatters.colormaps import resolve_colormap
from .volume import grayscale, save_volume


def picture(image: np.ndarray, heatmap: np.ndarray, overlay: bool = True, alpha: float = 0.4) -> np.ndarray:
    """What AUCMEDI's ``visualize_heatmap`` hands its writer: ``jet(uint8(255 h)) * 255 *
    alpha + (1 - alpha) * image`` (float64, ``(*S, 3)``), or the heat map alone ``uint8(255
    h)`` (``S``) when ``overlay`` is False.

    ``image`` ``(*S, C)`` (an image or a volume): one channel outside [0, 255] is rescaled
    to it (:func:`grayscale`), one channel is repeated to RGB; several channels must lie in
    [0, 255] (ValueError otherwise, as AUCMEDI). ``heatmap`` ``S`` in [0, 1]."""
    image = np.asarray(image, np.float64)
    heatmap = np.asarray(heatmap)
    if image.ndim not in (3, 4) or heatmap.shape != image.shape[:-1]:
        raise ValueError(
            f"overlays are drawn for images (H, W, C) or volumes (D, H, W, C) with a heat map of their spatial "
            f"shape; got an image of shape {image.shape} and a heat map of shape {heatmap.shape}."
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
    return jet[levels] * 255 * alpha + (1 - alpha) * image


def overlay_image(image: np.ndarray, heatmap: np.ndarray, overlay: bool = True, alpha: float = 0.4) -> np.ndarray:
    """The 2-D picture AUCMEDI saves, as uint8: :func:`picture` of an image ``(H, W, C)``."""
    if np.ndim(image) != 3:
        raise ValueError(f"overlay_image draws 2-D images (H, W, C); got shape {np.shape(image)}.")
    return np.uint8(picture(image, heatmap, overlay, alpha))


def save_overlay(image: np.ndarray, heatmap: np.ndarray, path: str, overlay: bool = True, alpha: float = 0.4) -> None:
    """:func:`picture` written to ``path``: a 2-D image as uint8 with PIL (the format from
    its suffix), a volume by :func:`~.volume.save_volume` (GIF, NIfTI or ``.npy``)."""
    if np.ndim(image) == 3:
        Image.fromarray(overlay_image(image, heatmap, overlay, alpha)).save(path)
    else:
        save_volume(picture(image, heatmap, overlay, alpha), path)

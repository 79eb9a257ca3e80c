"""Conversions between image arrays and PIL images.

:func:`array_to_image` does what ``keras.utils.array_to_img`` does for the
images eli5 explains (``'channels_last'`` data), without importing Keras, and
also accepts rank 2 greyscale arrays.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image

__all__ = ["array_to_image", "is_image_array", "scaled_to_bytes"]

_CHANNEL_COUNTS = (1, 3, 4)


def is_image_array(array_shape: Sequence[int]) -> bool:
    """Tell whether an array shape is that of a single image.

    Parameters
    ----------
    array_shape : sequence of int
        An array's shape, e.g. ``array.shape``.

    Returns
    -------
    bool
        True for ``(H, W)`` and for ``(H, W, C)`` with ``C`` in ``{1, 3, 4}``,
        where ``H`` and ``W`` are at least 1; False otherwise.
    """
    shape = tuple(array_shape)
    if len(shape) not in (2, 3):
        return False
    if any(int(size) < 1 for size in shape[:2]):
        return False
    return len(shape) == 2 or int(shape[2]) in _CHANNEL_COUNTS


def array_to_image(array: np.ndarray, scale: bool = True) -> Image.Image:
    """Convert one image array into a PIL image.

    Parameters
    ----------
    array : array_like
        Integer or float pixel values, shape ``(H, W)`` or ``(H, W, C)`` with
        ``C`` in ``{1, 3, 4}`` (channels last).
    scale : bool, optional
        If True (default), shift the values so that the minimum is 0 and
        rescale them so that the maximum is 255, as
        ``keras.utils.array_to_img`` does; a constant array becomes all
        zeros. If False, clip the values to ``[0, 255]``. The result is then
        truncated to ``uint8``.

    Returns
    -------
    PIL.Image.Image
        Image of size ``(W, H)`` and mode ``'L'`` (shape ``(H, W)`` or
        ``(H, W, 1)``), ``'RGB'`` (``C == 3``) or ``'RGBA'`` (``C == 4``).

    Raises
    ------
    TypeError
        If ``array`` does not hold real numbers.
    ValueError
        If ``array`` has another shape, or holds NaN or infinite values.
    """
    values = np.asarray(array)
    _check_image_array(values)
    pixels = scaled_to_bytes(values) if scale else _clipped_to_bytes(values)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    return Image.fromarray(pixels)


def _check_image_array(values: np.ndarray) -> None:
    """Raise unless ``values`` is a finite real array shaped like one image."""
    if values.dtype.kind not in "biuf":
        raise TypeError(f"array must hold integers or floats, got dtype {values.dtype}")
    if not is_image_array(values.shape):
        raise ValueError(
            f"array must have shape (height, width) or (height, width, channels) "
            f"with 1, 3 or 4 channels, got shape {values.shape}"
        )
    if values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise ValueError("array must hold finite values, got NaN or infinite values")


def scaled_to_bytes(values: np.ndarray) -> np.ndarray:
    """Map ``values`` (any shape) linearly from ``[min, max]`` onto ``[0, 255]`` as uint8.

    A constant array becomes all zeros. Volumes are scaled with one ``[min, max]``
    for all their slices, so that slices stay comparable. The arithmetic is float32, in the order keras' ``array_to_img`` uses, so
    the truncated results match it.
    """
    floats = values.astype(np.float32)
    shifted = floats - np.min(floats)
    highest = np.max(shifted)
    if highest != 0:
        shifted /= highest
    shifted *= 255
    return shifted.astype(np.uint8)


def _clipped_to_bytes(values: np.ndarray) -> np.ndarray:
    """Clip ``values`` to ``[0, 255]`` and truncate them to uint8."""
    return np.clip(values.astype(np.float64), 0, 255).astype(np.uint8)

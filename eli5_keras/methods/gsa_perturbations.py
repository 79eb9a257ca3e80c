"""What a mask value in ``[0, 1]`` does to the input in the global-sensitivity methods
(Xplique's ``perturbations.py``; ``M`` is the mask upsampled to the input, shared by
the channels):

``"inpainting"``   ``x_M = x * M + (1 - M) * 0``                       (Xplique's default)
``"blurring"``     ``x_M = x * M + (1 - M) * box(x)``
``"amplitude"``    ``x_M = x * (M - 0.5) * sigma``,  ``sigma = 1``

``box`` is Xplique's ``cv2.blur(x, (10, 10))`` on every spatial axis (1-D, 2-D, 3-D):
the mean over the window ``[i - 5, i + 4]`` with the border mirrored without repeating
the edge sample (OpenCV's ``BORDER_REFLECT_101``), per channel. Xplique's amplitude
docstring says ``x + (M - 0.5) sigma``; its code computes ``x (M - 0.5) sigma``, kept
here.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import tensorflow as tf

PERTURBATIONS: Tuple[str, ...] = ("inpainting", "blurring", "amplitude")
BLUR_SIZE = 10
"""Xplique's blurring ``sigma``: the box filter's width (``cv2.blur(x, (10, 10))``)."""
AMPLITUDE_SIGMA = 1.0
"""Xplique's amplitude ``sigma``."""


def baseline(kind: str, x: tf.Tensor, rank: int) -> tf.Tensor:
    """What a zero mask leaves of ``x (n, *S, C)``: zeros (inpainting), ``box(x)``
    (blurring); unused by amplitude (returns ``x``)."""
    if kind == "blurring":
        return box_blur(x, rank, BLUR_SIZE)
    if kind == "inpainting":
        return tf.zeros_like(x)
    return x


def perturb(kind: str, x: tf.Tensor, masks: tf.Tensor, base: tf.Tensor) -> tf.Tensor:
    """Perturbed copies ``(n, B, *S, C)`` of ``x (n, *S, C)`` by masks ``(n, B, *S)``
    (or ``(1, B, *S)``, shared by the inputs; ``base`` from :func:`baseline`)."""
    keep = masks[..., None]
    if kind == "amplitude":
        return x[:, None] * (keep - 0.5) * AMPLITUDE_SIGMA
    if kind == "inpainting":  # the baseline is 0
        return x[:, None] * keep
    return x[:, None] * keep + (1.0 - keep) * base[:, None]


def box_blur(x: tf.Tensor, rank: int, size: int) -> tf.Tensor:
    """Mean over a ``size``-wide window ``[i - size // 2, i + size - 1 - size // 2]`` along
    each of the ``rank`` spatial axes of ``x (n, *S, C)``, border mirrored as OpenCV's
    ``BORDER_REFLECT_101`` (repeatedly, for axes shorter than the window)."""
    before = size // 2
    for axis in range(1, rank + 1):
        length = tf.shape(x)[axis]
        positions = tf.range(-before, length + size - 1 - before)
        x = tf.gather(x, reflect_101(positions, length), axis=axis)
        total = tf.cumsum(x, axis=axis)
        padded = tf.concat([tf.zeros_like(tf.gather(total, [0], axis=axis)), total], axis=axis)
        window = tf.gather(padded, tf.range(size, length + size), axis=axis) - tf.gather(
            padded, tf.range(0, length), axis=axis
        )
        x = window / tf.cast(size, x.dtype)
    return x


def reflect_101(positions: tf.Tensor, length: tf.Tensor) -> tf.Tensor:
    """Indices in ``[0, length)`` of ``positions`` mirrored at both ends without
    repeating the edge (``-1 -> 1``, ``length -> length - 2``); period ``2 (length - 1)``."""
    period = tf.maximum(2 * (length - 1), 1)
    p = tf.math.floormod(positions, period)
    return tf.minimum(tf.where(p < length, p, period - p), length - 1)


def cell_indices(sizes: Sequence, grid: Sequence[int]) -> list:
    """Per spatial axis, the grid cell of each sample: ``min(floor((i + 0.5) g / D), g - 1)``
    for ``i < D`` (nearest upsampling with half-pixel centres, as
    ``tf.image.resize(..., "nearest")``, which Xplique uses)."""
    out = []
    for size, cells in zip(sizes, grid):
        centres = (tf.cast(tf.range(size), tf.float64) + 0.5) * cells / tf.cast(size, tf.float64)
        out.append(tf.minimum(tf.cast(tf.floor(centres), tf.int32), cells - 1))
    return out


def upsample_nearest(values: tf.Tensor, indices: Sequence[tf.Tensor], first_axis: int) -> tf.Tensor:
    """Each cell's value on its samples: axis ``first_axis + a`` of ``values`` gathered at
    ``indices[a]`` (:func:`cell_indices`)."""
    for a, index in enumerate(indices):
        values = tf.gather(values, index, axis=first_axis + a)
    return values

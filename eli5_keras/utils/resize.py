"""Rank-generic (1-D, 2-D, 3-D) linear resizing and per-map normalisation, in TF.

Linear interpolation is separable, so one routine resizes any number of spatial axes:
along each axis it multiplies by an ``(out, in)`` interpolation matrix. Sampling uses
half-pixel centres with edge clamping, the convention of ``tf.image.resize(...,
'bilinear')`` (align_corners=False), which it reproduces exactly in 2-D.
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import tensorflow as tf

from ..constants import EPSILON


def interpolation_matrix(
    in_size: tf.Tensor, out_size: tf.Tensor, dtype=tf.float32, zoom: float = 1.0
) -> tf.Tensor:
    """``(out_size, in_size)`` matrix ``W`` with ``y = W @ x`` the linear resize of ``x``.

    Output sample ``i`` reads the source at ``(i + 0.5) * in / out - 0.5``, clamped to
    ``[0, in - 1]``, and interpolates its two neighbours.

    ``zoom != 1`` also zooms the content about the centre: sample ``i`` reads the
    centred normalised position ``((i + 0.5) / out - 0.5) / zoom``, i.e. index
    ``(i + 0.5) * in / (out * zoom) + in * (zoom - 1) / (2 * zoom) - 0.5``; samples more
    than half a pixel outside the source get no weight (zero padding).
    """
    in_size = tf.cast(in_size, tf.int32)
    out_size = tf.cast(out_size, tf.int32)
    scale = tf.cast(in_size, dtype) / (tf.cast(out_size, dtype) * zoom)
    src = (tf.cast(tf.range(out_size), dtype) + 0.5) * scale - 0.5
    inside = None
    if zoom != 1.0:
        src = src + tf.cast(in_size, dtype) * ((zoom - 1.0) / (2.0 * zoom))
        inside = tf.cast((src >= -0.5) & (src <= tf.cast(in_size, dtype) - 0.5), dtype)[:, None]
    src = tf.clip_by_value(src, 0.0, tf.cast(in_size - 1, dtype))
    low = tf.cast(tf.floor(src), tf.int32)
    high = tf.minimum(low + 1, in_size - 1)
    frac = src - tf.cast(low, dtype)
    weights = tf.one_hot(low, in_size, dtype=dtype) * (1.0 - frac)[:, None] + tf.one_hot(
        high, in_size, dtype=dtype
    ) * frac[:, None]
    return weights if inside is None else weights * inside


def resize_linear(x: tf.Tensor, size: Sequence, first_axis: int) -> tf.Tensor:
    """Resize the spatial axes ``first_axis, first_axis + 1, ...`` of ``x`` to ``size``.

    Parameters
    ----------
    x : tf.Tensor, shape (..., *s, ...)
    size : sequence of ints or scalar tensors, one per spatial axis
    first_axis : int
        Index of the first spatial axis (non-negative).
    """
    rank = x.shape.rank
    for i, out in enumerate(size):
        axis = first_axis + i
        matrix = interpolation_matrix(tf.shape(x)[axis], out, x.dtype)
        y = tf.tensordot(x, matrix, axes=[[axis], [1]])  # resized axis moves last
        perm = list(range(axis)) + [rank - 1] + list(range(axis, rank - 1))
        x = tf.transpose(y, perm)
    return x


def apply_axis_matrices(
    x: tf.Tensor, matrices: Sequence[tf.Tensor], first_axis: int, batch_axis: Optional[int] = None
) -> tf.Tensor:
    """Apply a linear map along each spatial axis: axis ``first_axis + a`` of ``x``
    (length ``in_a``) becomes ``matrices[a] @ x`` along it (length ``out_a``).

    ``matrices[a]`` is ``(out_a, in_a)``, or ``(B, out_a, in_a)`` with one matrix per
    index of ``x``'s ``batch_axis`` (per-item resampling: RISE's shifted crops,
    test-time augmentations).
    """
    letters = "abcdefghijklmnopqrstuvw"
    if x.shape.rank + len(matrices) > len(letters):
        raise ValueError(f"apply_axis_matrices supports tensors of rank <= 12; got rank {x.shape.rank}.")
    subscripts = list(letters[: x.shape.rank])
    fresh = iter(letters[x.shape.rank :])
    for a, matrix in enumerate(matrices):
        axis = first_axis + a
        old, new = subscripts[axis], next(fresh)
        batch = subscripts[batch_axis] if batch_axis is not None else ""
        result = subscripts[:axis] + [new] + subscripts[axis + 1 :]
        x = tf.einsum(f"{''.join(subscripts)},{batch}{new}{old}->{''.join(result)}", x, matrix)
        subscripts = result
    return x


def resize_array(values: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Linear resize of a numpy map ``S -> shape`` (any rank), as :func:`resize_linear`.

    Parameters
    ----------
    values : numpy.ndarray, shape S
    shape : sequence of int, ``len(shape) == values.ndim``

    Returns
    -------
    numpy.ndarray, float32, shape ``shape`` (``values`` itself when the shapes agree).
    """
    shape = tuple(int(size) for size in shape)
    if values.shape == shape:
        return values
    if len(shape) != values.ndim:
        raise ValueError(f"shape must have {values.ndim} sizes for a map of shape {values.shape}; got {shape}.")
    resized = resize_linear(tf.constant(values[None].astype(np.float32)), shape, first_axis=1)
    return resized.numpy()[0]


def map_range(maps: tf.Tensor, first_axis: int):
    """Per-map ``(low, high)`` over axes ``first_axis..`` in float64, kept as size-1 axes."""
    axes = list(range(first_axis, maps.shape.rank))
    values = tf.cast(maps, tf.float64)
    return tf.reduce_min(values, axis=axes, keepdims=True), tf.reduce_max(values, axis=axes, keepdims=True)


def is_flat(low: tf.Tensor, high: tf.Tensor) -> tf.Tensor:
    """A map with extremes ``low``, ``high`` is constant (all zero included):
    ``high - low <= EPSILON * max(|low|, |high|)``, a span at float32's resolution of
    the map's own magnitude, whatever that magnitude is."""
    return high - low <= EPSILON * tf.maximum(tf.abs(low), tf.abs(high))


def constant_maps(maps: tf.Tensor, first_axis: int) -> tf.Tensor:
    """``(N, T, *s) -> (N, T)`` bool (for ``first_axis=2``): which maps are constant
    (see :func:`is_flat`), so that normalisation leaves them all zero."""
    low, high = map_range(maps, first_axis)
    return tf.reshape(is_flat(low, high), tf.shape(maps)[:first_axis])


def minmax_normalize(maps: tf.Tensor, first_axis: int) -> tf.Tensor:
    """Per-map ``(L - min) / (max - min)`` over axes ``first_axis..``, in float64.

    The epsilon is relative to the map's scale: any map that is not constant (see
    :func:`is_flat`) spans [0, 1] exactly, its maximum 1 however small its values
    (a map of 1e-12 is not crushed towards 0); a constant map becomes all zero.
    Returns ``maps``' dtype."""
    low, high = map_range(maps, first_axis)
    flat = is_flat(low, high)
    span = tf.where(flat, tf.ones_like(high), high - low)
    scaled = tf.where(flat, tf.zeros_like(span), (tf.cast(maps, tf.float64) - low) / span)
    return tf.cast(scaled, maps.dtype)

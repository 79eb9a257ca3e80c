"""keras-explainable's map filters ``f(x, axis=spatial_axis)``: post-processing for
:func:`~eli5_keras.compat.keras_explainable.explain`."""
from __future__ import annotations

from typing import Tuple

import tensorflow as tf

from .inspection import SPATIAL_AXIS


def normalize(x: tf.Tensor, axis: Tuple[int, ...] = SPATIAL_AXIS) -> tf.Tensor:
    """``(x - min) / max(x - min)`` over ``axis``; a constant map becomes 0."""
    x = tf.convert_to_tensor(x)
    x = x - tf.reduce_min(x, axis=axis, keepdims=True)
    return tf.math.divide_no_nan(x, tf.reduce_max(x, axis=axis, keepdims=True))


def positive(x: tf.Tensor, axis: Tuple[int, ...] = SPATIAL_AXIS) -> tf.Tensor:
    """``max(x, 0)``."""
    return tf.nn.relu(x)


def negative(x: tf.Tensor, axis: Tuple[int, ...] = SPATIAL_AXIS) -> tf.Tensor:
    """``min(x, 0)`` (keras-explainable's returns ``max(x, 0)``; see docs/compat.md)."""
    return tf.minimum(x, 0)


def positive_normalize(x: tf.Tensor, axis: Tuple[int, ...] = SPATIAL_AXIS) -> tf.Tensor:
    """:func:`normalize` of :func:`positive`."""
    return normalize(positive(x, axis=axis), axis=axis)


def absolute_normalize(x: tf.Tensor, axis: Tuple[int, ...] = SPATIAL_AXIS) -> tf.Tensor:
    """:func:`normalize` of ``|x|``."""
    return normalize(tf.abs(x), axis=axis)


def negative_normalize(x: tf.Tensor, axis: Tuple[int, ...] = SPATIAL_AXIS) -> tf.Tensor:
    """:func:`normalize` of :func:`negative`."""
    return normalize(negative(x, axis=axis), axis=axis)


__all__ = ["normalize", "positive", "negative", "positive_normalize", "absolute_normalize", "negative_normalize"]

"""Shared base of explanation methods: one override point per family.

A method turns one :class:`~eli5_keras.backend.probe.ProbeResult` (activations ``A``
``(N, *s, C)`` and target gradients ``g`` ``(N, T, *s, C)``) into raw maps
``(N, T, *s)``. Everything else (targets, batching, ReLU, normalisation, resizing,
compilation) is shared plumbing in :mod:`eli5_keras.explain`.
"""
from __future__ import annotations

import abc
from typing import ClassVar

import tensorflow as tf

from ..backend.probe import ProbeResult


class Method(abc.ABC):
    """An explanation method selected by ``name`` in ``explain(..., method=name)``."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]

    @abc.abstractmethod
    def maps(self, result: ProbeResult) -> tf.Tensor:
        """Raw localisation maps ``(N, T, *s)`` at the layer's grid (before ReLU)."""


def spatial_axes(gradients: tf.Tensor) -> list:
    """Spatial axes of a ``(N, T, *s, C)`` tensor."""
    return list(range(2, gradients.shape.rank - 1))


def weighted_channel_sum(activations: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """``L[n, t] = sum_k weights[n, t, k] * A[n, ..., k]``: ``(N, *s, C), (N, T, C) -> (N, T, *s)``."""
    shape = tf.shape(activations)
    flat = tf.reshape(activations, tf.stack([shape[0], -1, shape[-1]]))
    maps = tf.matmul(weights, flat, transpose_b=True)
    return tf.reshape(maps, tf.concat([tf.shape(weights)[:2], shape[1:-1]], axis=0))


class ChannelWeightCAM(Method):
    """CAM methods of the form ``L = sum_k w_k A^k``; override :meth:`channel_weights`."""

    @abc.abstractmethod
    def channel_weights(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """Weights ``(N, T, C)`` from ``A`` ``(N, *s, C)`` and ``g`` ``(N, T, *s, C)``."""

    def maps(self, result: ProbeResult) -> tf.Tensor:
        weights = self.channel_weights(result.activations, result.gradients)
        return weighted_channel_sum(result.activations, weights)

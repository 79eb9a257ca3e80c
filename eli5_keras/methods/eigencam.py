"""Eigen-CAM (Muhammad & Yeasin, 2020, https://arxiv.org/abs/2008.00299).

Per image, the activations projected on their first principal component::

    X[n]  = A[n] reshaped (Z, C)                    Z = number of spatial positions
    Xc[n] = X[n] - mean_z X[n]                      per-channel mean removed
    Xc[n] = U S V^T                                 (tf.linalg.svd)
    L[n]  = +/- Xc[n] @ V[:, 0], reshaped to the spatial grid

then the shared ReLU / min-max / resize. No gradients and no target: one forward pass
gives the same map for every target (the targets' labels and scores are still
returned). Any number of spatial axes. As pytorch-grad-cam
(``utils/svd_on_activations.py::get_2d_projection``, centring included).

Sign
----
The sign of a singular vector is arbitrary, so an unoriented map can come out
inverted (pytorch-grad-cam #364). Here the map is oriented so that it correlates
positively with the channel mean of the centred activations, ``sum_z L[z] *
mean_k Xc[z, k] > 0``: it is high where the layer is, on average, more active (for
an exact singular vector this is the sign of ``sum_k V[k, 0]``). When that
correlation is exactly zero, pytorch-grad-cam's SegEigenCAM rule decides (flip when
``|min L| > |max L|``). Both tests change sign with the singular vector, so the
result does not depend on the sign the SVD returned.

Channels constant over space are centred to exactly zero (a float32 mean can miss
the constant by a rounding error), so constant activations give a zero map, never NaN.
"""
from __future__ import annotations

import tensorflow as tf

from .base import Method, MethodOutput


def first_component(matrices: tf.Tensor) -> tf.Tensor:
    """Oriented projection of each centred ``(Z, C)`` matrix on its first right singular
    vector: ``(..., Z, C) -> (..., Z)`` (see the module docstring for the sign)."""
    centred = matrices - tf.reduce_mean(matrices, axis=-2, keepdims=True)
    # a float32 mean of equal values may differ from them by a rounding error
    constant = tf.reduce_max(matrices, axis=-2, keepdims=True) == tf.reduce_min(matrices, axis=-2, keepdims=True)
    centred = tf.where(constant, tf.zeros_like(centred), centred)
    _, _, v = tf.linalg.svd(centred, full_matrices=False)
    projection = tf.linalg.matvec(centred, v[..., :, 0])
    correlation = tf.reduce_sum(projection * tf.reduce_mean(centred, axis=-1), axis=-1, keepdims=True)
    extremes = tf.reduce_max(projection, axis=-1, keepdims=True) + tf.reduce_min(
        projection, axis=-1, keepdims=True
    )
    sign = tf.where(correlation != 0.0, tf.sign(correlation), tf.sign(extremes))
    return projection * tf.where(sign != 0.0, sign, tf.ones_like(sign))


def spatial_first_component(values: tf.Tensor, batch_dims: int) -> tf.Tensor:
    """:func:`first_component` of ``(*batch, *s, C)`` maps with ``batch_dims`` leading
    batch axes: ``(*batch, *s, C) -> (*batch, *s)``."""
    shape = tf.shape(values)
    flat = tf.reshape(values, tf.concat([shape[:batch_dims], [-1], shape[-1:]], axis=0))
    return tf.reshape(first_component(flat), shape[:-1])


class EigenCAM(Method):
    """First principal component of a layer's activations (target-independent)."""

    name = "eigencam"
    title = "Eigen-CAM"
    summary = "projection of the activations on their first principal component (no gradients)"
    per_target_work = False

    def compute(self, context, inputs, data, block):
        fwd = context.probe.forward(inputs, data, taps=[context.path])
        projection = spatial_first_component(fwd.tapped[0], batch_dims=1)  # (N, *s)
        shape = tf.concat([tf.shape(fwd.labels), tf.shape(projection)[1:]], axis=0)
        return MethodOutput(tf.broadcast_to(projection[:, None], shape), fwd.labels, fwd.reported)

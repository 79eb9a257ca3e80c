"""Eigen-CAM (Muhammad & Yeasin, 2020, https://arxiv.org/abs/2008.00299).

Per image, the activations projected on their first principal component::

    X[n]  = A[n] reshaped (Z, C)                    Z = number of spatial positions
    Xc[n] = X[n] - mean_z X[n]                      per-channel mean removed
    Xc[n] = U S V^T                                 (V[:, 0] from the smaller Gram matrix,
                                                     see first_component)
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

Channels constant over space are left out of the decomposition and weighted exactly
zero (a float32 mean can miss the constant by a rounding error, which would otherwise
leave a tiny constant column), so constant activations give a zero map, never NaN.

Each matrix is decomposed divided by its largest absolute entry (and the projection
multiplied back), so activations of any magnitude that float32 holds (~1e20, ~1e-20)
give the map of the same activations near 1 instead of an overflowing (or vanishing)
Gram matrix.
"""
from __future__ import annotations

import tensorflow as tf

from .base import Method, MethodOutput
from .eigenpair import top_eigenpair


def first_component(matrices: tf.Tensor) -> tf.Tensor:
    """Oriented projection of each centred ``(Z, C)`` matrix on its first right singular
    vector: ``(..., Z, C) -> (..., Z)`` (see the module docstring for the sign).

    ``Xc v_1`` comes from the top eigenpair (:func:`.eigenpair.top_eigenpair`) of the
    smaller Gram matrix: for ``Z >= C``, ``v_1`` is the top eigenvector of ``Xc^T Xc``
    (C x C); otherwise the top eigenpair ``(s_1^2, u_1)`` of ``Xc Xc^T`` (Z x Z) gives
    ``Xc v_1 = s_1 u_1``. Channels constant over space are left out of the Gram matrix (and
    get a zero weight), so they contribute exactly nothing.
    """
    # The singular vector does not depend on the matrix's scale, its Gram matrix does:
    # squares of activations ~1e20 overflow float32 (and eigh refuses infinities), those of
    # ~1e-20 flush to zero. Each matrix is decomposed divided by its largest |entry|.
    scale = tf.reduce_max(tf.abs(matrices), axis=[-2, -1], keepdims=True)  # (..., 1, 1)
    scale = tf.where(scale > 0.0, scale, tf.ones_like(scale))
    matrices = matrices / scale
    centred = matrices - tf.reduce_mean(matrices, axis=-2, keepdims=True)
    # a float32 mean of equal values may differ from them by a rounding error
    varies = tf.cast(
        tf.reduce_max(matrices, axis=-2) != tf.reduce_min(matrices, axis=-2), matrices.dtype
    )  # (..., C)

    def from_channels():
        gram = tf.linalg.matmul(centred, centred, transpose_a=True) * varies[..., :, None] * varies[..., None, :]
        _, v = top_eigenpair(gram)
        v = v * varies  # exactly 0 for constant channels (their eigenvector entries are ~1e-8)
        # sum_z (Xc v)[z] * mean_k Xc[z, k] = v^T (Xc^T Xc) 1 / C: from the Gram matrix
        correlation = tf.reduce_sum(v * tf.reduce_mean(gram, axis=-1), axis=-1, keepdims=True)
        return tf.linalg.matvec(centred, v), correlation

    def from_positions():
        kept = centred * varies[..., None, :]
        value, u = top_eigenpair(tf.linalg.matmul(kept, kept, transpose_b=True))
        projection = u * tf.sqrt(tf.maximum(value, 0.0))[..., None]
        correlation = tf.reduce_sum(projection * tf.reduce_mean(kept, axis=-1), axis=-1, keepdims=True)
        return projection, correlation

    positions, channels = centred.shape[-2], centred.shape[-1]
    if positions is not None and channels is not None:
        projection, correlation = from_channels() if positions >= channels else from_positions()
    else:
        shape = tf.shape(centred)
        projection, correlation = tf.cond(shape[-2] >= shape[-1], from_channels, from_positions)
    extremes = tf.reduce_max(projection, axis=-1, keepdims=True) + tf.reduce_min(
        projection, axis=-1, keepdims=True
    )
    sign = tf.where(correlation != 0.0, tf.sign(correlation), tf.sign(extremes))
    return projection * tf.where(sign != 0.0, sign, tf.ones_like(sign)) * scale[..., 0]


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

"""XGrad-CAM (Fu et al., 2020, https://arxiv.org/abs/2008.02312).

    w[n, t, k] = sum_ij g[n, t, i, j, k] * A[n, i, j, k] / (sum_ab A[n, a, b, k] + 1e-7)
    L[n, t]    = sum_k w[n, t, k] * A[n, ..., k]

then the shared ReLU / min-max / resize; ``g = dS/dA`` with ``S`` the class score
before the final softmax/sigmoid by default. Any number of spatial axes. As
pytorch-grad-cam (``xgrad_cam.py``), including its epsilon; a channel whose
activations sum to exactly ``-1e-7`` (a zero denominator) gets zero weight instead of
an infinite one.
"""
from __future__ import annotations

import tensorflow as tf

from ..constants import EPSILON
from .base import ChannelWeightCAM, spatial_axes


class XGradCAM(ChannelWeightCAM):
    name = "xgradcam"
    title = "XGrad-CAM"
    summary = "channel weights = activation-weighted sum of gradients over the activation sum"

    def channel_weights(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """``A (N, *s, C), g (N, T, *s, C) -> w (N, T, C)``."""
        axes = spatial_axes(gradients)
        acts = activations[:, None]
        den = tf.reduce_sum(acts, axis=axes) + EPSILON
        num = tf.reduce_sum(gradients * acts, axis=axes)
        return tf.math.divide_no_nan(num, den)

"""Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391).

    w[n, t, k] = (1 / Z) * sum_ij dS[n, t] / dA[n, i, j, k]
    L[n, t]    = ReLU( sum_k w[n, t, k] * A[n, ..., k] )

``S`` is the class score before the final softmax/sigmoid by default (the paper's
``y^c``); ``Z`` the number of spatial positions. Any number of spatial axes. The
ReLU, per-map min-max normalisation and resize are applied by the shared pipeline
(pytorch-grad-cam's order: ReLU -> normalise -> bilinear resize).
"""
from __future__ import annotations

import tensorflow as tf

from .base import ChannelWeightCAM, spatial_axes


class GradCAM(ChannelWeightCAM):
    name = "gradcam"
    title = "Grad-CAM"
    summary = "channel weights = spatial mean of the target's gradients at a layer"

    def channel_weights(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(gradients, axis=spatial_axes(gradients))

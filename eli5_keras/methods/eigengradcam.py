"""Eigen-Grad-CAM (pytorch-grad-cam's ``EigenGradCAM``).

Eigen-CAM's projection (:mod:`.eigencam`; Muhammad & Yeasin, 2020,
https://arxiv.org/abs/2008.00299) applied per image and target to the gradient x
activation product instead of the activations (no paper of its own)::

    X[n, t] = (g[n, t] * A[n]) reshaped (Z, C)
    L[n, t] = +/- (X - mean_z X) @ V[:, 0]     first right singular vector of the centred X

then the shared ReLU / min-max / resize; ``g = dS/dA`` with ``S`` the class score
before the final softmax/sigmoid by default. Any number of spatial axes. The sign is
Eigen-CAM's rule: positive correlation with the channel mean of the centred ``g * A``
(i.e. with the centred HiResCAM map), so the map does not depend on the sign the SVD
returned; pytorch-grad-cam leaves it arbitrary. Zero map (never NaN) when ``g * A``
is constant over space.
"""
from __future__ import annotations

import tensorflow as tf

from .base import GradientCAM
from .eigencam import spatial_first_component


class EigenGradCAM(GradientCAM):
    name = "eigengradcam"
    title = "Eigen-Grad-CAM"
    summary = "projection of gradient x activation on its first principal component"

    def cam(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """``A (N, *s, C), g (N, T, *s, C) -> L (N, T, *s)``."""
        return spatial_first_component(gradients * activations[:, None], batch_dims=2)

"""Grad-CAM element-wise (pytorch-grad-cam's ``GradCAMElementWise``).

    L[n, t] = sum_k ReLU(g[n, t, ..., k] * A[n, ..., k])

HiResCAM with a ReLU on every gradient x activation product before the channel sum
(only positive contributions add up), then the shared ReLU / min-max / resize;
``g = dS/dA`` with ``S`` the class score before the final softmax/sigmoid by default.
Any number of spatial axes. As pytorch-grad-cam (``grad_cam_elementwise.py``); there
is no paper of its own: it combines Grad-CAM (Selvaraju et al., 2017,
https://arxiv.org/abs/1610.02391) with HiResCAM's element-wise products (Draelos &
Carin, 2020, https://arxiv.org/abs/2011.08891).
"""
from __future__ import annotations

import tensorflow as tf

from .base import GradientCAM


class GradCAMElementWise(GradientCAM):
    name = "gradcam_elementwise"
    title = "Grad-CAM element-wise"
    summary = "sum over channels of the positive gradient x activation products"

    def cam(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """``A (N, *s, C), g (N, T, *s, C) -> L (N, T, *s)``."""
        return tf.reduce_sum(tf.nn.relu(gradients * activations[:, None]), axis=-1)

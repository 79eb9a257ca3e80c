"""HiResCAM (Draelos & Carin, 2020, https://arxiv.org/abs/2011.08891).

    L[n, t] = sum_k g[n, t, ..., k] * A[n, ..., k]

element-wise gradient x activation summed over channels (no pooling of the
gradients), then the shared ReLU / min-max / resize; ``g = dS/dA`` with ``S`` the
class score before the final softmax/sigmoid by default. Any number of spatial axes.
As pytorch-grad-cam (``hirescam.py``: ReLU after the channel sum). For a head that
is a global average pooling followed by a linear layer, HiResCAM equals Grad-CAM.
"""
from __future__ import annotations

import tensorflow as tf

from .base import GradientCAM


class HiResCAM(GradientCAM):
    name = "hirescam"
    title = "HiResCAM"
    summary = "element-wise gradient x activation, summed over channels"

    def cam(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """``A (N, *s, C), g (N, T, *s, C) -> L (N, T, *s)``."""
        return tf.reduce_sum(gradients * activations[:, None], axis=-1)

"""LayerCAM (Jiang et al., 2021, https://doi.org/10.1109/TIP.2021.3089943).

    L[n, t] = sum_k ReLU(g[n, t, ..., k]) * A[n, ..., k]

element-wise (each position weighted by its own positive gradient, no pooling), then
the shared ReLU / min-max / resize; ``g = dS/dA`` with ``S`` the class score before
the final softmax/sigmoid by default. Any number of spatial axes. As
pytorch-grad-cam (``layer_cam.py``) and tf-keras-vis (``layercam.py``). The paper's
fusion of several layers (with a ``tanh`` scaling of shallow layers) is not part of
this single-layer method.
"""
from __future__ import annotations

import tensorflow as tf

from .base import GradientCAM


class LayerCAM(GradientCAM):
    name = "layercam"
    title = "LayerCAM"
    summary = "element-wise: activations weighted by their positive gradients, summed over channels"

    def cam(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """``A (N, *s, C), g (N, T, *s, C) -> L (N, T, *s)``."""
        return tf.reduce_sum(tf.nn.relu(gradients) * activations[:, None], axis=-1)

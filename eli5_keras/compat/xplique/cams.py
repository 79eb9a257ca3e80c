"""Grad-CAM and Grad-CAM++ as Xplique computes them."""
from __future__ import annotations

import tensorflow as tf

from .base import LayerRef, XpliqueMethod, find_layer


class GradCAM(XpliqueMethod):
    """Grad-CAM (Selvaraju et al. 2017) as Xplique computes it.

    ``L = ReLU(sum_k mean_ij(dS/dA^k) A^k)`` at ``conv_layer`` (default: the last layer
    with ``filters``, Xplique's choice), not normalised, resized onto the input with
    ``tf.image.resize(..., BICUBIC)``: ``(N, H, W, C) -> (N, H, W, 1)``."""

    method = "gradcam"
    channels = False
    resize_method = tf.image.ResizeMethod.BICUBIC

    def __init__(self, model, output_layer=None, batch_size=32, operator=None, conv_layer: LayerRef = None):
        super().__init__(model, output_layer, batch_size, operator)
        if conv_layer is None:
            candidates = [layer for layer in model.layers[::-1] if hasattr(layer, "filters")]
            if not candidates:
                raise ValueError("the model has no layer with filters; pass conv_layer.")
            self.conv_layer = candidates[0]
        else:
            self.conv_layer = find_layer(model, conv_layer)

    def options(self):
        return {"layer": self.conv_layer, "relu": True, "normalize": False, "resize": False}

    def finish(self, maps, inputs):
        return tf.image.resize(maps, inputs.shape[1:3], method=self.resize_method)


class GradCAMPP(GradCAM):
    """Grad-CAM++ (Chattopadhay et al. 2018) as Xplique computes it
    (``grad_cam_pp.py::_compute_weights``): spatial means where the paper sums,

        alpha = g^2 / (2 g^2 + g^3 mean_ab A)     (0 where the denominator is 0)
        w_k   = mean_ij alpha ReLU(g)
        L     = ReLU(sum_k w_k A^k)

    no alpha normalisation, resized with ``tf.image.resize(..., BICUBIC)``: ``(N, H, W, 1)``.
    The paper's sums: ``eli5_keras.explain(model, x, method="gradcam++")``."""

    method = "gradcam++"

    def options(self):
        return {**super().options(), "normalize_alphas": False, "spatial_mean": True}


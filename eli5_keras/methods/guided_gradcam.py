"""Guided Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391, section 3.1).

    L[n, t]  = ReLU( sum_k w_k A^k ),  w_k = mean_ij dS[n, t] / dA^k_ij     (Grad-CAM at the layer)
    G[n, t]  = guided-backprop gradient of S[n, t] on the input             (N, T, *S, C)
    M[n, t]  = reduce_c(G[n, t]) * upsample(L[n, t])                         (N, T, *S)

``upsample`` resizes the Grad-CAM map from the layer's grid to the input's (bilinear,
half-pixel centres, as the paper's figures; any number of spatial axes). Reducing the
channels before the product is the same as after it for every ``reduce`` (``L >= 0`` is
constant across channels). The maps are at the input's resolution, so the pipeline's
resize is skipped (``maps_at_input``); its ReLU and min-max normalisation apply as
usual (``relu=False, normalize=False`` return the raw product; ``resize=`` has no
effect). Guided backprop's
rule, coverage and warning about non-ReLU activations are those of
:mod:`eli5_keras.methods.guided_backprop`; Grad-CAM's gradients are the ordinary ones.

Options
-------
reduce : {"sum", "mean", "max", "max_abs", "sum_abs", "l2"}, default "sum"
    Channel reduction of the guided gradient (the paper shows the RGB product).
interpolation : {"bilinear", "nearest"}, default "bilinear"
    Upsampling of the Grad-CAM map. ``"nearest"`` is Captum's ``GuidedGradCam``
    default (``F.interpolate(mode="nearest")``: source index ``floor(i * in / out)``).

Deviations: Captum multiplies the unreduced guided gradients and returns channels;
pytorch-grad-cam multiplies by the min-max normalised CAM (the product then differs by a
per-map shift of the CAM when its minimum is above zero).
"""
from __future__ import annotations

import weakref
from typing import Sequence

import tensorflow as tf

from ..backend.inputs import batch_spatial_size
from ..utils.resize import resize_linear
from .base import Context, Method, MethodOutput
from .gradcam import GradCAM
from .guided_backprop import GuidedBackprop, warn_non_relu
from .. import validation as check
from .input_gradients import CHANNEL_REDUCTIONS, check_differentiable_input, reduce_channels

INTERPOLATIONS = ("bilinear", "nearest")


def resize_nearest(x: tf.Tensor, size: Sequence, first_axis: int) -> tf.Tensor:
    """Nearest-neighbour resize of the spatial axes ``first_axis, ...`` of ``x`` to
    ``size``, PyTorch's ``mode="nearest"`` (source index ``floor(i * in / out)``)."""
    for i, out in enumerate(size):
        axis = first_axis + i
        in_size = tf.shape(x)[axis]
        scale = tf.cast(in_size, tf.float32) / tf.cast(out, tf.float32)
        source = tf.cast(tf.floor(tf.cast(tf.range(out), tf.float32) * scale), tf.int32)
        x = tf.gather(x, tf.minimum(source, in_size - 1), axis=axis)
    return x


class GuidedGradCAM(Method):
    name = "guided_gradcam"
    title = "Guided Grad-CAM"
    summary = "guided backprop * upsampled Grad-CAM (input resolution)"
    maps_at_input = True

    def __init__(self, reduce: str = "sum", interpolation: str = "bilinear") -> None:
        self.reduce = check.choice("reduce", reduce, CHANNEL_REDUCTIONS)
        self.interpolation = check.choice("interpolation", interpolation, INTERPOLATIONS)
        self._gradcam = GradCAM()
        self._guided = GuidedBackprop(reduce=reduce)
        self._warned = weakref.WeakSet()

    def setup(self, context: Context) -> None:
        check_differentiable_input(context, self.name)
        warn_non_relu(context, self.title, self._warned)

    def compute(self, context, inputs, data, block):
        activations, layer_grads, fwd = context.probe.layer_gradients(inputs, data, context.path)
        cam = tf.nn.relu(self._gradcam.cam(activations, layer_grads))
        x = inputs[context.input_index]
        size = batch_spatial_size(x)
        resize = resize_linear if self.interpolation == "bilinear" else resize_nearest
        cam = resize(cam, size, first_axis=2)
        guided, _ = self._guided.gradients(context, inputs, data)
        return MethodOutput(reduce_channels(guided, self.reduce) * cam, fwd.labels, fwd.reported)

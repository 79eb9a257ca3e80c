"""Shared pieces of the methods on the input's gradient (saliency, gradient x input,
Integrated Gradients, guided backprop, DeconvNet, Guided Grad-CAM).

They differentiate the target score ``S[n, t]`` with respect to one model input ``x``
``(N, *S, C)`` (``Context.input_index``; the other inputs of a multi-input model are
held fixed) and reduce the channel axis ``C`` to a map ``(N, T, *S)`` with
:func:`reduce_channels`. Token ids (integer inputs) have no gradient:
:func:`check_differentiable_input` says so and points to the CAM methods.
"""
from __future__ import annotations


import keras
import numpy as np
import tensorflow as tf

from ..backend.topology import model_inputs
from .base import Context, Method

CHANNEL_REDUCTIONS = ("sum", "mean", "max_abs", "sum_abs", "l2")
"""Channel reductions of :func:`reduce_channels`."""


def reduce_channels(values: tf.Tensor, how: str) -> tf.Tensor:
    """``(N, T, *S, C) -> (N, T, *S)`` over the channel axis:

    ``"sum"``      ``sum_c v``           (signed)
    ``"mean"``     ``mean_c v``          (signed; Xplique's ``reducer="mean"``)
    ``"max_abs"``  ``max_c |v|``         (Simonyan et al.'s saliency map)
    ``"sum_abs"``  ``sum_c |v|``         (PAIR's ``VisualizeImageGrayscale``)
    ``"l2"``       ``sqrt(sum_c v^2)``
    """
    if how == "sum":
        return tf.reduce_sum(values, axis=-1)
    if how == "mean":
        return tf.reduce_mean(values, axis=-1)
    if how == "max_abs":
        return tf.reduce_max(tf.abs(values), axis=-1)
    if how == "sum_abs":
        return tf.reduce_sum(tf.abs(values), axis=-1)
    if how == "l2":
        return tf.norm(values, axis=-1)
    raise ValueError(f"reduce must be one of {CHANNEL_REDUCTIONS}; got {how!r}.")


def check_differentiable_input(context: Context, method: str) -> None:
    """Raise ValueError unless the explained input is a float tensor ``(N, *S, C)`` with
    at least one spatial axis (what a gradient map on the input needs)."""
    model = context.probe.model
    spec = model_inputs(model)[context.input_index]
    dtype = np.dtype(keras.backend.standardize_dtype(spec.dtype))
    shape = tuple(spec.shape)
    if not context.channels_last or not np.issubdtype(dtype, np.floating):
        raise ValueError(
            f"method {method!r} differentiates input {context.input_index} of model {model.name!r}, but it is "
            f"{dtype} {shape} (token ids or other integers), which has no gradient. Explain at the "
            "embedding or a later layer with a CAM method instead, e.g. method='gradcam', layer='<embedding layer>'."
        )
    if len(shape) < 3:
        raise ValueError(
            f"method {method!r} maps input {context.input_index} of model {model.name!r} with shape {shape}, "
            "which has no spatial axes: gradient maps need an input (batch, *spatial, channels)."
        )


class InputGradientMethod(Method):
    """A method on the gradient of the target score with respect to the input: checks
    at setup that the explained input can be differentiated."""

    uses_layer = False

    def setup(self, context: Context) -> None:
        check_differentiable_input(context, self.name)

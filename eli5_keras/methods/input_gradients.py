"""Shared pieces of the methods on the input's gradient (saliency, gradient x input,
Integrated Gradients, guided backprop, DeconvNet, Guided Grad-CAM).

They differentiate the target score ``S[n, t]`` with respect to one model input ``x``
``(N, *S, C)`` (``Context.input_index``; the other inputs of a multi-input model are
held fixed) and reduce the channel axis ``C`` to a map ``(N, T, *S)`` with
:func:`reduce_channels`. :class:`InputGradientMethod` holds that plumbing; a method
overrides :meth:`~InputGradientMethod.gradients` (the backward pass),
:meth:`~InputGradientMethod.attribution` (what is reduced) or ``reduce``. Token ids
(integer inputs) have no gradient: :func:`check_differentiable_input` says so and
points to the CAM methods.
"""
from __future__ import annotations

from typing import List, Tuple

import tensorflow as tf

from ..backend.probe import Forward
from .base import Context, Method, MethodOutput, explained_input_spec, is_float_dtype

CHANNEL_REDUCTIONS = ("sum", "mean", "max", "max_abs", "sum_abs", "l2")
"""Channel reductions of :func:`reduce_channels`."""
SIGNED_REDUCTIONS = ("sum", "mean", "max")
"""The reductions whose map keeps the sign of the values."""


def reduce_channels(values: tf.Tensor, how: str) -> tf.Tensor:
    """``(N, T, *S, C) -> (N, T, *S)`` over the channel axis:

    ``"sum"``      ``sum_c v``           (signed)
    ``"mean"``     ``mean_c v``          (signed; Xplique's ``reducer="mean"``)
    ``"max"``      ``max_c v``           (signed; AUCMEDI's ``tf.reduce_max(g, axis=-1)``)
    ``"max_abs"``  ``max_c |v|``         (Simonyan et al.'s saliency map)
    ``"sum_abs"``  ``sum_c |v|``         (PAIR's ``VisualizeImageGrayscale``)
    ``"l2"``       ``sqrt(sum_c v^2)``
    """
    if how == "sum":
        return tf.reduce_sum(values, axis=-1)
    if how == "mean":
        return tf.reduce_mean(values, axis=-1)
    if how == "max":
        return tf.reduce_max(values, axis=-1)
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
    spec, dtype = explained_input_spec(context)
    shape = tuple(spec.shape)
    if not context.channels_last or not is_float_dtype(dtype):
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
    at setup that the explained input can be differentiated, then

        g, fwd = gradients(context, inputs, data)              g (n, T, *S, C)
        M = reduce_channels(attribution(x, g), reduce)         M (n, T, *S)

    Override :meth:`gradients` to change the backward pass (guided backprop's ReLU
    rules), :meth:`attribution` to change what is reduced (gradient x input), and
    ``reduce`` (a class attribute, or the instance's ``reduce`` option) to pick the
    channel reduction among :data:`CHANNEL_REDUCTIONS`. Methods with expanded work
    (Integrated Gradients) override :meth:`compute` instead.
    """

    uses_layer = False
    reduce: str = "sum"

    def setup(self, context: Context) -> None:
        check_differentiable_input(context, self.name)

    def gradients(
        self, context: Context, inputs: List[tf.Tensor], data: tf.Tensor
    ) -> Tuple[tf.Tensor, Forward]:
        """Traceable: ``g (n, T, *S, C)``, the target gradients with respect to the
        explained input, and the forward pass (labels, reported scores)."""
        return context.probe.input_gradients(inputs, data, context.input_index)

    def attribution(self, x: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """Per-channel attribution ``(n, T, *S, C)`` from the input ``x (n, *S, C)`` and
        ``g (n, T, *S, C)``: the gradient itself by default."""
        return gradients

    def compute(self, context, inputs, data, block):
        grads, fwd = self.gradients(context, inputs, data)
        attributions = self.attribution(inputs[context.input_index], grads)
        return MethodOutput(reduce_channels(attributions, self.reduce), fwd.labels, fwd.reported)

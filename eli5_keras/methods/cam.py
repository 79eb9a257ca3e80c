"""CAM, Class Activation Mapping (Zhou et al., 2016, https://arxiv.org/abs/1512.04150).

For a layer followed by a global average pooling and the Dense layer producing the
class scores::

    A (N, *s, C) -> GlobalAveragePooling -> [Dropout | Flatten | linear Activation]* -> Dense (C, K)

the map of class ``c`` weights the channels by the Dense kernel's column ``c``::

    w[n, t, k] = W[k, labels[n, t]]            W = Dense kernel (C, K);  (N, T, C)
    L[n, t]    = sum_k w[n, t, k] * A[n, ..., k]

then the shared ReLU / min-max / resize. One forward pass serves every target; no
gradients. Any number of spatial axes (GlobalAveragePooling1D/2D/3D). The bias is
ignored (it is the same at every position), as in the paper. Since ``dS/dA[..., k] =
W[k, c] / Z`` on such a head, CAM is Grad-CAM times ``Z`` (the number of positions)
before normalisation.

Class targets only. A single-sigmoid binary classifier (``Dense(1)``) follows the
targets' rule: class 1 weights the channels by ``W[:, 0]``, class 0 by ``-W[:, 0]``.
Other architectures raise ValueError: use ``gradcam`` there.
"""
from __future__ import annotations

from typing import Optional, Tuple

import keras
import tensorflow as tf

from ..backend.inner import inside_custom_layer
from ..backend.layers import path_name
from ..backend.topology import LayerPath, activation_name, downstream, is_custom_layer, successors
from ..targets import ClassTarget, OutputTarget
from .base import Context, Method, MethodOutput, weighted_channel_sum

_POOLINGS = (
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
)


class CAM(Method):
    """Class Activation Mapping: channels weighted by the class's Dense kernel column."""

    name = "cam"
    title = "CAM"
    summary = "channel weights = the class's column of the Dense layer after global average pooling"
    per_target_work = False

    def setup(self, context: Context) -> None:
        class_head(context)

    def compute(self, context, inputs, data, block):
        dense, binary = class_head(context)
        fwd = context.probe.forward(inputs, data, taps=[context.path])
        activations = fwd.tapped[0]
        kernel = tf.cast(tf.convert_to_tensor(dense.kernel), activations.dtype)  # (C, K)
        if binary:
            kernel = tf.concat([-kernel, kernel], axis=1)
        weights = tf.transpose(tf.gather(kernel, fwd.labels, axis=1), [1, 2, 0])  # (N, T, C)
        return MethodOutput(weighted_channel_sum(activations, weights), fwd.labels, fwd.reported)


def class_head(context: Context) -> Tuple[keras.layers.Dense, bool]:
    """The Dense layer producing the class scores after ``context.path``'s global
    average pooling, and whether the classifier is a single-sigmoid binary one.

    Raises
    ------
    ValueError
        The target is not a class target, or the layer is not followed by
        ``GlobalAveragePooling -> Dense`` producing the target's output.
    """
    target = context.probe.target
    inner = target.inner if isinstance(target, OutputTarget) else target
    if not isinstance(inner, ClassTarget):
        raise ValueError(
            "method 'cam' explains class targets only (it reads the classifier's Dense kernel); got a "
            f"{type(inner).__name__}. Use method='gradcam' for other targets."
        )
    model = context.probe.model
    dense = pooled_dense(model, context.path, inner.output_index)
    if dense is None:
        if inside_custom_layer(context.path):  # no graph to follow inside a custom layer's call()
            custom = next(layer for layer in context.path[:-1] if is_custom_layer(layer))
            following = f"the call() of custom layer {custom.name!r}"
        else:
            following = [step.name for step in successors((model,) + tuple(context.path[:-1]), context.path[-1])]
        raise ValueError(
            f"method 'cam' needs conv -> GlobalAveragePooling -> Dense (optionally with Dropout, Flatten or a "
            f"linear Activation between the pooling and the Dense layer producing the class scores of output "
            f"{inner.output_index}); layer {path_name(context.path)!r} of model {model.name!r} is followed by "
            f"{following}. Use method='gradcam', which needs no particular head (and equals CAM up to a "
            "constant factor on such models)."
        )
    return dense, inner.binary


# -- the head downstream of the layer --------------------------------------------------


def pooled_dense(model: keras.Model, path: LayerPath, output_index: int) -> Optional[keras.layers.Dense]:
    """The Dense layer of ``path -> GlobalAveragePooling (channels_last) ->
    [Dropout | Flatten | linear Activation]* -> Dense -> [Activation | Softmax]* ->
    model output output_index``, or None. The layer's output must feed only the pooling
    (or other model outputs), so the score depends on it through that head alone."""
    if inside_custom_layer(path):
        return None
    stack = (model,) + tuple(path[:-1])
    after = [
        s for s in successors(stack, path[-1]) if not (s.layer is None and s.ref != output_index)
    ]
    if len(after) != 1 or not isinstance(after[0].layer, _POOLINGS):
        return None
    if getattr(after[0].layer, "data_format", "channels_last") != "channels_last":
        return None
    for step in downstream(after[0], lambda layer: isinstance(layer, keras.layers.Dense), _is_passthrough):
        if any(s.layer is None and s.ref == output_index for s in downstream(step, _is_output, _is_squashing)):
            return step.layer
    return None


def _is_passthrough(layer: keras.layers.Layer) -> bool:
    if isinstance(layer, (keras.layers.Dropout, keras.layers.Flatten)):
        return True
    return isinstance(layer, keras.layers.Activation) and activation_name(layer) == "linear"


def _is_squashing(layer: keras.layers.Layer) -> bool:
    return isinstance(layer, (keras.layers.Activation, keras.layers.Softmax))


def _is_output(layer: Optional[keras.layers.Layer]) -> bool:
    return layer is None

"""Modified-gradient rules at every ReLU of a model: guided backprop and DeconvNet.

Both rules keep the forward pass as it is and replace the backward pass of each ReLU
by another function of the gradient ``dy`` arriving at its output (``z`` is the
ReLU's input, its pre-activation):

    ordinary  :  dz = dy * f'(z)
    guided    :  dz = ReLU(dy) * 1[f'(z) > 0]     (Springenberg et al., 2015)
    deconvnet :  dz = ReLU(dy)                    (Zeiler & Fergus, 2014)

For the plain ReLU ``1[f'(z) > 0] = 1[z > 0]``, Springenberg's mask. Written with the
local derivative, the guided rule also covers ``keras.layers.ReLU(max_value=,
threshold=, negative_slope=)``, ``relu6`` and leaky ReLUs: the signal passes where the
unit is locally increasing (above ``threshold``, below ``max_value``; everywhere for a
leaky ReLU, whose negative slope is then dropped from the backward pass).

The rule reaches every ReLU, at any nesting depth, without touching the user's model:
:func:`relu_rule_overrides` returns :class:`~eli5_keras.backend.graph.GraphRunner`
overrides keyed by layer path, paths inside subclassed models and custom layers
included (``walk(..., into_layers=True)``); the runner reaches those by calling the
model or layer for real with its sub-layer calls rerouted
(:func:`~eli5_keras.backend.topology.call_intercepted`). A ReLU *layer* (``ReLU``, ``LeakyReLU``,
``Activation("relu")``, a ``keras.ops.relu`` node of a functional graph) is called as
it is inside a ``tf.custom_gradient``; a layer with a *fused* ReLU (``Dense`` or a
convolution with ``activation="relu"``) is called through a shallow copy whose
activation is linear (it shares the layer's variables) to get ``z``, then its own
activation is applied inside the ``tf.custom_gradient``.

Every other nonlinearity (tanh, sigmoid, swish/silu, gelu, elu, selu, softplus, PReLU,
a ReLU inside a recurrent layer, a ReLU applied as a function, ``tf.nn.relu(x)``, in the
``call`` of a custom layer or subclassed model...) keeps its ordinary gradient:
:func:`non_relu_paths` names those layers so that callers can say that the result is
then no longer pure guided backprop / DeconvNet.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import keras
import tensorflow as tf

from .graph import Override
from .layers import path_name
from .probe import LinearCall
from .topology import (
    LayerPath,
    activation_name,
    call_inference,
    container_kind,
    functional_ops,
    is_container,
    is_custom_layer,
    walk,
)


class NonReLUWarning(UserWarning):
    """A model explained with a ReLU rule has other nonlinearities, whose ordinary
    gradient is used."""


RULES = ("guided", "deconvnet")
"""The backward rules :func:`relu_rule_overrides` applies at every ReLU."""

RELU_ACTIVATIONS = frozenset({"relu", "relu6", "leaky_relu"})
"""Names of the activation functions treated as ReLUs (``keras.activations`` and
``tf.nn`` spell them alike)."""

_LINEAR = frozenset({"linear", ""})
_RELU_OPS = frozenset({"relu", "relu6", "leakyrelu"})
_NONLINEAR_OPS = frozenset(
    {
        "sigmoid", "tanh", "softplus", "softsign", "silu", "swish", "gelu", "elu", "selu", "celu", "glu",
        "hardsigmoid", "hardsilu", "hardswish", "logsigmoid", "softmax", "logsoftmax", "mish", "sparseplus",
        "squareplus", "hardtanh", "tanhshrink", "softshrink", "hardshrink", "sparsemax", "exp", "threshold",
    }
)
# TensorFlow ops of nonlinearities a layer's call() may apply as functions, by the name
# the warning gives them.
_FUNCTIONAL_OPS = {
    "Relu": "relu", "Relu6": "relu6", "LeakyRelu": "leaky_relu", "Elu": "elu", "Selu": "selu", "Tanh": "tanh",
    "Sigmoid": "sigmoid", "Softplus": "softplus", "Softsign": "softsign", "Erf": "erf (gelu)",
}
_RELU_LAYERS = (keras.layers.ReLU, keras.layers.LeakyReLU)
_NONLINEAR_LAYERS = (keras.layers.ELU, keras.layers.PReLU, keras.layers.Softmax)
# Layers whose call ends with ``activation(...)`` on the whole output, so that a copy with
# a linear activation yields the pre-activation (a recurrent layer applies its
# activation inside the recurrence: no).
_FUSED_LAYERS = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
)


def relu_kind(op: Any) -> Optional[str]:
    """``"layer"`` for a ReLU layer or op (its input is the pre-activation), ``"fused"``
    for a Dense/convolution with a ReLU activation, None otherwise."""
    if isinstance(op, _RELU_LAYERS):
        return "layer"
    if isinstance(op, keras.layers.Activation):
        return "layer" if activation_name(op) in RELU_ACTIVATIONS else None
    if not isinstance(op, keras.layers.Layer):
        return "layer" if type(op).__name__.lower() in _RELU_OPS else None
    if isinstance(op, _FUSED_LAYERS) and activation_name(op) in RELU_ACTIVATIONS:
        return "fused"
    return None


def relu_paths(model: keras.Model) -> List[LayerPath]:
    """Paths of every layer or op where the rules apply, nested models and the
    sub-layers of custom layers included, in graph order."""
    return [path for path in walk(model, into_layers=True) if relu_kind(path[-1]) is not None]


def _nonlinearity(op: Any) -> Optional[str]:
    """The name of a non-ReLU nonlinearity ``op`` applies (or a ReLU the rules cannot
    reach), None for a linear op or a ReLU with a rule."""
    if is_container(op) or relu_kind(op) is not None:
        return None
    if isinstance(op, _NONLINEAR_LAYERS):
        return type(op).__name__
    if not isinstance(op, keras.layers.Layer):
        name = type(op).__name__.lower()
        return name if name in _NONLINEAR_OPS else None
    name = activation_name(op)
    if name in _LINEAR:
        return None
    if name in RELU_ACTIVATIONS:
        return f"{name} inside {type(op).__name__}"
    return name


def _functional_nonlinearity(op: Any) -> Optional[str]:
    """For a custom layer or subclassed model, the nonlinearities its own ``call``
    applies as functions (which no override reaches), e.g. ``"relu applied as a
    function in call()"``; None when it applies none."""
    found = functional_ops(op, list(_FUNCTIONAL_OPS))
    if found is None:
        return "call() not inspected: nonlinearities it applies as functions are unknown"
    if not found:
        return None
    return f"{', '.join(_FUNCTIONAL_OPS[t] for t in found)} applied as a function in call()"


def non_relu_paths(model: keras.Model, skip: Tuple[LayerPath, ...] = ()) -> List[Tuple[LayerPath, str]]:
    """``(path, activation name)`` of every nonlinearity the rules leave to its ordinary
    gradient (``skip``: paths to leave out, e.g. a final softmax the scores bypass),
    including those that custom layers and subclassed models apply as functions in
    their ``call`` (path ``()`` for the model's own ``call``)."""
    found = []
    if container_kind(model) == "opaque":
        name = _functional_nonlinearity(model)
        if name is not None:
            found.append(((), name))
    for path in walk(model, into_layers=True):
        op = path[-1]
        name = _nonlinearity(op)
        if name is None and (is_custom_layer(op) or (is_container(op) and container_kind(op) == "opaque")):
            name = _functional_nonlinearity(op)
        if name is not None and path not in skip:
            found.append((path, name))
    return found


def describe_paths(found: List[Tuple[LayerPath, str]]) -> str:
    """``"'conv2' (tanh), 'backbone/act' (gelu)"`` (``()``: the model's own call)."""
    return ", ".join(f"{path_name(path) if path else 'the model'!r} ({name})" for path, name in found)


def rule_function(activation: Callable[[tf.Tensor], tf.Tensor], rule: str) -> Callable[[tf.Tensor], tf.Tensor]:
    """``z -> activation(z)`` with the backward pass of ``rule`` (see the module doc).

    ``activation`` is element-wise; its local derivative ``f'(z)`` is read with a tape in
    the forward pass (so any ReLU variant gets its own mask).
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")

    @tf.custom_gradient
    def apply(z: tf.Tensor):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(z)
            y = activation(z)
        if rule == "guided":
            passes = tf.cast(tape.gradient(y, z) > 0, z.dtype)

            def grad(dy):
                return tf.nn.relu(dy) * passes

        else:

            def grad(dy):
                return tf.nn.relu(dy)

        return tf.identity(y), grad

    return apply


def _override(op: Any, rule: str, on_preactivation: Optional[Callable[[tf.Tensor], Any]]) -> Override:
    fused = LinearCall(op) if relu_kind(op) == "fused" else None

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if fused is not None:
            z = fused(layer, *args, **kwargs)
            activation = fused.squash
        else:
            z = args[0]

            def activation(t):
                return call_inference(layer, (t,) + tuple(args[1:]), dict(kwargs))

        if on_preactivation is not None:
            on_preactivation(z)
        return rule_function(activation, rule)(z)

    return call


def relu_rule_overrides(
    model: keras.Model, rule: str, on_preactivation: Optional[Callable[[tf.Tensor], Any]] = None
) -> Dict[LayerPath, Override]:
    """GraphRunner overrides applying ``rule`` ("guided" or "deconvnet") at every ReLU of
    ``model`` (see :func:`relu_paths`), for ``ModelProbe.input_gradients(...,
    overrides=)``. ``on_preactivation(z)`` sees each ReLU's input as it is computed
    (e.g. ``tape.watch`` to read the signal the rule sends backward)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")
    return {path: _override(path[-1], rule, on_preactivation) for path in relu_paths(model)}

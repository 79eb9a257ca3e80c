"""Guided backpropagation (Springenberg, Dosovitskiy, Brox & Riedmiller, 2015,
https://arxiv.org/abs/1412.6806).

The gradient of the target score ``S`` with respect to the input ``x``, with the
backward pass of every ReLU replaced (forward unchanged; ``z`` the ReLU's input, ``dy``
the signal arriving at its output):

    dz = ReLU(dy) * 1[f'(z) > 0]               (= ReLU(dy) * 1[z > 0] for a plain ReLU)
    G[n, t] = "dS[n, t] / dx[n]" under that rule          (N, T, *S, C)
    M[n, t] = sum_c G[n, t, ..., c]                       (N, T, *S)

``S`` is the class score before the final softmax/sigmoid by default. The rule is
applied at every ReLU of the model at any nesting depth (ReLU / LeakyReLU layers,
``Activation("relu")``, ``keras.ops.relu`` nodes, Dense and convolutions with
``activation="relu"|"relu6"``, ``ReLU(max_value=, threshold=, negative_slope=)``, also as
sub-layers of custom layers and subclassed models; see
:mod:`eli5_keras.backend.relu_rules`) through graph overrides: the user's model is
neither cloned nor modified: :class:`GuidedBackprop` overrides
:meth:`~eli5_keras.methods.input_gradients.InputGradientMethod.gradients` to pass
them, and :class:`~eli5_keras.methods.deconvnet.Deconvnet` only changes ``rule``.

**Non-ReLU activations** (tanh, sigmoid, swish/silu, gelu, elu, selu, softplus, PReLU,
a ReLU inside a recurrent layer or applied as a function in a custom ``call``...) keep their ordinary gradient, so on a
model that has them the result is no longer pure guided backprop; the explainer warns
once (:class:`~eli5_keras.backend.relu_rules.NonReLUWarning`) and names those layers. A
final softmax/sigmoid bypassed by the logit scores is not counted.

The rule makes the signal leaving every ReLU backward non-negative; the map on the
input is signed (the first layer's weights mix signs). The default pipeline keeps its
positive part (ReLU) and min-max normalises it: the "positive gradient image" of the
paper's figures; ``relu=False, normalize=False`` returns the raw values.

Options
-------
reduce : {"sum", "mean", "max", "max_abs", "sum_abs", "l2"}, default "sum"
    Channel reduction of ``G`` (the paper shows ``G`` as an RGB image). ``"mean"`` is
    Xplique's default ``reducer`` (``"sum"`` / C); ``"max_abs"`` the saliency map's.
    Captum, tf-keras-vis and pytorch-grad-cam return the channels unreduced.

Coverage of other libraries: Xplique overrides ``activation=relu`` and ``ReLU`` layers
(its mask is ``1[z > 0]`` even with ``max_value``/``threshold``); tf-keras-vis and
AUCMEDI only ``activation == relu``; Captum and pytorch-grad-cam only ReLU modules.
"""
from __future__ import annotations

import warnings
import weakref

from ..backend.probe import final_squashing
from ..backend.relu_rules import NonReLUWarning, describe_paths, non_relu_paths, relu_rule_overrides
from ..backend.topology import model_outputs
from .base import Context
from .. import validation as check
from .input_gradients import CHANNEL_REDUCTIONS, InputGradientMethod


class GuidedBackprop(InputGradientMethod):
    name = "guided_backprop"
    title = "Guided Backprop"
    summary = "input gradient with ReLU(dy) * 1[z > 0] at every ReLU"
    rule = "guided"

    def __init__(self, reduce: str = "sum") -> None:
        self.reduce = check.choice("reduce", reduce, CHANNEL_REDUCTIONS)
        self._warned = weakref.WeakSet()

    def setup(self, context: Context) -> None:
        super().setup(context)
        warn_non_relu(context, self.title, self._warned)

    def gradients(self, context, inputs, data):
        """``G (n, T, *S, C)`` under ``rule`` at every ReLU, and the forward pass."""
        overrides = relu_rule_overrides(context.probe.model, self.rule)
        return context.probe.input_gradients(inputs, data, context.input_index, overrides=overrides)


def warn_non_relu(context: Context, title: str, warned: weakref.WeakSet) -> None:
    """Warn once per model (``warned`` remembers) when it has nonlinearities other than
    ReLUs, which keep their ordinary gradient."""
    probe = context.probe
    model = probe.model
    if model in warned:
        return
    warned.add(model)
    bypassed = ()
    if probe.use_logits:
        squashing = [final_squashing(model, i) for i in range(len(model_outputs(model)))]
        bypassed = tuple(path for path, kind in squashing if kind and path)
    found = non_relu_paths(model, skip=bypassed)
    if found:
        warnings.warn(
            f"{title}: model {model.name!r} has nonlinearities other than ReLU, whose ordinary gradient is "
            f"used, so the result is not pure {title}: {describe_paths(found)}.",
            NonReLUWarning,
            stacklevel=2,
        )

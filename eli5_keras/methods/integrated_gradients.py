"""Integrated Gradients (Sundararajan, Taly & Yan, 2017, https://arxiv.org/abs/1703.01365).

    IG_i[n, t] = (x_i - x'_i) * integral_0^1 dS[n, t](x' + a (x - x')) / dx_i da
               ~ (x_i - x'_i) * sum_k w_k * dS[n, t](x' + a_k (x - x')) / dx_i
    M[n, t]    = sum_c IG[n, t, ..., c]                      (N, T, *S), signed (reduce="sum")

``S`` is the differentiated target score (the logit by default), ``x`` the explained
input ``(N, *S, C)`` and ``x'`` the baseline (other inputs of a multi-input model are
held fixed). The target is fixed at ``x``: a top-class target explains the class
predicted for ``x`` at every point of the path, not each point's own top class.

Completeness (the paper's axiom): ``sum_i IG_i = S(x) - S(x')`` as the quadrature
converges. ``extras["completeness_gap"] (N, T)`` reports
``sum_i IG_i - (S(x) - S(x'))`` (Captum's ``convergence_delta``), so users can check
that ``steps`` is large enough; on a smooth model it shrinks like ``1/steps^2`` with
the trapezoid rule.

Memory: the ``P`` quadrature points of every input and target go through the model in
one compiled pass, in blocks of at most ``batch_size`` (input, target, point) items
(:func:`~eli5_keras.methods.base.sum_over_blocks`), so ``steps`` never raises the peak
memory.

Options
-------
steps : int, default 50
    Number of intervals (trapezoid: ``steps + 1`` points) or of points (other rules).
baseline : None, float or array, default None
    ``x'``: None or 0 is the black/zero input (the paper's); a scalar fills the input;
    an array broadcastable to one input ``(*S, C)`` (e.g. per-channel means ``(C,)``)
    is used for every input.
rule : str, default "trapezoid"
    Quadrature over ``a in [0, 1]`` (``w`` always sums to 1, so a constant gradient is
    integrated exactly):

    ``"trapezoid"``       ``a_k = k / steps``, ``k = 0..steps``; ``w = 1/steps`` with
                          both ends halved. Xplique's rule (its ``steps=m`` is ours
                          ``steps=m-1``) and AUCMEDI's. Captum's ``"riemann_trapezoid"``
                          differs: ``n_steps`` points ``linspace(0, 1, n)`` with step
                          ``1/n`` and halved ends, so its weights sum to ``(n-1)/n``.
    ``"riemann_left"``    ``a_k = k / steps``, ``k = 0..steps-1``; ``w = 1/steps``
                          (Captum's ``"riemann_left"``).
    ``"riemann_right"``   ``a_k = k / steps``, ``k = 1..steps`` (Captum's; the paper's
                          eq. 3 Riemann sum).
    ``"riemann_middle"``  ``a_k = (k + 1/2) / steps`` (Captum's).
    ``"gausslegendre"``   ``steps`` Gauss-Legendre nodes mapped to [0, 1]:
                          ``a = (1 + u) / 2``, ``w = v / 2`` with ``(u, v) =
                          numpy.polynomial.legendre.leggauss(steps)``; Captum's default.

    PAIR saliency uses ``linspace(0, 1, steps)`` with equal weights ``1/steps`` (both
    ends included), which is none of these; it converges to the same integral.
reduce : str, default "sum"
    Channel reduction of ``IG`` (:func:`~eli5_keras.methods.input_gradients.reduce_channels`):
    ``"sum"`` (the map's sum is the attribution's), ``"mean"`` (Xplique), ``"max"``
    (AUCMEDI's ``reduce_max``), ``"max_abs"``, ``"sum_abs"``, ``"l2"``. The completeness
    gap always sums every channel.

Deviations: the paper's eq. 3 is the right Riemann sum; we default to the trapezoid
rule (second-order accurate, exact weights summing to 1). Libraries reduce channels
differently (Captum keeps them, Xplique averages, AUCMEDI takes the max); we sum them by default so that the map's sum
is the attribution's sum and completeness can be read off the map.
"""
from __future__ import annotations

import hashlib
from typing import Any, Optional, Tuple

import numpy as np
import tensorflow as tf

from .base import Context, MethodOutput, explained_input_spec, sum_over_blocks
from .. import validation as check
from .input_gradients import CHANNEL_REDUCTIONS, InputGradientMethod, reduce_channels
from .perturbed import pin_targets

DEFAULT_STEPS = 50
QUADRATURE_RULES = ("trapezoid", "riemann_left", "riemann_right", "riemann_middle", "gausslegendre")


def quadrature(rule: str, steps: int) -> Tuple[np.ndarray, np.ndarray]:
    """Points ``a (P,)`` in [0, 1] and weights ``w (P,)`` (summing to 1) of ``rule``."""
    check.choice("rule", rule, QUADRATURE_RULES)
    if rule == "trapezoid":
        alphas = np.linspace(0.0, 1.0, steps + 1)
        weights = np.full(steps + 1, 1.0 / steps)
        weights[[0, -1]] /= 2.0
        return alphas, weights
    if rule == "gausslegendre":
        nodes, node_weights = np.polynomial.legendre.leggauss(steps)
        return (nodes + 1.0) / 2.0, node_weights / 2.0
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[rule]
    return (np.arange(steps) + offset) / steps, np.full(steps, 1.0 / steps)


def _check_baseline(baseline: Any) -> Optional[Any]:
    if baseline is None:
        return None
    if isinstance(baseline, bool):
        raise TypeError(f"baseline must be None, a number or an array of numbers; got {baseline!r}.")
    if hasattr(baseline, "numpy") and callable(baseline.numpy):
        baseline = baseline.numpy()
    array = np.asarray(baseline)
    if array.dtype == object or not np.issubdtype(array.dtype, np.number):
        raise TypeError(
            f"baseline must be None, a number or an array of numbers; got {type(baseline).__name__} "
            f"of dtype {array.dtype}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("baseline must be finite; got NaN or infinite values.")
    if array.ndim == 0:
        return float(array)
    array = np.array(array, dtype=np.float32)
    array.setflags(write=False)
    return array


class IntegratedGradients(InputGradientMethod):
    name = "integrated_gradients"
    title = "Integrated Gradients"
    summary = "(x - x') * path integral of dS/dx from a baseline x' (signed; completeness gap in extras)"
    signed = True

    def __init__(
        self, steps: int = DEFAULT_STEPS, baseline: Any = None, rule: str = "trapezoid", reduce: str = "sum"
    ) -> None:
        self.steps = check.integer("steps", steps, 1)
        self.reduce = check.choice("reduce", reduce, CHANNEL_REDUCTIONS)
        self.baseline = _check_baseline(baseline)
        self.rule = check.choice("rule", rule, QUADRATURE_RULES)
        self._alphas, self._weights = quadrature(self.rule, self.steps)

    def key(self) -> tuple:
        baseline = self.baseline
        if isinstance(baseline, np.ndarray):
            baseline = ("array", baseline.shape, hashlib.sha1(baseline.tobytes()).hexdigest())
        return (self.name, ("baseline", baseline), ("reduce", self.reduce), ("rule", self.rule), ("steps", self.steps))

    def setup(self, context: Context) -> None:
        super().setup(context)
        if not isinstance(self.baseline, np.ndarray):
            return
        shape = tuple(explained_input_spec(context)[0].shape[1:])
        given = self.baseline.shape
        aligned = shape[len(shape) - len(given):] if len(given) <= len(shape) else None
        if aligned is None or any(
            b != 1 and (d is None or b != d) for b, d in zip(given, aligned)
        ):
            raise ValueError(
                f"baseline has shape {given}, which does not broadcast to one input of shape {shape} "
                "(free axes, None, need size 1 in the baseline)."
            )

    def expansion(self, context: Context) -> int:
        return len(self._alphas)

    def _baseline_like(self, x: tf.Tensor) -> tf.Tensor:
        if self.baseline is None:
            return tf.zeros_like(x)
        return tf.zeros_like(x) + tf.constant(self.baseline, x.dtype)

    def compute(self, context, inputs, data, block):
        probe, index = context.probe, context.input_index
        inputs = list(inputs)
        x = inputs[index]
        fwd, fixed = pin_targets(context, inputs, data)
        baseline = self._baseline_like(x)
        base_scores = probe.forward(inputs[:index] + [baseline] + inputs[index + 1:], fixed).scores
        difference = x - baseline
        alphas = tf.constant(self._alphas, x.dtype)
        weights = tf.constant(self._weights, x.dtype)
        n = tf.shape(x)[0]
        initial = tf.zeros(tf.concat([[n, tf.shape(fwd.scores)[1]], tf.shape(x)[1:]], axis=0), x.dtype)
        initial.set_shape([None, fwd.scores.shape[1]] + x.shape[1:].as_list())

        def block_gradients(start, size):
            a = tf.reshape(alphas[start:start + size], [1, -1] + [1] * (x.shape.rank - 1))
            points = tf.reshape(baseline[:, None] + a * difference[:, None], tf.concat([[-1], tf.shape(x)[1:]], 0))
            points.set_shape([None] + x.shape[1:].as_list())
            batch = [points if j == index else tf.repeat(v, size, axis=0) for j, v in enumerate(inputs)]
            grads, _ = probe.input_gradients(batch, tf.repeat(fixed, size, axis=0), index)
            grads = tf.reshape(grads, tf.concat([[n, size], tf.shape(grads)[1:]], axis=0))
            summed = tf.tensordot(weights[start:start + size], grads, axes=[[0], [1]])
            summed.set_shape(initial.shape)
            return summed

        mean_gradients = sum_over_blocks(block_gradients, len(self._alphas), block, initial)
        attributions = mean_gradients * difference[:, None]
        total = tf.reduce_sum(attributions, axis=list(range(2, attributions.shape.rank)))
        gap = tf.cast(total, tf.float32) - (fwd.scores - base_scores)
        return MethodOutput(
            reduce_channels(attributions, self.reduce), fwd.labels, fwd.reported, {"completeness_gap": gap}
        )

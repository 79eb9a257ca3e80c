"""KernelSHAP (Lundberg & Lee, 2017, https://arxiv.org/abs/1705.07874): Shapley values
of the features (``segments=``, :mod:`.segments`) by a weighted linear regression.

With ``v(z) = f(x_z)``, the model's output on the input with the features where
``z = 0`` hidden (shown as ``baseline``), KernelSHAP solves

    phi = argmin sum_j pi(z_j) (v(z_j) - v(0) - z_j . phi)^2   s.t.  sum_k phi_k = v(1) - v(0)
    pi(z) = (K - 1) / (C(K, |z|) |z| (K - |z|))                the Shapley kernel

(the constraint is the efficiency property; ``v(0)`` is the baseline's output,
``extras["base_value"]``). On all ``2^K - 2`` proper subsets the solution is exactly the
Shapley values ``phi_k = sum_{S not containing k} |S|! (K - |S| - 1)! / K! (v(S + k) - v(S))``.

Samples: when ``2^K_i - 2 <= samples`` every proper subset is enumerated with weight
``pi`` (exact); otherwise ``samples`` subsets are drawn from the kernel (size ``s`` with
probability proportional to ``1 / (s (K - s))``, then ``s`` features uniformly) with
weight 1, the Monte-Carlo form of the same objective. The constrained least squares is
solved per input, every target at once, from the weighted moments (:mod:`.surrogate`) in
float64 through its KKT system ``[[A, 1], [1^T, 0]] [phi; lambda] = [c; v(1) - v(0)]``,
``A = sum pi z z^T``, ``c = sum pi z (v(z) - v(0))`` (shap eliminates one feature with the
constraint instead: the same minimiser). The system is solved by its pseudo-inverse, so
too few coalitions (fewer than the features) give the minimum-norm solution instead of
an error (shap falls back to ``lstsq`` on its reduced system then).

``v`` is the model's output as it returns it (probabilities; ``fwd.reported``), as
shap's ``KernelExplainer(model.predict)``. Defaults: ``samples=2048`` (shap's
``nsamples="auto"`` is ``2 K + 2048``), ``baseline=0.0`` (Xplique's ``KernelShap``
``ref_value``; ``"mean"``: each feature's mean colour, as LIME's default), features as
LIME's (a grid of 8 cells per axis, one per token on token ids). Deviations from shap:
no L1 feature selection (shap's ``l1_reg`` is off when the space is enumerated), and
sampled subsets are not paired with their complements nor are small sizes enumerated
first (shap's ``KernelExplainer`` does both). ``design=`` and ``design_weights=`` replace
the samples and their weights (e.g. shap's ``maskMatrix`` and ``kernelWeights``).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import numpy as np
import tensorflow as tf

from .. import validation as check
from .base import Context, MethodOutput
from .perturbed import forward_copies
from .segments import SegmentsSpec, per_feature, present, resolve
from .surrogate import (
    SurrogateMethod,
    design_option,
    given_design,
    hash_uniform,
    hide_option,
    moments,
    padded_identity,
)

DEFAULT_SAMPLES = 2048
SIZE_COLUMN = 1 << 30
"""Hash column of the subset-size draw (feature columns are ``0 .. K - 1``)."""


class KernelSHAP(SurrogateMethod):
    """Shapley values of features from the Shapley-kernel weighted regression with the
    efficiency constraint; exact when the features are few.

    Parameters
    ----------
    samples : int, default 2048
        Coalitions (masked forward passes) per input; every proper subset when
        ``2^K - 2 <= samples``.
    segments, grid
        The features, as for LIME (:mod:`eli5_keras.methods.segments`).
    baseline : "mean", float or (C,) floats, optional
        What hidden features show: default 0.0 on float inputs, token id 0 on token ids;
        a tuple gives one value per channel.
    seed : int, default 0
        Seed of the sampled coalitions.
    design : (B, K) binary array, optional
        Coalitions to use instead (every input must have ``K`` features).
    design_weights : (B,) array, optional
        Their weights (default: 1).

    Output: maps ``(N, T, *S)`` (each position carries its feature's Shapley value);
    extras ``base_value`` ``v(0)`` ``(N, T)``.
    """

    array_options = ("design", "design_weights")

    name = "kernelshap"
    title = "KernelSHAP"
    summary = "Shapley values of superpixel/grid/token features (Shapley-kernel weighted regression)"
    uses_layer = False
    signed = True
    per_target_work = False
    hide_name = "baseline"
    hide_default = 0.0

    def __init__(
        self,
        samples: int = DEFAULT_SAMPLES,
        segments: SegmentsSpec = None,
        grid: Optional[Union[int, Tuple[int, ...]]] = None,
        baseline: Any = None,
        seed: int = 0,
        design: Any = None,
        design_weights: Any = None,
    ) -> None:
        self.samples = check.integer("samples", samples, 1)
        self.grid = None if grid is None else check.per_axis("grid", grid)
        self.segments = resolve(segments, self.grid)
        self.baseline = None if baseline is None else hide_option("baseline", baseline)
        self.seed = check.integer("seed", seed, 0)
        self.design = design_option("design", design)
        self.design_weights = None
        if design_weights is not None:
            if self.design is None:
                raise ValueError("design_weights needs design (the coalitions they weigh); got design=None.")
            weights = np.asarray(design_weights, np.float64)
            if weights.shape != self.design.shape[:1] or not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError(
                    f"design_weights must be {self.design.shape[0]} finite weights >= 0 (one per design row); "
                    f"got shape {weights.shape}."
                )
            weights.setflags(write=False)
            self.design_weights = weights

    def expansion(self, context: Context) -> int:
        return (self.samples if self.design is None else self.design.shape[0]) + 1  # + the baseline

    def compute(self, context, inputs, data, block, side):
        labels, counts, fwd, pinned, t, k, hidden = self.chunk(context, inputs, data, side)
        base = forward_copies(context.probe, inputs, pinned, 1, replaced={context.input_index: hidden}).reported
        full = tf.cast(fwd.reported, tf.float64)
        base = tf.cast(base, tf.float64)
        if self.design is not None:
            count = self.design.shape[0]
            design = self._given(counts, k)
        else:
            exact = enumerable(counts, self.samples)
            rows = tf.where(exact, (2 ** tf.minimum(counts, 30)) - 2, self.samples)
            count = tf.reduce_max(rows)
            design = self._sampled(counts, k, exact, rows)
        m = moments(context, inputs, pinned, labels, hidden, design, count, block, k, t)
        phi = constrained_fit(m, base, full - base, counts, k)
        maps = per_feature(tf.cast(phi, tf.float32), labels)
        return MethodOutput(maps, fwd.labels, fwd.reported, {"base_value": tf.cast(base, tf.float32)})

    def _given(self, counts, k):
        weights = tf.constant(np.ones(self.design.shape[0]) if self.design_weights is None else self.design_weights)

        def design(start, size):
            rows = start + tf.range(size)
            z = given_design(self.design, tf.shape(counts)[0], rows)
            w = tf.broadcast_to(tf.gather(weights, rows)[None], tf.shape(z)[:2])
            return z, w

        return design

    def _sampled(self, counts, k, exact, rows_per_input):
        real = present(counts, k)  # (n, K)
        features = tf.cast(counts, tf.float64)[:, None]

        def design(start, size):
            rows = start + tf.range(size)
            used = rows[None, :] < rows_per_input[:, None]  # (n, b)
            # exact: coalition j is the bit pattern of j + 1, weight pi(|z|)
            bits = tf.bitwise.right_shift(tf.cast(rows + 1, tf.int64)[:, None], tf.cast(tf.minimum(tf.range(k), 62), tf.int64)[None])
            enumerated = tf.cast(tf.bitwise.bitwise_and(bits, 1), tf.float64)[None] * tf.cast(real, tf.float64)[:, None]
            z = tf.where(exact[:, None, None], enumerated, shapley_coalitions(self.seed, rows, counts, k))
            weight = tf.where(exact[:, None], shapley_kernel(tf.reduce_sum(enumerated, -1), features), 1.0)
            weight = tf.where(used & (counts[:, None] >= 2), weight, 0.0)
            return z, weight

        return design


def shapley_coalitions(seed: int, rows: tf.Tensor, counts: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
    """Coalitions ``(n, b, K)`` float64 drawn from the Shapley kernel: size
    ``s ~ 1 / (s (K_i - s))`` (:func:`kernel_sizes`), then the ``s`` real features with the
    smallest hash ``u(seed, row, feature)`` (a uniformly chosen subset of that size)."""
    real = present(counts, k)  # (n, K)
    u = hash_uniform(seed, rows, tf.range(k))  # (b, K)
    u = tf.where(real[:, None, :], u[None], 2.0)  # (n, b, K)
    rank = tf.argsort(tf.argsort(u, axis=-1), axis=-1)
    size_u = hash_uniform(seed, rows, tf.constant([SIZE_COLUMN]))[:, 0]  # (b,)
    sizes = kernel_sizes(counts, k, size_u)  # (n, b)
    return tf.cast(rank < sizes[..., None], tf.float64)


def enumerable(counts: tf.Tensor, samples: int) -> tf.Tensor:
    """``(n,)`` bool: every proper subset fits in ``samples`` (``2^K_i - 2 <= samples``)."""
    return tf.cast(counts, tf.float64) <= np.log2(samples + 2.0)


def shapley_kernel(size: tf.Tensor, features: tf.Tensor) -> tf.Tensor:
    """``pi = (K - 1) / (C(K, s) s (K - s))`` for ``0 < s < K`` (float64, broadcast)."""
    s = tf.clip_by_value(size, 1.0, tf.maximum(features - 1.0, 1.0))
    log_choose = tf.math.lgamma(features + 1.0) - tf.math.lgamma(s + 1.0) - tf.math.lgamma(features - s + 1.0)
    return (features - 1.0) / (tf.exp(log_choose) * s * (features - s))


def kernel_sizes(counts: tf.Tensor, k: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
    """Coalition sizes ``(n, b)`` drawn by inverse CDF from ``p(s) ~ 1 / (s (K_i - s))``,
    ``s = 1 .. K_i - 1``, with the uniforms ``u (b,)``."""
    s = tf.cast(tf.range(1, tf.maximum(k, 2)), tf.float64)[None]  # (1, K-1)
    features = tf.cast(counts, tf.float64)[:, None]
    p = tf.where(s < features, 1.0 / (s * tf.maximum(features - s, 1.0)), 0.0)
    cdf = tf.cumsum(p, axis=-1) / tf.maximum(tf.reduce_sum(p, axis=-1, keepdims=True), 1e-300)
    below = tf.cast(cdf[:, None, :] <= u[None, :, None], tf.int32) * tf.cast(s < features, tf.int32)[:, None]
    return 1 + tf.reduce_sum(below, axis=-1)


def constrained_fit(m, base: tf.Tensor, gap: tf.Tensor, counts: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
    """``phi (n, T, K)`` minimising ``sum w (y - v0 - z . phi)^2`` subject to
    ``sum_k phi_k = gap`` (``v(1) - v(0)``), by the KKT system of each input."""
    real = tf.cast(present(counts, k), tf.float64)  # (n, K)
    a = m.szz + padded_identity(counts, k)
    c = m.szy - base[:, :, None] * m.sz[:, None, :]  # (n, T, K)
    top = tf.concat([a, real[:, :, None]], axis=2)
    bottom = tf.concat([real[:, None, :], tf.zeros_like(real[:, :1, None])], axis=2)
    system = tf.concat([top, bottom], axis=1)  # (n, K+1, K+1)
    rhs = tf.concat([tf.transpose(c, [0, 2, 1]), gap[:, None, :]], axis=1)  # (n, K+1, T)
    solution = tf.linalg.pinv(system) @ rhs  # the minimum-norm solution when coalitions are too few
    return tf.transpose(solution[:, :-1, :], [0, 2, 1]) * real[:, None, :]

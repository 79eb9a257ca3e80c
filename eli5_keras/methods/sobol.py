"""Sobol attribution (Fel, Cadène, Chalvidal et al., "Look at the Variance! Efficient
Black-box Explanations with Sobol-based Sensitivity Analysis", NeurIPS 2021,
https://arxiv.org/abs/2111.04138), as Xplique's ``SobolAttributionMethod``.

Each grid cell ``i`` gets its total-order Sobol index: the share of the variance of the
target score ``f`` that involves mask coordinate ``i`` (alone or with others), when the
grid masks are uniform in ``[0, 1]^d``. On the replicated design of :mod:`.gsa_design`
(``A`` of ``N`` points, ``C_i`` = ``A`` with column ``i`` resampled from ``B``), with
``a_j = f(A_j)``, ``c_ij = f(C_i[j])``, ``Var`` the unbiased variance of ``a`` (floored at
``1e-12``, Xplique's ``EPS``), ``mean`` over ``j``:

``"jansen"`` (default; Jansen 1999)  ``ST_i = sum_j (a_j - c_ij)^2 / (2 N Var)``
``"homma"``  (Homma & Saltelli 1996)  ``ST_i = (Var - mean(a c_i) + mean(a)^2) / Var``
``"janon"``  (Janon et al. 2014)      ``ST_i = 1 - (mean(a c_i) - mu_i^2) / V_i``,
                                      ``mu_i = (mean(a) + mean(c_i)) / 2``,
                                      ``V_i = (sum a^2 + sum c_i^2) / (2 (N - 1)) - mu_i^2`` (floored)
``"glen"``   (Glen & Isaacs 2012)     ``ST_i = 1 - corr(a, c_i)`` (unbiased covariance and variances, floored)
``"saltelli"`` (Saltelli et al. 2008) ``ST_i = 1 - (mean(a c_i) - mean(a)^2) / Var``

For an additive ``f = b + sum_i beta_i m_i`` Jansen's index tends to
``beta_i^2 / sum_k beta_k^2``; a cell the model ignores gets exactly 0.

Defaults (Xplique's): ``grid=8``, ``designs=32`` (a power of two, as Xplique requires),
the unscrambled Sobol sequence, Jansen, inpainting: ``32 x 65 = 2080`` forward passes
per input (Xplique runs ``32 x 66``: it also scores ``B``, which no estimator reads).
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple, Union

import numpy as np
import tensorflow as tf

from .. import validation as check
from .gsa import DEFAULT_GRID, GSAMethod
from .segments import SegmentsSpec
from .gsa_design import replicated_rows, sample

DEFAULT_DESIGNS = 32
VARIANCE_FLOOR = 1e-12
"""Xplique's ``EPS``: variances below it are raised to it."""


def _variance(values: tf.Tensor) -> tf.Tensor:
    """Unbiased variance over the last axis (``N - 1``, at least 1)."""
    n = tf.cast(tf.shape(values)[-1], values.dtype)
    centred = values - tf.reduce_mean(values, axis=-1, keepdims=True)
    return tf.reduce_sum(tf.square(centred), axis=-1) / tf.maximum(n - 1.0, 1.0)


def _floor(value: tf.Tensor) -> tf.Tensor:
    return tf.maximum(value, VARIANCE_FLOOR)


def jansen(a: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
    """``sum_j (a_j - c_ij)^2 / (2 N Var(a))``: ``a (..., N)``, ``c (..., d, N)`` -> ``(..., d)``."""
    n = tf.cast(tf.shape(a)[-1], a.dtype)
    numerator = tf.reduce_sum(tf.square(a[..., None, :] - c), axis=-1)
    return numerator / (2.0 * n * _floor(_variance(a))[..., None])


def homma(a: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
    """``(Var - mean(a c_i) + mean(a)^2) / Var``."""
    var = _floor(_variance(a))[..., None]
    mean_a = tf.reduce_mean(a, axis=-1)[..., None]
    return (var - tf.reduce_mean(a[..., None, :] * c, axis=-1) + tf.square(mean_a)) / var


def janon(a: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
    """``1 - (mean(a c_i) - mu_i^2) / V_i`` (module docstring)."""
    n = tf.cast(tf.shape(a)[-1], a.dtype)
    mu = 0.5 * (tf.reduce_mean(a, axis=-1)[..., None] + tf.reduce_mean(c, axis=-1))
    squares = tf.reduce_sum(tf.square(a), axis=-1)[..., None] + tf.reduce_sum(tf.square(c), axis=-1)
    var = _floor(squares / (2.0 * tf.maximum(n - 1.0, 1.0)) - tf.square(mu))
    return 1.0 - (tf.reduce_mean(a[..., None, :] * c, axis=-1) - tf.square(mu)) / var


def glen(a: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
    """``1 - corr(a, c_i)``."""
    n = tf.cast(tf.shape(a)[-1], a.dtype)
    a_c = a - tf.reduce_mean(a, axis=-1, keepdims=True)
    c_c = c - tf.reduce_mean(c, axis=-1, keepdims=True)
    cov = tf.reduce_sum(a_c[..., None, :] * c_c, axis=-1) / tf.maximum(n - 1.0, 1.0)
    return 1.0 - cov / tf.sqrt(_floor(_variance(a))[..., None] * _floor(_variance(c)))


def saltelli(a: tf.Tensor, c: tf.Tensor) -> tf.Tensor:
    """``1 - (mean(a c_i) - mean(a)^2) / Var``."""
    var = _floor(_variance(a))[..., None]
    mean_a = tf.reduce_mean(a, axis=-1)[..., None]
    return 1.0 - (tf.reduce_mean(a[..., None, :] * c, axis=-1) - tf.square(mean_a)) / var


ESTIMATORS: Dict[str, Callable[[tf.Tensor, tf.Tensor], tf.Tensor]] = {
    "jansen": jansen,
    "homma": homma,
    "janon": janon,
    "glen": glen,
    "saltelli": saltelli,
}


def total_indices(estimator: str, scores: tf.Tensor, designs: int) -> tf.Tensor:
    """Total indices ``(..., d)`` from the scores ``(..., N (d + 1))`` of ``[A; C_0; ...]``."""
    a = scores[..., :designs]
    c = tf.reshape(scores[..., designs:], tf.concat([tf.shape(scores)[:-1], [-1, designs]], axis=0))
    return ESTIMATORS[estimator](a, c)


class SobolAttribution(GSAMethod):
    """Total-order Sobol index of each grid cell for the target score.

    Parameters
    ----------
    grid : int or tuple of ints, default 8
        Cells per spatial axis (Xplique's ``grid_size``).
    designs : int, default 32
        Points ``N`` of ``A`` (Xplique's ``nb_design``), a power of two; ``N (d + 1)``
        forward passes per input, ``d = prod(grid)``.
    sampler : {"sobol", "scrambled_sobol", "lhs"}, default "sobol"
        Sampler of the ``2d``-dimensional design giving ``A`` and ``B``.
    estimator : {"jansen", "homma", "janon", "glen", "saltelli"}, default "jansen"
        Total-index estimator (module docstring).
    perturbation, seed, segments, upsample
        As :class:`~.gsa.GSAMethod`; defaults ``"inpainting"``, 0, None (the grid), True
        (``False``: the grid-level indices ``(N, T, *grid)``, not resized).

    Output: maps ``(N, T, *S)`` (:class:`~.gsa.GSAMethod`).
    """

    name = "sobol"
    title = "Sobol attribution"
    summary = "total Sobol index of each grid cell for the score, over quasi-random masks"

    def __init__(
        self,
        grid: Union[int, Tuple[int, ...]] = DEFAULT_GRID,
        designs: int = DEFAULT_DESIGNS,
        sampler: str = "sobol",
        estimator: str = "jansen",
        perturbation: str = "inpainting",
        seed: int = 0,
        segments: SegmentsSpec = None,
        upsample: bool = True,
    ) -> None:
        super().__init__(grid, designs, sampler, perturbation, seed, segments, upsample)
        if self.designs & (self.designs - 1):
            raise ValueError(f"designs must be a power of two (Sobol sequence); got {designs!r}.")
        self.estimator = check.choice("estimator", estimator, tuple(ESTIMATORS))

    def points(self, dimension: int) -> np.ndarray:
        return sample(self.sampler, 2 * dimension, self.designs, self.seed)  # [A | B]

    def count(self, dimension: int) -> int:
        return self.designs * (dimension + 1)

    def rows(self, points, start, size):
        return replicated_rows(points, start, size)

    def indices(self, scores, points, block):
        return total_indices(self.estimator, scores, self.designs)

"""HSIC attribution (Novello, Fel, Vigouroux, "Making Sense of Dependence: Efficient
Black-box Explanations Using Dependence Measure", NeurIPS 2022,
https://arxiv.org/abs/2206.06219), as Xplique's ``HsicAttributionMethod`` with its
default ``BinaryEstimator(output_kernel="rbf")``.

Each grid cell ``i`` gets the Hilbert-Schmidt independence criterion between its mask
coordinate ``x_i`` (binary: kept 1 / removed 0) and the target score ``y``, over ``N``
binary design points (:func:`~.gsa_design.binary_design`):

    K_i[j, k] = 1 + (0.5 - (x_ij - x_ik)^2)               input (Dirac) kernel, 1.5 or 0.5
    L[j, k]   = exp(-(y_j - y_k)^2 / (2 w^2)),  w = median(y)   output RBF kernel
    H         = I - 1/N
    HSIC_i    = tr(H K_i H L) / N = sum_jk K_i[j, k] (H L H)[j, k] / N

As ``H L H`` has zero row and column sums, only ``2 x_j x_k`` of ``K_i`` survives, and
with ``X~ = H X`` (each column centred):

    HSIC_i = 2 X~_i^T L X~_i / N

computed from blocks of rows of ``L`` (at most ``batch_size`` rows of ``N`` at a time),
never a ``d x N x N`` tensor (Xplique's ``estimator_batch_size`` is not needed).
``w = median(y)`` is Xplique's ``tfp.stats.percentile(y, 50, "linear")`` (the median of
the scores themselves, not of their distances); ``w^2`` is floored at ``1e-30`` (a zero
median makes Xplique's kernel 0/0).

Defaults (Xplique's): ``grid=8``, ``designs=500``, the unscrambled Sobol sequence
rounded to ``{0, 1}``, inpainting: 500 forward passes per input. The paper uses Latin
hypercube sampling: ``sampler="lhs"``. The RBF and Sobolev input kernels of Xplique's
``RbfEstimator``/``SobolevEstimator`` (continuous designs) are not offered.
"""
from __future__ import annotations

from typing import Tuple, Union

import numpy as np
import tensorflow as tf

from .base import sum_over_blocks
from .gsa import DEFAULT_GRID, GSAMethod
from .segments import SegmentsSpec
from .gsa_design import binary_design

DEFAULT_DESIGNS = 500
WIDTH_SQUARED_FLOOR = 1e-30
"""Smallest ``w^2`` of the output kernel (``w`` = the median score)."""


def median(values: tf.Tensor) -> tf.Tensor:
    """Median over the last axis, interpolating linearly between the two middle values."""
    count = tf.shape(values)[-1]
    ordered = tf.sort(values, axis=-1)
    return 0.5 * (tf.gather(ordered, (count - 1) // 2, axis=-1) + tf.gather(ordered, count // 2, axis=-1))


def hsic_binary(scores: tf.Tensor, design: tf.Tensor, block: tf.Tensor) -> tf.Tensor:
    """``HSIC_i = 2 X~_i^T L X~_i / N`` (module docstring): scores ``(n, T, N)``, binary
    design ``(N, d)`` -> ``(n, T, d)``; ``L`` built ``block`` rows at a time.

    Computed in float64 with ``L - 1 = expm1(...)`` in place of ``L`` (the same value, as
    ``X~``'s columns sum to 0): when the scores vary little around their median, ``L`` is
    close to 1 everywhere and its sum against ``X~`` would cancel in float32."""
    scores = tf.cast(scores, tf.float64)
    design = tf.cast(design, tf.float64)
    count = tf.shape(design)[0]
    centred = design - tf.reduce_mean(design, axis=0, keepdims=True)  # (N, d)
    width2 = tf.maximum(tf.square(median(scores)), WIDTH_SQUARED_FLOOR)[..., None, None]  # (n, T, 1, 1)
    shape = tf.concat([tf.shape(scores)[:2], tf.shape(design)[1:]], axis=0)

    def rows(start, size):
        y_rows = scores[..., start : start + size]  # (n, T, b)
        kernel = tf.math.expm1(-tf.square(y_rows[..., :, None] - scores[..., None, :]) / (2.0 * width2))
        applied = tf.einsum("ntbk,kd->ntbd", kernel, centred)  # (L - 1) X~ on rows b
        return tf.einsum("ntbd,bd->ntd", applied, centred[start : start + size])

    total = sum_over_blocks(rows, count, block, tf.zeros(shape, tf.float64))
    return tf.cast(2.0 * total / tf.cast(count, tf.float64), tf.float32)


class HSICAttribution(GSAMethod):
    """HSIC between each grid cell's binary mask value and the target score.

    Parameters
    ----------
    grid : int or tuple of ints, default 8
        Cells per spatial axis (Xplique's ``grid_size``).
    designs : int, default 500
        Design points ``N`` (Xplique's ``nb_design``): ``N`` forward passes per input.
    sampler : {"sobol", "scrambled_sobol", "lhs"}, default "sobol"
        Sampler of the design, rounded to ``{0, 1}``.
    perturbation, seed, segments, upsample
        As :class:`~.gsa.GSAMethod`; defaults ``"inpainting"``, 0, None (the grid), True
        (``False``: the grid-level indices ``(N, T, *grid)``, not resized).

    Output: maps ``(N, T, *S)`` (:class:`~.gsa.GSAMethod`).
    """

    name = "hsic"
    title = "HSIC attribution"
    summary = "HSIC dependence between each grid cell's presence and the score, over binary masks"

    def __init__(
        self,
        grid: Union[int, Tuple[int, ...]] = DEFAULT_GRID,
        designs: int = DEFAULT_DESIGNS,
        sampler: str = "sobol",
        perturbation: str = "inpainting",
        seed: int = 0,
        segments: SegmentsSpec = None,
        upsample: bool = True,
    ) -> None:
        super().__init__(grid, designs, sampler, perturbation, seed, segments, upsample)

    def points(self, dimension: int) -> np.ndarray:
        return binary_design(self.sampler, dimension, self.designs, self.seed)

    def count(self, dimension: int) -> int:
        return self.designs

    def rows(self, points, start, size):
        return points[start : start + size]

    def indices(self, scores, points, block):
        return hsic_binary(scores, points, block)

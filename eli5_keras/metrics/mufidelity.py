"""MuFidelity (Bhatt, Weller and Moura, *Evaluating and Aggregating Feature-based Model
Explanations*, IJCAI 2020, definition 3): how well the map's sum over a random subset of
features predicts the score drop when that subset is set to the baseline.

    mu_F(x) = corr_{S random, |S| = k} ( sum_{i in S} g_i ,  S(x) - S(x with x_S = baseline) )

over ``samples`` random subsets of the ``F`` grid cells, ``k = round(subset * F)``
(at least 1), correlation Pearson's (the paper). ``g`` is the map at the input's
positions, summed over the positions of the chosen cells; ``S`` the target's score as
in :func:`~eli5_keras.metrics.deletion` (the model's output as it returns it, or the
logit with ``use_logits=True``), pinned to the clean input's classes. 1 is perfect; a
map or a score that does not vary across the subsets has no correlation (NaN).

The subsets are the same for every input and target and are drawn, stateless, from
``seed`` alone: the same seed gives the same scores whatever ``batch_size``.
"""
from __future__ import annotations

from typing import Any, Optional

import keras
import numpy as np
import tensorflow as tf

from .. import validation as check
from ..methods.base import concat_over_blocks
from .engine import PerturbationMetric, evaluate_metric, expand_copies

DEFAULT_GRID = 9
DEFAULT_SUBSET = 0.2
DEFAULT_SAMPLES = 200


class MuFidelity(PerturbationMetric):
    """Correlation of map sums and score drops over random subsets of grid cells."""

    name = "mufidelity"
    per_target_work = False

    def __init__(
        self,
        grid: Any = DEFAULT_GRID,
        subset: float = DEFAULT_SUBSET,
        samples: int = DEFAULT_SAMPLES,
        seed: int = 0,
        sampling: str = "fixed",
        correlation: str = "pearson",
    ) -> None:
        self.grid = None if grid is None else check.per_axis("grid", grid)
        self.subset = check.real("subset", subset, 0.0, 1.0, open_low=True, open_high=True)
        self.samples = check.integer("samples", samples, 2)
        self.seed = check.integer("seed", seed, 0)
        self.sampling = check.choice("sampling", sampling, ("fixed", "bernoulli"))
        self.correlation = check.choice("correlation", correlation, ("pearson", "spearman"))

    def expansion(self, features: int) -> int:
        return self.samples

    def subsets(self, features: int) -> tf.Tensor:
        """Which of ``features`` cells each sample sets to the baseline: ``(samples, F)``
        bool; ``"fixed"``: exactly ``k`` cells, uniformly (the paper's ``|S| = k``);
        ``"bernoulli"``: each cell with probability ``subset`` (Xplique)."""
        uniform = tf.random.stateless_uniform([self.samples, features], seed=tf.constant([self.seed, 0], tf.int64))
        if self.sampling == "bernoulli":
            return uniform < self.subset
        chosen = max(1, int(round(self.subset * features)))
        rank = tf.argsort(tf.argsort(uniform, axis=-1), axis=-1)
        return rank < chosen

    def compute(self, score, x, maps, baseline, features, block):
        n, t = tf.shape(maps)[0], tf.shape(maps)[1]
        flat = tf.reshape(maps, tf.stack([n, t, features.positions]))
        removed = tf.cast(features.at_positions(tf.cast(self.subsets(features.count), tf.float32)), tf.float32)
        spatial = tf.shape(x)[1:-1]

        def drops_and_sums(start, size):
            chosen = removed[start : start + size]  # (size, P)
            inside = tf.reshape(chosen > 0, tf.concat([[1, size], spatial, [1]], axis=0))
            copies = tf.where(inside, baseline[:, None], x[:, None])
            drops = score.clean[:, None, :] - score(expand_copies(x, copies), size)  # (n, size, T)
            sums = tf.tensordot(flat, chosen, axes=[[2], [1]])  # (n, T, size)
            return tf.stack([tf.transpose(drops, [0, 2, 1]), sums], axis=-1)

        both = concat_over_blocks(drops_and_sums, self.samples, block, axis=2)  # (n, T, samples, 2)
        if self.correlation == "spearman":
            both = average_ranks(both, axis=2)
        return pearson(both[..., 0], both[..., 1])


def pearson(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
    """Pearson correlation along the last axis (NaN when either side is constant)."""
    a = a - tf.reduce_mean(a, axis=-1, keepdims=True)
    b = b - tf.reduce_mean(b, axis=-1, keepdims=True)
    return tf.reduce_sum(a * b, axis=-1) / tf.sqrt(tf.reduce_sum(a * a, axis=-1) * tf.reduce_sum(b * b, axis=-1))


def average_ranks(values: tf.Tensor, axis: int) -> tf.Tensor:
    """1-based ranks along ``axis``, ties given their average rank (SciPy's ``rankdata``)."""
    v = tf.experimental.numpy.moveaxis(values, axis, -1)
    below = tf.reduce_sum(tf.cast(v[..., None, :] < v[..., :, None], tf.float32), axis=-1)
    equal = tf.reduce_sum(tf.cast(v[..., None, :] == v[..., :, None], tf.float32), axis=-1)
    return tf.experimental.numpy.moveaxis(below + (equal + 1.0) / 2.0, -1, axis)


def mufidelity(
    model: keras.Model,
    inputs: Any,
    maps: Any,
    targets: Any = None,
    *,
    baseline: Any = 0.0,
    use_logits: bool = False,
    batch_size: int = 32,
    output_index: int = 0,
    input_index: Optional[int] = None,
    **options: Any,
) -> np.ndarray:
    """MuFidelity of each map: ``(N, *S, C), (N, *S) -> (N,)``; ``(N, T, *S) -> (N, T)``.

    Parameters
    ----------
    model, inputs, maps, targets, baseline, use_logits, batch_size, output_index, input_index
        As in :func:`~eli5_keras.metrics.deletion` (``baseline`` default 0, the paper's
        and Xplique's).
    grid : None, int or tuple of ints, default 9
        Cells per spatial axis (Xplique's ``grid_size``); None: every position is a feature.
    subset : float in (0, 1), default 0.2
        Share of the cells set to the baseline per sample (Xplique's ``subset_percent``).
    samples : int >= 2, default 200
        Random subsets per input (Xplique's ``nb_samples``); one forward pass each,
        shared by every target.
    seed : int, default 0
        Seed of the subsets.
    sampling : {"fixed", "bernoulli"}, default "fixed"
        Subsets of exactly ``round(subset * F)`` cells (the paper), or each cell with
        probability ``subset`` (Xplique).
    correlation : {"pearson", "spearman"}, default "pearson"
        The paper's Pearson correlation, or Spearman's (Xplique; ties get average ranks).

    Returns
    -------
    numpy.ndarray float32, (N,) or (N, T), in [-1, 1]; NaN where the map sums or the
    score drops do not vary over the subsets.
    """
    return evaluate_metric(
        MuFidelity(**options), model, inputs, maps, targets, baseline=baseline, batch_size=batch_size,
        use_logits=use_logits, output_index=output_index, input_index=input_index,
    )

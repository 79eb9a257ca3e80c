"""The causal curves of Petsiuk et al. (2018, RISE, https://arxiv.org/abs/1806.07421,
section 4.1), shared by :func:`~eli5_keras.metrics.deletion` and
:func:`~eli5_keras.metrics.insertion`.

Features (positions, or cells of a grid) are ranked by the map, most relevant first
(mean of the map over a cell; ties in C order). With ``F`` features and ``K`` steps,
step ``k = 0..K`` changes the ``n_k = floor(k F / K)`` most relevant features:

    deletion   x_k = x with those features set to the baseline     (x_0 = x)
    insertion  x_k = the baseline with those features from x        (x_K = x)
    curve      s_k = S(x_k)                                          (K + 1 points)
    AUC        = (sum_k s_k - s_0 / 2 - s_K / 2) / K                 (trapezoid on [0, 1])

``S`` is the target's score on the model's output as it returns it (a probability
under a softmax/sigmoid head), or its logit with ``use_logits=True``; the targets are
pinned to the clean input's classes. All channels of a position change together. The
clean end of the curve (``x_0 = x`` for deletion, ``x_K = x`` for insertion) is scored by
the pinning pass, so ``K`` perturbed copies are run per map.
"""
from __future__ import annotations

from typing import Any, ClassVar, Optional, Type

import keras
import numpy as np
import tensorflow as tf

from .. import validation as check
from ..methods.base import concat_over_blocks
from .engine import PerturbationMetric, evaluate_metric, expand_copies

DEFAULT_STEPS = 100


class CausalMetric(PerturbationMetric):
    """AUC of the score along a map's ranking: features removed from the input
    (``insert`` False) or added to the baseline (``insert`` True)."""

    insert: ClassVar[bool]

    def __init__(self, steps: int = DEFAULT_STEPS, grid: Any = None) -> None:
        self.steps = check.integer("steps", steps, 1)
        self.grid = None if grid is None else check.per_axis("grid", grid)

    def steps_for(self, features: int) -> int:
        """``K``: ``steps``, at most one step per feature."""
        return min(self.steps, features)

    def expansion(self, features: int) -> int:
        return self.steps_for(features)

    def compute(self, score, x, maps, baseline, features, block):
        return auc(self.curves(score, x, maps, baseline, features, block))

    def curves(self, score, x, maps, baseline, features, block) -> tf.Tensor:
        """Scores ``(n, T, K + 1)`` along the curve. The clean input is one end of it
        (``x_0 = x`` for deletion, ``x_K = x`` for insertion): its score is the pinning
        pass's, so ``K`` copies per target are run, not ``K + 1``."""
        n, t = tf.shape(maps)[0], tf.shape(maps)[1]
        steps = self.steps_for(features.count)
        first = 0 if self.insert else 1  # the steps run: 0..K-1 (insertion) or 1..K (deletion)
        flat = tf.reshape(maps, tf.stack([n, t, features.positions]))
        order = tf.argsort(features.relevance(flat), axis=-1, direction="DESCENDING", stable=True)
        rank = features.at_positions(tf.argsort(order, axis=-1, stable=True))  # (n, T, P): 0 = most relevant
        spatial = tf.shape(x)[1:-1]

        def scores(start, size):
            item = start + tf.range(size)
            which, step = item // steps, item % steps + first
            changed = tf.cast(step, tf.int64) * features.count // steps  # n_k
            ranks = tf.gather(rank, which, axis=1)  # (n, size, P)
            inside = tf.cast(ranks, tf.int64) < changed[None, :, None]
            inside = tf.reshape(inside, tf.concat([[n, size], spatial, [1]], axis=0))
            start_from, end_at = (baseline, x) if self.insert else (x, baseline)
            copies = tf.where(inside, end_at[:, None], start_from[:, None])
            out = score(expand_copies(x, copies), size)  # (n, size, T)
            return tf.reduce_sum(out * tf.one_hot(which, t)[None], axis=-1)  # (n, size)

        run = tf.reshape(concat_over_blocks(scores, t * steps, block, axis=1), tf.stack([n, t, steps]))
        clean = tf.cast(score.clean, run.dtype)[..., None]  # (n, T, 1)
        return tf.concat([run, clean] if self.insert else [clean, run], axis=-1)


def auc(curves: tf.Tensor) -> tf.Tensor:
    """Trapezoid area of curves ``(..., K + 1)`` sampled evenly on [0, 1]: ``(...)``
    (the RISE authors' ``auc``)."""
    steps = tf.cast(tf.shape(curves)[-1] - 1, curves.dtype)
    return (tf.reduce_sum(curves, axis=-1) - curves[..., 0] / 2 - curves[..., -1] / 2) / steps



def causal_scores(
    kind: Type[CausalMetric],
    model: keras.Model,
    inputs: Any,
    maps: Any,
    targets: Any = None,
    *,
    baseline: Any,
    steps: int = DEFAULT_STEPS,
    grid: Any = None,
    use_logits: bool = False,
    batch_size: int = 32,
    output_index: int = 0,
    input_index: Optional[int] = None,
) -> np.ndarray:
    """The AUC of metric ``kind`` (deletion or insertion) for each map; the arguments
    are documented by :func:`eli5_keras.metrics.deletion`."""
    return evaluate_metric(
        kind(steps=steps, grid=grid), model, inputs, maps, targets, baseline=baseline, batch_size=batch_size,
        use_logits=use_logits, output_index=output_index, input_index=input_index,
    )

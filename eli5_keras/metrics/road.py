"""ROAD, RemOve And Debias (Rong, Leemann, Borisov, Kasneci and Kasneci, *A Consistent and
Efficient Evaluation Strategy for Attribution Methods*, ICML 2022): the change of the
target score when a share of the pixels, ranked by the map, is replaced by noisy linear
imputation (:mod:`.imputation`), averaged over several shares.

    x_p = x with the floor(p P / 100) most (MoRF) or least (LeRF) relevant positions imputed
    road = mean_p ( S(x_p) - S(x) )

``S`` as for :func:`~eli5_keras.metrics.deletion` (the model's output as it returns it, or
the logit with ``use_logits=True``; targets pinned to the clean input). MoRF: lower (a
larger drop) is better; LeRF: higher (a smaller drop) is better. 2-D images only (the
imputation's 8 neighbours are the paper's).

Differences: pytorch-grad-cam's ``ROADMostRelevantFirstAverage`` reports the same mean
confidence change, but its ``percentile=p`` keeps the positions under the p-th percentile
(MoRF removes ``100 - p`` %, ties at the threshold removed together); ``percentages`` here
are the removed share, as in Quantus' ``ROAD``, which records top-1 accuracy per share
instead of a score. Ties in the ranking go to the first position in C order.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from .. import validation as check
from ..backend.inputs import input_spatial_rank
from ..backend.topology import model_inputs
from .engine import PerturbationMetric, evaluate_metric, metric_inputs, metric_maps
from .imputation import noisy_linear_imputation

DEFAULT_PERCENTAGES = (10, 20, 30, 40, 50, 60, 70, 80, 90)
DEFAULT_NOISE = 0.01
ORDERS = ("morf", "lerf")


class ImputedScoreChange(PerturbationMetric):
    """``S(baseline) - S(x)``: the score change when the input is replaced by its
    ``baseline`` argument, here the imputed copy."""

    name = "road"
    per_target_work = False

    def expansion(self, features: int) -> int:
        return 1

    def compute(self, score, x, maps, baseline, features, block):
        return score(baseline, tf.constant(1))[:, 0, :] - score.clean


def removed_positions(maps: np.ndarray, percentage: float, most_relevant: bool) -> np.ndarray:
    """The ``floor(percentage * P / 100)`` most (or least) relevant positions of maps
    ``(N, *S)``: bool ``(N, *S)``; ties to the first position in C order."""
    n = len(maps)
    flat = maps.reshape(n, -1)
    order = np.argsort(-flat if most_relevant else flat, axis=1, kind="stable")
    count = int(percentage * flat.shape[1] // 100)
    chosen = np.zeros(flat.shape, bool)
    np.put_along_axis(chosen, order[:, :count], True, axis=1)
    return chosen.reshape(maps.shape)


def road(
    model: keras.Model,
    inputs: Any,
    maps: Any,
    targets: Any = None,
    *,
    order: str = "morf",
    percentages: Sequence[float] = DEFAULT_PERCENTAGES,
    noise: float = DEFAULT_NOISE,
    seed: int = 0,
    use_logits: bool = False,
    batch_size: int = 32,
    output_index: int = 0,
    input_index: Optional[int] = None,
) -> np.ndarray:
    """ROAD score change of each map: ``(N, H, W, C), (N, H, W) -> (N,)``;
    ``(N, T, H, W) -> (N, T)`` (``targets`` then ``(N, T)`` classes).

    Parameters
    ----------
    model, inputs, maps, targets, use_logits, batch_size, output_index, input_index
        As in :func:`~eli5_keras.metrics.deletion`; the explained input must be a float
        image ``(N, H, W, C)``.
    order : {"morf", "lerf"}, default "morf"
        Impute the most relevant positions first (MoRF) or the least (LeRF).
    percentages : sequence of numbers in (0, 100), default 10, 20, ..., 90
        Shares of the positions imputed (pytorch-grad-cam's averaged ROAD's).
    noise : float >= 0, default 0.01
        Standard deviation of the noise added to imputed values (the authors').
    seed : int, default 0
        Seed of the noise; the draws follow the percentages, then the targets, in turn.

    Returns
    -------
    numpy.ndarray float64, (N,) or (N, T): ``mean_p S(x_p) - S(x)``.
    """
    order = check.choice("order", order, ORDERS)
    shares = check.float_tuple("percentages", percentages)
    if any(p >= 100 for p in shares):
        raise ValueError(f"percentages must be in (0, 100); got {tuple(percentages)!r}.")
    noise = check.real("noise", noise, 0.0)
    seed = check.integer("seed", seed, 0)
    arrays, index = metric_inputs(model, inputs, input_index)
    x = arrays[index]
    if input_spatial_rank(model_inputs(model)[index]) != 2 or x.ndim != 4 or x.dtype.kind != "f":
        raise ValueError(
            f"road imputes pixels from their 8 neighbours, so it needs a float image input (N, H, W, C); "
            f"input {index} has shape {x.shape} and dtype {x.dtype}."
        )
    all_maps, single = metric_maps(maps, len(x), x.shape[1:3])
    num_targets = all_maps.shape[1]
    if num_targets > 1:
        columns = np.asarray(targets) if targets is not None else None
        if columns is None or columns.shape != (len(x), num_targets):
            raise ValueError(
                f"maps have {num_targets} maps per input: pass targets (N, T) = ({len(x)}, {num_targets}) "
                "classes (e.g. targets=result.targets)."
            )
    rng = np.random.default_rng(seed)
    changes = np.zeros((len(x), num_targets))
    for p in shares:
        for t in range(num_targets):
            removed = removed_positions(all_maps[:, t], p, order == "morf")
            imputed = noisy_linear_imputation(x, removed, noise, rng).astype(x.dtype)
            column = targets if num_targets == 1 else np.asarray(targets)[:, t]
            changes[:, t] += evaluate_metric(
                ImputedScoreChange(), model, inputs, all_maps[:, t], column, baseline=imputed,
                batch_size=batch_size, use_logits=use_logits, output_index=output_index, input_index=input_index,
            )
    changes /= len(shares)
    return changes[:, 0] if single else changes

"""Deletion (Petsiuk et al., 2018, RISE, https://arxiv.org/abs/1806.07421, section 4.1):
the area under the target score as the most relevant features are removed, first to
last. Lower is better: a faithful map names first what the model needs most.

    x_k = x with the floor(k F / K) most relevant features set to the baseline
    deletion = (sum_k S(x_k) - S(x_0) / 2 - S(x_K) / 2) / K,    k = 0..K

See :mod:`eli5_keras.metrics.causal` for the ranking and the curve and
``docs/metrics.md`` for how it compares with the RISE authors' code, Xplique and Quantus.
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .causal import CausalMetric, causal_scores


class Deletion(CausalMetric):
    name = "deletion"
    insert = False


def deletion(model: keras.Model, inputs: Any, maps: Any, targets: Any = None, *, baseline: Any = 0.0,
             **options: Any) -> np.ndarray:
    """Deletion AUC of each map: ``(N, *S, C), (N, *S) -> (N,)``; ``(N, T, *S) -> (N, T)``.

    Parameters
    ----------
    model : keras.Model
    inputs : array-like, shape (N, *S, C)
        1, 2 or 3 spatial axes; a list or dict of arrays for a multi-input model (the
        explained one is ``input_index``, default the first with spatial axes).
    maps : array-like, shape (N, *S) or (N, T, *S)
        Relevance at the input's spatial shape (e.g. ``explain(...).maps``).
    targets : as in :func:`eli5_keras.explain`
        None: each input's top class on the clean input; with maps ``(N, T, *S)``,
        T targets per input (e.g. ``result.targets``). Pinned to the clean input.
    baseline : float, "mean", "blur" or array, default 0.0
        What removed features become (:mod:`eli5_keras.metrics.baselines`); 0 is the
        RISE authors' deletion substrate.
    steps : int, default 100
        ``K``, the number of removal steps (at most one feature per step: ``K`` is
        lowered to ``F`` when there are fewer features); ``K + 1`` forward passes per map.
    grid : None, int or tuple of ints, default None
        None: every position is a feature (the paper's pixels); cells per spatial axis
        otherwise, ranked by the map's mean over the cell.
    use_logits : bool, default False
        Score the class logit (before a final softmax/sigmoid) instead of the model's
        output as it returns it (the paper's probability).
    batch_size : int, default 32
        At most this many perturbed copies go through the model at once.
    output_index : int, default 0
        The model output class targets read.
    input_index : int, optional
        The model input to perturb (default: the first with spatial axes).

    Returns
    -------
    numpy.ndarray float32, (N,) or (N, T), in the score's range (probabilities: [0, 1]).

    Examples
    --------
    >>> result = eli5_keras.explain(model, images, method="gradcam")   # doctest: +SKIP
    >>> deletion(model, images, result.maps, result.targets)           # doctest: +SKIP
    """
    return causal_scores(Deletion, model, inputs, maps, targets, baseline=baseline, **options)

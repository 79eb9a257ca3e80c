"""Insertion (Petsiuk et al., 2018, RISE, https://arxiv.org/abs/1806.07421, section 4.1):
the area under the target score as the most relevant features are added to the
baseline, first to last. Higher is better: a faithful map restores the score early.

    x_k = the baseline with the floor(k F / K) most relevant features of x
    insertion = (sum_k S(x_k) - S(x_0) / 2 - S(x_K) / 2) / K,    k = 0..K

The default baseline is the RISE authors' insertion substrate, the blurred input. See
:mod:`eli5_keras.metrics.causal` and ``docs/metrics.md``.
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np

from .causal import CausalMetric, causal_scores


class Insertion(CausalMetric):
    name = "insertion"
    insert = True


def insertion(model: keras.Model, inputs: Any, maps: Any, targets: Any = None, *, baseline: Any = "blur",
              **options: Any) -> np.ndarray:
    """Insertion AUC of each map: ``(N, *S, C), (N, *S) -> (N,)``; ``(N, T, *S) -> (N, T)``.

    The arguments and options (``steps``, ``grid``, ``use_logits``, ``batch_size``,
    ``output_index``, ``input_index``) are :func:`~eli5_keras.metrics.deletion`'s; only
    ``baseline``'s default differs: ``"blur"``, the input blurred as in the RISE authors'
    code (:func:`eli5_keras.metrics.baselines.blur`), where deletion uses 0.
    """
    return causal_scores(Insertion, model, inputs, maps, targets, baseline=baseline, **options)

"""Sparseness (Chalasani et al., *Concise Explanations of Neural Networks using
Adversarial Training*, ICML 2020): the Gini index of the map's absolute values; 1 when
one position holds all the relevance, 0 when it is spread evenly.

    x_(1) <= ... <= x_(n)  the sorted |map|
    G = sum_i (2 i - n - 1) x_(i) / (n sum_i x_(i))

(= Xplique's ``2 sum_i i x_(i) / (n sum x) - (n + 1) / n``). A map of zeros has no
distribution of relevance: NaN.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .flat import absolute_maps


def sparseness(maps: Any, *, per_target: bool = False) -> np.ndarray:
    """Gini index of each map's ``|values|``, in [0, 1 - 1/n]: ``(N, *S) -> (N,)``;
    with ``per_target=True``, ``(N, T, *S) -> (N, T)``."""
    values, shape = absolute_maps(maps, per_target)
    n = values.shape[1]
    ordered = np.sort(values, axis=1)
    weights = 2.0 * np.arange(1, n + 1) - n - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((ordered @ weights) / (n * ordered.sum(axis=1))).reshape(shape)

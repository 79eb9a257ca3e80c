"""Complexity (Bhatt, Weller and Moura, *Evaluating and Aggregating Feature-based Model
Explanations*, IJCAI 2020): the entropy of the map's share of absolute
relevance per position; low when few positions explain the prediction.

    P_i = |g_i| / sum_j |g_j|,     complexity = -sum_i P_i ln P_i     (0 ln 0 = 0)

Natural logarithm, in [0, ln n]. A map of zeros has no distribution: NaN.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .flat import absolute_maps


def complexity(maps: Any, *, per_target: bool = False) -> np.ndarray:
    """Entropy of each map's normalised ``|values|``: ``(N, *S) -> (N,)``; with
    ``per_target=True``, ``(N, T, *S) -> (N, T)``."""
    values, shape = absolute_maps(maps, per_target)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = values / values.sum(axis=1, keepdims=True)
        terms = np.where(shares > 0, -shares * np.log(np.where(shares > 0, shares, 1.0)), 0.0)
    entropy = terms.sum(axis=1)
    entropy[~np.isfinite(shares).all(axis=1)] = np.nan
    return entropy.reshape(shape)

"""Localisation metrics: how well heat maps point at where the evidence really is.

``pointing_game(maps, masks)`` is the pointing game of Zhang et al. (2016,
https://arxiv.org/abs/1608.00507), in its plain form without a tolerance margin: a hit is
a map whose maximum lies inside the ground-truth mask.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["pointing_game", "pointing_hits"]


def pointing_hits(maps: Any, masks: Any) -> np.ndarray:
    """Whether each map's maximum falls inside its mask: ``(N, *S), (N, *S) -> bool (N,)``.

    Parameters
    ----------
    maps : array-like, shape (N, *S)
        One heat map per example, any number of spatial axes ``S``. Ties between maxima
        go to the first in C order (``numpy.argmax``).
    masks : array-like, shape (N, *S)
        Ground truth, True (or nonzero) on the object.

    Raises
    ------
    ValueError
        Shapes differ, there is no spatial axis, a map holds NaN, or a mask is empty
        (a hit would be impossible, which would silently lower the score).
    """
    maps = np.asarray(maps)
    masks = np.asarray(masks)
    if maps.shape != masks.shape:
        raise ValueError(
            f"maps and masks must have the same shape (N, *S); got maps {maps.shape} and masks {masks.shape}."
        )
    if maps.ndim < 2:
        raise ValueError(f"maps must have shape (N, *S) with at least one spatial axis; got {maps.shape}.")
    if maps.dtype.kind not in "biuf" or masks.dtype.kind not in "biuf":
        raise ValueError(f"maps and masks must be numeric or boolean; got {maps.dtype} and {masks.dtype}.")
    positions = int(np.prod(maps.shape[1:]))
    flat_maps = maps.reshape(len(maps), positions)
    flat_masks = masks.reshape(len(masks), positions).astype(bool)
    if np.isnan(flat_maps).any():
        raise ValueError("maps hold NaN values; their maximum is undefined.")
    empty = np.flatnonzero(~flat_masks.any(axis=1))
    if empty.size:
        raise ValueError(f"masks of examples {empty[:10].tolist()} are empty; every example needs an object.")
    peaks = flat_maps.argmax(axis=1)
    return flat_masks[np.arange(len(flat_masks)), peaks]


def pointing_game(maps: Any, masks: Any) -> float:
    """Share of maps whose maximum falls inside the true object mask, in [0, 1].

    ``(N, *S), (N, *S) -> float``; see :func:`pointing_hits` for the arguments and errors.

    Examples
    --------
    >>> maps = np.zeros((2, 4, 4)); maps[0, 1, 1] = maps[1, 3, 3] = 1.0
    >>> masks = np.zeros((2, 4, 4), bool); masks[:, :2, :2] = True
    >>> pointing_game(maps, masks)
    0.5
    """
    hits = pointing_hits(maps, masks)
    if hits.size == 0:
        raise ValueError("pointing_game needs at least one map; got N = 0.")
    return float(hits.mean())

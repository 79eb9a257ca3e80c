"""Maps against ground-truth masks: the shapes and checks the localisation metrics share."""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np


def flat_maps_and_masks(maps: Any, masks: Any) -> Tuple[np.ndarray, np.ndarray, Tuple[int, ...]]:
    """Maps ``(N, *S)`` or ``(N, T, *S)`` and masks ``(N, *S)`` (or like the maps) as
    float64 maps ``(N, T, P)`` and bool masks ``(N, T, P)``, with the scores' shape
    (``(N,)`` or ``(N, T)``).

    Raises
    ------
    ValueError
        Shapes that do not fit, no spatial axis, non-numeric or non-finite maps, or an
        empty mask (the score would be undefined).
    """
    maps = np.asarray(maps.numpy() if hasattr(maps, "numpy") else maps)
    masks = np.asarray(masks.numpy() if hasattr(masks, "numpy") else masks)
    if maps.dtype.kind not in "biuf" or masks.dtype.kind not in "biuf":
        raise ValueError(f"maps and masks must be numeric or boolean; got {maps.dtype} and {masks.dtype}.")
    per_target = maps.ndim == masks.ndim + 1
    spatial = maps.shape[2:] if per_target else maps.shape[1:]
    if masks.ndim < 2 or masks.shape != maps.shape[:1] + spatial:
        raise ValueError(
            "maps must have shape (N, *S) or (N, T, *S) and masks (N, *S), with at least one spatial axis; "
            f"got maps {maps.shape} and masks {masks.shape}."
        )
    if not np.all(np.isfinite(maps)):
        raise ValueError("maps hold NaN or infinite values.")
    n = maps.shape[0]
    t = maps.shape[1] if per_target else 1
    flat_maps = maps.reshape(n, t, -1).astype(np.float64)
    flat_masks = np.broadcast_to(masks.reshape(n, 1, -1), flat_maps.shape) != 0
    empty = np.flatnonzero(~flat_masks.any(axis=2).all(axis=1))
    if empty.size:
        raise ValueError(f"masks of examples {empty[:10].tolist()} are empty; every example needs an object.")
    return flat_maps, flat_masks, (n, t) if per_target else (n,)


def positive_share_inside(maps: Any, masks: Any, absolute: bool = False) -> np.ndarray:
    """``sum_{p in mask} R_p / sum_p R_p`` with ``R = max(map, 0)`` (``|map|`` when
    ``absolute``): ``(N, [T,] *S), (N, *S) -> (N,) or (N, T)``; NaN when ``R`` is all 0."""
    flat_maps, flat_masks, shape = flat_maps_and_masks(maps, masks)
    relevance = np.abs(flat_maps) if absolute else np.maximum(flat_maps, 0.0)
    inside = np.where(flat_masks, relevance, 0.0).sum(axis=2)
    total = relevance.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (inside / total).reshape(shape)

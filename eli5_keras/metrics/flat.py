"""Maps flattened per map for the complexity metrics, which need no model and no mask."""
from __future__ import annotations

from typing import Any, Tuple

import numpy as np

from .. import validation as check


def absolute_maps(maps: Any, per_target: bool) -> Tuple[np.ndarray, Tuple[int, ...]]:
    """``|maps|`` as float64 ``(M, P)``, one row per map, and the scores' shape: maps
    ``(N, *S) -> (N,)``, or with ``per_target`` ``(N, T, *S) -> (N, T)``."""
    per_target = check.boolean("per_target", per_target)
    maps = np.asarray(maps.numpy() if hasattr(maps, "numpy") else maps)
    if maps.dtype.kind not in "biuf":
        raise ValueError(f"maps must be numeric; got {maps.dtype}.")
    lead = 2 if per_target else 1
    if maps.ndim < lead + 1:
        axes = "(N, T, *S)" if per_target else "(N, *S)"
        raise ValueError(f"maps must have shape {axes} with at least one spatial axis; got {maps.shape}.")
    if not np.all(np.isfinite(maps)):
        raise ValueError("maps hold NaN or infinite values.")
    shape = maps.shape[:lead]
    return np.abs(maps.reshape(int(np.prod(shape)), -1).astype(np.float64)), shape

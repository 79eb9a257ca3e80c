"""Scores of maps against ground truth, in plain numpy."""
from __future__ import annotations

import numpy as np

__all__ = ["pointing_game", "pointing_hits"]


def pointing_hits(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Whether each map's maximum falls inside its mask: ``(N, *S), (N, *S) -> bool (N,)``.

    The maximum is the first one in C order (``numpy.argmax``) when several cells tie.

    Raises
    ------
    ValueError
        ``masks`` has another shape than ``maps``.
    """
    maps, masks = np.asarray(maps), np.asarray(masks)
    if maps.shape != masks.shape:
        raise ValueError(f"masks must have the maps' shape {maps.shape}; got {masks.shape}.")
    flat = maps.reshape(len(maps), -1).argmax(axis=1)
    return masks.reshape(len(masks), -1)[np.arange(len(masks)), flat].astype(bool)


def pointing_game(maps: np.ndarray, masks: np.ndarray) -> float:
    """Share of maps ``(N, *S)`` whose argmax lies inside ``masks`` ``(N, *S)``."""
    return float(pointing_hits(maps, masks).mean())

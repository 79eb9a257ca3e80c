"""Relevance rank accuracy (Arras, Osman and Samek, *CLEVR-XAI*, Information Fusion 81,
2022): of the ``K`` most relevant positions, ``K`` the size of the ground
truth, the share inside it.

    rank accuracy = |P_top-K ∩ GT| / |GT|,     K = |GT|

The ranking is on the map's values as they are (the paper's ``R_1 > R_2 > ... > R_K``);
ties go to the first position in C order.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .masks import flat_maps_and_masks


def relevance_rank_accuracy(maps: Any, masks: Any) -> np.ndarray:
    """Share of the ``|GT|`` top-ranked positions inside the mask, in [0, 1]:
    ``(N, *S), (N, *S) -> (N,)``; ``(N, T, *S), (N, *S) -> (N, T)``. Arguments and
    errors as :func:`~eli5_keras.metrics.energy_pointing_game`."""
    flat_maps, flat_masks, shape = flat_maps_and_masks(maps, masks)
    size = flat_masks.sum(axis=2)  # K per map
    order = np.argsort(-flat_maps, axis=2, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(order.shape[2])[None, None], axis=2)
    top = rank < size[..., None]
    return ((top & flat_masks).sum(axis=2) / size).reshape(shape)

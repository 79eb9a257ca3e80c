"""Relevance mass accuracy (Arras, Osman and Samek, *CLEVR-XAI: A benchmark dataset for
the ground truth evaluation of neural network explanations*, Information Fusion 81, 2022):
the share of the positive relevance that lies inside the ground truth.

    mass accuracy = R_within / R_total,   R_within = sum_{p in GT} R_p,  R_total = sum_p R_p

with ``R = max(map, 0)``, the positive relevance the paper considers (``absolute=True``:
``|map|``, for methods whose sign is not evidence). On non-negative maps it is the same
number as the energy-based pointing game; the two papers differ in the ground truth
(masks here, boxes for Score-CAM). A map without positive relevance scores NaN.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import validation as check
from .masks import positive_share_inside


def relevance_mass_accuracy(maps: Any, masks: Any, *, absolute: bool = False) -> np.ndarray:
    """``R_within / R_total`` of each map, in [0, 1]: ``(N, *S), (N, *S) -> (N,)``;
    ``(N, T, *S), (N, *S) -> (N, T)``. Arguments and errors as
    :func:`~eli5_keras.metrics.energy_pointing_game`; ``absolute`` takes ``|map|`` as the
    relevance instead of its positive part."""
    return positive_share_inside(maps, masks, absolute=check.boolean("absolute", absolute))

"""Energy-based pointing game (Wang et al., *Score-CAM: Score-Weighted Visual
Explanations for Convolutional Neural Networks*, CVPR Workshops 2020): the
share of the map's energy that falls inside the object's box or mask.

    proportion = sum_{p in mask} L_p / sum_p L_p,     L = max(map, 0)

Where the plain pointing game (:mod:`.pointing`) only checks the maximum, this counts
every pixel. Score-CAM's maps are non-negative; a signed map's negative part is dropped
(it is evidence against the class, not energy). A map with no positive value scores
NaN. A box is a mask that is 1 inside it.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .masks import positive_share_inside


def energy_pointing_game(maps: Any, masks: Any) -> np.ndarray:
    """Share of each map's positive energy inside its mask, in [0, 1]:
    ``(N, *S), (N, *S) -> (N,)``; ``(N, T, *S), (N, *S) -> (N, T)``.

    Parameters
    ----------
    maps : array-like, shape (N, *S) or (N, T, *S)
        Heat maps at the masks' resolution, any number of spatial axes.
    masks : array-like, shape (N, *S)
        Ground truth (boxes or segmentations), nonzero on the object.

    Raises
    ------
    ValueError
        Shapes that do not fit, NaN or infinite maps, or an empty mask.
    """
    return positive_share_inside(maps, masks)

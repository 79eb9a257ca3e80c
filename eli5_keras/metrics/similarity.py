"""How alike two maps are, for the randomisation checks (Adebayo et al., 2018): Spearman
rank correlation of the maps and of their absolute values, and SSIM.

All take pairs of maps ``a, b (M, *S)`` (any number of spatial axes) and return ``(M,)``.

* ``spearman``: Pearson correlation of the maps' ranks over all positions (ties get their
  average rank, SciPy's ``rankdata``); NaN when a map is constant.
* ``spearman_abs``: the same on ``|a|`` and ``|b|`` (Adebayo et al.'s "with absolute value").
* ``ssim``: the structural similarity of Wang, Bovik, Sheikh and Simoncelli (*Image Quality
  Assessment: From Error Visibility to Structural Similarity*, IEEE TIP 2004): a Gaussian
  window of 11 taps per axis, sigma 1.5 (normalised to sum 1), ``K1 = 0.01``, ``K2 = 0.03``,

      SSIM(a, b) = mean over window positions of
                   (2 mu_a mu_b + C1)(2 s_ab + C2) / ((mu_a^2 + mu_b^2 + C1)(s_a^2 + s_b^2 + C2))

  with ``mu``, ``s^2``, ``s_ab`` the window-weighted means, variances and covariance (no
  sample correction), ``C1 = (K1 L)^2``, ``C2 = (K2 L)^2``, only where the window fits
  inside the map ("valid", as the authors' ``ssim_index.m`` and ``tf.image.ssim``). ``L``,
  the data range, is ``max - min`` of both maps together (1 when both are one constant),
  as Xplique and Quantus take it for maps; the window shrinks to the map's smallest side
  (made odd) when that is under 11, as Xplique does.
"""
from __future__ import annotations

from typing import Any, Callable, Dict

import numpy as np

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks along the last axis, ties given their average rank."""
    order = np.argsort(values, axis=-1, kind="stable")
    ordered = np.take_along_axis(values, order, axis=-1)
    n = values.shape[-1]
    # a tie group spans [first, last] in sorted order: average rank (first + last) / 2 + 1
    starts = np.concatenate([np.ones(ordered.shape[:-1] + (1,), bool), ordered[..., 1:] != ordered[..., :-1]], -1)
    ends = np.concatenate([ordered[..., 1:] != ordered[..., :-1], np.ones(ordered.shape[:-1] + (1,), bool)], -1)
    index = np.broadcast_to(np.arange(n), ordered.shape)
    first = np.maximum.accumulate(np.where(starts, index, 0), axis=-1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, index, n - 1), -1), axis=-1), -1)
    ranks = np.empty(values.shape, np.float64)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=-1)
    return ranks


def pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of ``(M, P)`` rows: ``(M,)``; NaN when a row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=1) / np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))


def spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of each pair of maps ``(M, *S) -> (M,)``."""
    rows = len(a)
    return pearson(average_ranks(a.reshape(rows, -1)), average_ranks(b.reshape(rows, -1)))


def spearman_abs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation of the maps' absolute values ``(M, *S) -> (M,)``."""
    return spearman(np.abs(a), np.abs(b))


def gaussian_window(size: int, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """``size`` taps of a Gaussian of standard deviation ``sigma`` centred on the middle,
    summing to 1 (one axis of MATLAB's ``fspecial('gaussian', size, sigma)``)."""
    offsets = np.arange(size) - (size - 1) / 2.0
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum()


def ssim(a: np.ndarray, b: np.ndarray, window: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> np.ndarray:
    """Mean SSIM of each pair of maps ``(M, *S) -> (M,)`` (see the module's docstring)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    spatial = a.shape[1:]
    size = min(window, min(spatial))
    size -= 1 - size % 2
    weights = gaussian_window(size, sigma)

    def local_mean(x: np.ndarray) -> np.ndarray:
        for axis in range(1, x.ndim):
            x = np.lib.stride_tricks.sliding_window_view(x, size, axis=axis) @ weights
        return x

    axes = tuple(range(1, a.ndim))
    span = np.maximum(a.max(axis=axes), b.max(axis=axes)) - np.minimum(a.min(axis=axes), b.min(axis=axes))
    span = np.where(span > 0, span, 1.0).reshape((-1,) + (1,) * len(spatial))
    c1, c2 = (SSIM_K1 * span) ** 2, (SSIM_K2 * span) ** 2
    mu_a, mu_b = local_mean(a), local_mean(b)
    var_a = local_mean(a * a) - mu_a**2
    var_b = local_mean(b * b) - mu_b**2
    cov = local_mean(a * b) - mu_a * mu_b
    index = (2 * mu_a * mu_b + c1) * (2 * cov + c2) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return index.mean(axis=axes)


SIMILARITIES: Dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "spearman_abs": spearman_abs,
    "spearman": spearman,
    "ssim": ssim,
}


def similarity(name: str, a: Any, b: Any) -> np.ndarray:
    """The similarity ``name`` (a key of :data:`SIMILARITIES`) of maps ``(M, *S)``: ``(M,)``."""
    return SIMILARITIES[name](np.asarray(a, np.float64), np.asarray(b, np.float64))

"""Resize a 1-D map (a text layer's Grad-CAM) to a number of tokens, in numpy.

eli5's text Grad-CAM draft resized with ``scipy.interpolate.interp1d`` over the unit
interval: the map's ``n`` values sit at ``linspace(0, 1, n)`` and are read back at
``linspace(0, 1, width)`` (first and last samples aligned with the first and last
token, *not* the half-pixel convention of :mod:`eli5_keras.utils.resize`). The same
kinds are computed here without scipy:

``'linear'`` / ``'slinear'``
    Piecewise linear.
``'nearest'``
    The nearest sample; halfway between two samples, the lower one (scipy's rule).
``'previous'`` / ``'next'``
    The sample at or before / at or after the position.
``'quadratic'`` / ``'cubic'``
    Interpolating B-spline of degree 2 / 3 with scipy's not-a-knot knots (de Boor):
    ``t = [x0]*(k+1) + interior + [x_end]*(k+1)``, interior the data sites
    ``x[2:-2]`` (cubic) or the midpoints ``(x[i] + x[i+1]) / 2`` without the first and
    last (quadratic). The spline through the ``n`` samples solves an ``n x n``
    collocation system of the basis functions (Cox-de Boor recursion).

Deviation from interp1d, on by default (``clip=True``): splines overshoot, so the
result is clipped to ``[min(values), max(values)]`` (a no-op for the other kinds),
keeping a normalised heatmap inside its range.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import validation as check

INTERPOLATION_KINDS = ("linear", "slinear", "nearest", "previous", "next", "quadratic", "cubic")
"""The ``interpolation_kind`` values :func:`resize_1d` accepts."""

_SPLINE_DEGREE = {"slinear": 1, "quadratic": 2, "cubic": 3}


def validate_interpolation_kind(kind: Any, name: str = "interpolation_kind") -> str:
    """``kind`` if it is one of :data:`INTERPOLATION_KINDS`.

    Raises
    ------
    TypeError
        Not a string.
    ValueError
        An unknown kind.
    """
    if not isinstance(kind, str):
        raise TypeError(f"{name} must be a str, one of {INTERPOLATION_KINDS}; got {type(kind).__name__} {kind!r}.")
    if kind not in INTERPOLATION_KINDS:
        raise ValueError(f"{name} must be one of {INTERPOLATION_KINDS}; got {kind!r}.")
    return kind


def resize_1d(values: Any, width: int, interpolation_kind: str = "linear", clip: bool = True) -> np.ndarray:
    """Resample a 1-D map of ``n`` values to ``width`` values.

    Parameters
    ----------
    values : array-like, shape (n,)
        The map (e.g. a text layer's Grad-CAM over its ``n`` steps).
    width : int
        The number of values wanted (e.g. the number of tokens).
    interpolation_kind : str, default 'linear'
        One of :data:`INTERPOLATION_KINDS` (see the module docstring).
    clip : bool, default True
        Clip the result to the range of ``values`` (only splines can leave it).

    Returns
    -------
    numpy.ndarray, float64, shape (width,)
        ``values`` itself (as float64) when ``n == width``, as eli5 did; ``width``
        copies of the value when ``n == 1``.

    Raises
    ------
    TypeError
        ``width`` not an int, or ``interpolation_kind`` not a str.
    ValueError
        ``values`` not 1-D, empty or not finite; ``width < 1``; an unknown kind; fewer
        than ``k + 1`` values for a spline of degree ``k``.
    """
    kind = validate_interpolation_kind(interpolation_kind)
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"values must be a non-empty 1-D array; got shape {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise ValueError("values must be finite (no NaN or infinity).")
    width = check.integer("width", width, 1)
    n = y.size
    if n == width:
        return y.copy()
    if n == 1:
        return np.full(width, y[0])
    x = np.linspace(0.0, 1.0, num=n)
    x_new = np.linspace(0.0, 1.0, num=width)
    if kind == "linear":
        out = np.interp(x_new, x, y)
    elif kind == "nearest":
        # Halfway between two samples goes to the lower one (searchsorted side='left').
        bounds = x[1:] / 2.0 + x[:-1] / 2.0
        out = y[np.searchsorted(bounds, x_new, side="left")]
    elif kind == "previous":
        index = np.searchsorted(np.nextafter(x, -np.inf), x_new, side="left")
        out = y[np.clip(index, 1, n) - 1]
    elif kind == "next":
        index = np.searchsorted(np.nextafter(x, np.inf), x_new, side="right")
        out = y[np.clip(index, 0, n - 1)]
    else:
        out = _spline(x, y, x_new, _SPLINE_DEGREE[kind], kind)
    if clip:
        out = np.clip(out, y.min(), y.max())
    return out


def _spline(x: np.ndarray, y: np.ndarray, x_new: np.ndarray, k: int, kind: str) -> np.ndarray:
    """The interpolating B-spline of degree ``k`` through ``(x, y)``, read at ``x_new``."""
    n = x.size
    if n < k + 1:
        raise ValueError(
            f"interpolation_kind={kind!r} (a spline of degree {k}) needs at least {k + 1} values; "
            f"the map has {n}. Use 'linear' or 'nearest'."
        )
    knots = not_a_knot_knots(x, k)
    coefficients = np.linalg.solve(bspline_basis(knots, k, x), y)
    return bspline_basis(knots, k, x_new) @ coefficients


def not_a_knot_knots(x: np.ndarray, k: int) -> np.ndarray:
    """Knots of the not-a-knot interpolating spline of degree ``k`` on sites ``x``
    (odd ``k``: interior sites; even ``k``: interior midpoints), ends repeated
    ``k + 1`` times."""
    if k % 2 == 1:
        half, interior = (k + 1) // 2, x
    else:
        half, interior = k // 2, (x[1:] + x[:-1]) / 2.0
    interior = interior[half:-half] if half else interior
    return np.concatenate([np.full(k + 1, x[0]), interior, np.full(k + 1, x[-1])])


def bspline_basis(knots: np.ndarray, k: int, points: np.ndarray) -> np.ndarray:
    """Values of the ``len(knots) - k - 1`` B-splines of degree ``k`` at ``points``:
    ``(len(points), len(knots) - k - 1)``.

    Cox-de Boor recursion on the knot interval ``t[l] <= p < t[l + 1]`` of each point,
    ``l`` clamped to ``[k, n - 1]`` so the last knot belongs to the last interval.
    """
    count = knots.size - k - 1
    points = np.asarray(points, dtype=np.float64)
    interval = np.clip(np.searchsorted(knots, points, side="right") - 1, k, count - 1)
    # basis[:, r] is B_{l-k+r}(p); built up degree by degree (The NURBS Book, A2.2).
    basis = np.ones((points.size, k + 1))
    left = np.zeros((points.size, k + 1))
    right = np.zeros((points.size, k + 1))
    for degree in range(1, k + 1):
        left[:, degree] = points - knots[interval + 1 - degree]
        right[:, degree] = knots[interval + degree] - points
        saved = np.zeros(points.size)
        for r in range(degree):
            scaled = basis[:, r] / (right[:, r + 1] + left[:, degree - r])
            basis[:, r] = saved + right[:, r + 1] * scaled
            saved = left[:, degree - r] * scaled
        basis[:, degree] = saved
    matrix = np.zeros((points.size, count))
    rows = np.arange(points.size)[:, None]
    matrix[rows, interval[:, None] - k + np.arange(k + 1)] = basis
    return matrix

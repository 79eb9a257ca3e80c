"""Noisy linear imputation (Rong, Leemann, Borisov, Kasneci and Kasneci, *A Consistent and
Efficient Evaluation Strategy for Attribution Methods*, ICML 2022, section 4): each removed
pixel becomes the weighted mean of its 8 neighbours (removed ones included, so the
removed pixels are solved for together), plus Gaussian noise.

For the removed set ``R`` of a 2-D image, per channel:

    s_i v_i - sum_{j in R, j ~ i} w_ij v_j = sum_{k not in R, k ~ i} w_ik x_k,    i in R
    w = 1/6 for the 4 edge neighbours, 1/12 for the 4 diagonal ones,
    s_i = sum of w_ij over the neighbours j of i inside the image
    imputed_i = v_i + noise * N(0, 1)

as the authors' ``NoisyLinearImputer`` (``tleemann/road_evaluation``, copied into
pytorch-grad-cam) sets it up. They solve the sparse system with SciPy's ``spsolve`` per
image; here conjugate gradients (the matrix is symmetric and, when some pixel is kept,
positive definite: diagonally dominant), matrix-free with the 3 x 3 neighbour sum,
vectorised over images and channels, to a relative residual of 1e-6 (or after as many
iterations as unknowns, where exact arithmetic would have converged).
The noise is ``numpy.random.default_rng(seed).standard_normal(x.shape)`` times ``noise``
at the removed positions.
"""
from __future__ import annotations

import numpy as np

EDGE_WEIGHT = 1.0 / 6.0
DIAGONAL_WEIGHT = 1.0 / 12.0
TOLERANCE = 1e-6


def neighbour_sum(v: np.ndarray) -> np.ndarray:
    """``sum_j w_ij v_j`` over the 8 neighbours inside the image: ``(n, H, W, C)``."""
    padded = np.pad(v, ((0, 0), (1, 1), (1, 1), (0, 0)))
    h, w = v.shape[1:3]
    total = np.zeros_like(v)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                weight = DIAGONAL_WEIGHT if dy and dx else EDGE_WEIGHT
                total += weight * padded[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
    return total


def noisy_linear_imputation(x: np.ndarray, removed: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``x (n, H, W, C)`` with the positions ``removed (n, H, W)`` imputed (see the
    module's docstring); float64. An image with every position removed has nothing to
    impute from: ValueError."""
    x = np.asarray(x, np.float64)
    inside = np.asarray(removed, bool)[..., None].astype(np.float64)
    full = inside.reshape(len(x), -1).all(axis=1)
    if full.any():
        raise ValueError(f"images {np.flatnonzero(full)[:10].tolist()} have every position removed: nothing to impute from.")
    weights_sum = neighbour_sum(np.ones((1,) + x.shape[1:3] + (1,)))

    def operator(v: np.ndarray) -> np.ndarray:
        return inside * (weights_sum * v - neighbour_sum(inside * v))

    b = inside * neighbour_sum((1.0 - inside) * x)
    v = np.zeros_like(x)
    residual = b.copy()
    direction = residual.copy()
    rr = (residual * residual).sum(axis=(1, 2), keepdims=True)
    goal = TOLERANCE**2 * np.maximum(rr, np.finfo(np.float64).tiny)
    for _ in range(int(inside.sum(axis=(1, 2, 3)).max()) + 1):
        if np.all(rr <= goal):
            break
        moved = operator(direction)
        curvature = (direction * moved).sum(axis=(1, 2), keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            alpha = np.where(rr > goal, rr / curvature, 0.0)
        v += alpha * direction
        residual -= alpha * moved
        new_rr = (residual * residual).sum(axis=(1, 2), keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            beta = np.where(rr > goal, new_rr / rr, 0.0)
        direction = residual + beta * direction
        rr = new_rr
    values = v + noise * rng.standard_normal(x.shape)
    return np.where(inside > 0, values, x)

"""Synthetic scenes with a known object location: the demo's task and its ground truth.

Each scene is a 64x64 RGB image holding exactly one *target* shape (circle, square,
triangle or cross) of random position, size, rotation and colour, drawn over a textured
background (a smooth random colour field plus pixel noise) and on top of distractors
(thin line segments and small dots) that never decide the class. The label is the
target's shape; the mask marks the target's pixels, so a heat map can be checked
against where the evidence really is (the pointing game).

Everything is drawn with numpy from one ``numpy.random.Generator``: the same seed
gives the same scenes.
"""
from __future__ import annotations

from typing import Callable, Dict, Tuple

import numpy as np

from .. import validation as check

SIZE = 64
"""Scenes are ``SIZE x SIZE`` RGB images."""

CLASS_NAMES: Tuple[str, ...] = ("circle", "square", "triangle", "cross")
"""Class ``k`` of a scene is the shape ``CLASS_NAMES[k]`` of its target."""

RADIUS_RANGE = (7.0, 12.0)
"""Target size: half its extent in pixels (circumradius for the polygons, arm length for
the cross)."""

CROSS_ARM_WIDTH = 0.4
"""Half-width of the cross's arms, relative to their length (at least 1.6 pixels)."""

DISTRACTOR_LINES = (2, 5)
DISTRACTOR_DOTS = (3, 8)
DOT_RADIUS = (1.0, 2.2)
"""Dots stay well under the smallest target, so they cannot pass for a circle."""

MIN_CONTRAST = 0.45
"""Least Euclidean RGB distance between the target's colour and the background under it."""

_SQRT3 = np.sqrt(3.0)


def _pixel_grid() -> Tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates ``(y, x)``, each ``(SIZE, SIZE)``."""
    centres = np.arange(SIZE, dtype=np.float32) + 0.5
    return np.meshgrid(centres, centres, indexing="ij")


_Y, _X = _pixel_grid()


def _local_coords(cy: float, cx: float, angle: float) -> Tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates relative to ``(cy, cx)``, rotated by ``-angle``: ``(SIZE, SIZE)`` each."""
    dy, dx = _Y - cy, _X - cx
    cos, sin = np.cos(angle), np.sin(angle)
    return cos * dy - sin * dx, sin * dy + cos * dx


def _circle(v: np.ndarray, u: np.ndarray, r: float) -> np.ndarray:
    return v * v + u * u <= r * r


def _square(v: np.ndarray, u: np.ndarray, r: float) -> np.ndarray:
    half = r / np.sqrt(2.0)
    return (np.abs(v) <= half) & (np.abs(u) <= half)


def _triangle(v: np.ndarray, u: np.ndarray, r: float) -> np.ndarray:
    # Equilateral, circumradius r, apex at v = -r: inside the three half-planes.
    return (v <= r / 2) & (_SQRT3 * u - v <= r) & (-_SQRT3 * u - v <= r)


def _cross(v: np.ndarray, u: np.ndarray, r: float) -> np.ndarray:
    arm = max(CROSS_ARM_WIDTH * r, 1.6)
    av, au = np.abs(v), np.abs(u)
    return ((av <= arm) & (au <= r)) | ((au <= arm) & (av <= r))


SHAPES: Dict[str, Callable[[np.ndarray, np.ndarray, float], np.ndarray]] = {
    "circle": _circle,
    "square": _square,
    "triangle": _triangle,
    "cross": _cross,
}
"""``name -> inside(v, u, r)``: a boolean mask from centred, rotated pixel coordinates."""


def shape_mask(name: str, cy: float, cx: float, radius: float, angle: float = 0.0) -> np.ndarray:
    """Boolean ``(SIZE, SIZE)`` mask of shape ``name`` centred at ``(cy, cx)``.

    Parameters
    ----------
    name : str
        One of :data:`CLASS_NAMES`.
    cy, cx : float
        Centre in pixels (pixel ``(i, j)`` has its centre at ``(i + 0.5, j + 0.5)``).
    radius : float
        Half the extent (circumradius for the polygons, arm length for the cross).
    angle : float
        Rotation in radians.
    """
    v, u = _local_coords(cy, cx, angle)
    return SHAPES[name](v, u, radius)


def _upsampling_matrix(cells: int) -> np.ndarray:
    """``(SIZE, cells)`` linear-interpolation weights (half-pixel centres, clamped edges)."""
    pos = np.clip((np.arange(SIZE) + 0.5) * cells / SIZE - 0.5, 0, cells - 1)
    low = np.minimum(np.floor(pos).astype(int), cells - 2)
    weights = np.zeros((SIZE, cells), np.float32)
    weights[np.arange(SIZE), low] = 1 - (pos - low)
    weights[np.arange(SIZE), low + 1] = pos - low
    return weights


BACKGROUND_CELLS = 4
BACKGROUND_TINT = 0.12
_UPSAMPLE = _upsampling_matrix(BACKGROUND_CELLS)


def _background(rng: np.random.Generator) -> np.ndarray:
    """A textured ``(SIZE, SIZE, 3)`` background around [0, 1]: a smooth random field of
    muted colours (a 4x4 grid of grey levels with a faint tint, linearly upsampled),
    stripes of random direction, period and strength, and pixel noise."""
    grey = rng.uniform(0.2, 0.8, (BACKGROUND_CELLS, BACKGROUND_CELLS, 1))
    tint = rng.uniform(-BACKGROUND_TINT, BACKGROUND_TINT, (BACKGROUND_CELLS, BACKGROUND_CELLS, 3))
    grid = (grey + tint).astype(np.float32)
    field = (_UPSAMPLE @ grid.transpose(2, 0, 1) @ _UPSAMPLE.T).transpose(1, 2, 0)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(4.0, 12.0)
    stripes = np.sin(2 * np.pi * (np.cos(angle) * _Y + np.sin(angle) * _X) / period)
    field += rng.uniform(0.0, 0.1) * stripes[:, :, None]
    field += rng.normal(0.0, 0.04, field.shape)
    return field


def _line(rng: np.random.Generator) -> np.ndarray:
    """A thin straight segment, 12 to 40 pixels long, anywhere in the scene."""
    cy, cx = rng.uniform(0, SIZE, 2)
    v, u = _local_coords(cy, cx, rng.uniform(0, np.pi))
    return (np.abs(v) <= rng.uniform(0.5, 1.1)) & (np.abs(u) <= rng.uniform(6, 20))


def _dot(rng: np.random.Generator) -> np.ndarray:
    cy, cx = rng.uniform(0, SIZE, 2)
    return _circle(_Y - cy, _X - cx, rng.uniform(*DOT_RADIUS))


def _contrasting_colour(rng: np.random.Generator, under: np.ndarray) -> np.ndarray:
    """A random RGB colour at least :data:`MIN_CONTRAST` away from the mean of ``under`` (k, 3)."""
    reference = under.mean(axis=0)
    while True:
        colour = rng.uniform(0.0, 1.0, 3)
        if np.linalg.norm(colour - reference) >= MIN_CONTRAST:
            return colour


def draw_scene(rng: np.random.Generator, label: int) -> Tuple[np.ndarray, np.ndarray]:
    """One scene whose target has shape ``CLASS_NAMES[label]``.

    Returns
    -------
    image : float32 (SIZE, SIZE, 3) in [0, 1]
    mask : bool (SIZE, SIZE), True on the target's pixels (drawn last, so all visible)
    """
    image = _background(rng)
    for _ in range(rng.integers(DISTRACTOR_LINES[0], DISTRACTOR_LINES[1] + 1)):
        image[_line(rng)] = rng.uniform(0.0, 1.0, 3)
    for _ in range(rng.integers(DISTRACTOR_DOTS[0], DISTRACTOR_DOTS[1] + 1)):
        image[_dot(rng)] = rng.uniform(0.0, 1.0, 3)
    radius = rng.uniform(*RADIUS_RANGE)
    margin = radius + 1.0
    cy, cx = rng.uniform(margin, SIZE - margin, 2)
    mask = shape_mask(CLASS_NAMES[label], cy, cx, radius, rng.uniform(0, 2 * np.pi))
    image[mask] = _contrasting_colour(rng, image[mask])
    return np.clip(image, 0.0, 1.0).astype(np.float32), mask


def to_bytes(images: np.ndarray) -> np.ndarray:
    """Scenes in [0, 1] as uint8 pixels, what a PNG file stores: ``(..., 3) -> (..., 3)``."""
    return np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)


def make_scenes(n: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` scenes, classes balanced in random order; the same ``seed`` gives the same scenes.

    Parameters
    ----------
    n : int
        Number of scenes.
    seed : int
        Seed of the ``numpy.random.Generator`` that draws everything.

    Returns
    -------
    images : float32 (n, 64, 64, 3), values in [0, 1]
    labels : int64 (n,), index into :data:`CLASS_NAMES`
    masks : bool (n, 64, 64), True on the target object's pixels
    """
    n = check.integer("n", n, 0)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype(np.int64)
    images = np.empty((n, SIZE, SIZE, 3), np.float32)
    masks = np.empty((n, SIZE, SIZE), bool)
    for i, label in enumerate(labels):
        images[i], masks[i] = draw_scene(rng, int(label))
    return images, labels, masks

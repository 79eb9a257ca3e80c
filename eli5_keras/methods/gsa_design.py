"""Designs of the global-sensitivity methods (Sobol, HSIC): points in ``[0, 1)^d``, one
coordinate per feature (grid cell), drawn once per call from the options alone.

Samplers (``sample(sampler, dimension, count, seed)`` -> ``(count, dimension)``):

``"sobol"``
    The Sobol LP-tau sequence of ``tf.math.sobol_sample`` (unscrambled, deterministic:
    Xplique's default ``TFSobolSequenceRS`` / ``TFSobolSequence``; ``seed`` is unused).
``"scrambled_sobol"``
    The same points with a random digital shift: every coordinate's first 24 binary
    digits XOR-ed with one random 24-bit word per dimension drawn from ``seed``
    (a randomised QMC design that keeps the sequence's stratification; scipy's
    ``qmc.Sobol(scramble=True)`` uses Owen's nested scrambling instead, which needs
    scipy, not a dependency here).
``"lhs"``
    Latin hypercube: ``(perm_j(i) + u_ij) / count`` with one random permutation per
    dimension and ``u ~ U[0, 1)`` (McKay et al. 1979; the HSIC paper's sampler),
    from ``seed``.

Same options, same seed: same design, whatever the batch size or chunking (the design
is a constant of the compiled graph).

The Sobol replicated design (Saltelli 2002; Xplique's ``ReplicatedSampler``): ``A`` and
``B`` are the first and last ``d`` coordinates of a ``2d``-dimensional design of
``N`` points, and ``C_i`` is ``A`` with column ``i`` taken from ``B``:

    design = [A; C_0; ...; C_{d-1}]           shape (N (d + 1), d)

Xplique also evaluates the ``N`` rows of ``B``; no total-index estimator reads
``f(B)``, so they are left out here (``N`` forward passes fewer).
"""
from __future__ import annotations

import functools
from typing import Tuple

import numpy as np
import tensorflow as tf

SAMPLERS: Tuple[str, ...] = ("sobol", "scrambled_sobol", "lhs")
SOBOL_MAX_DIMENSION = 21200
"""Most dimensions ``tf.math.sobol_sample`` supports."""
BITS = 24
"""Binary digits of the digitally shifted coordinates (float32's precision, so exact)."""


def sample(sampler: str, dimension: int, count: int, seed: int) -> np.ndarray:
    """``count`` points of ``[0, 1)^dimension`` from ``sampler``: ``(count, dimension)`` float32."""
    return _sample(sampler, int(dimension), int(count), int(seed)).copy()


@functools.lru_cache(maxsize=16)
def _sample(sampler: str, dimension: int, count: int, seed: int) -> np.ndarray:
    if sampler == "lhs":
        rng = np.random.default_rng(seed)
        strata = np.stack([rng.permutation(count) for _ in range(dimension)], axis=1)
        return ((strata + rng.uniform(size=(count, dimension))) / count).astype(np.float32)
    if dimension > SOBOL_MAX_DIMENSION:
        raise ValueError(
            f"sampler={sampler!r} draws at most {SOBOL_MAX_DIMENSION} coordinates per point "
            f"(tf.math.sobol_sample); this design needs {dimension}: use fewer cells or features, or sampler='lhs'."
        )
    with tf.init_scope():  # a constant of the graph, computed eagerly even while tracing
        points = tf.math.sobol_sample(dimension, count, dtype=tf.float64).numpy()
    if sampler == "scrambled_sobol":
        words = np.floor(points * 2.0**BITS).astype(np.uint64)
        shift = np.random.default_rng(seed).integers(0, 2**BITS, size=dimension, dtype=np.uint64)
        points = (words ^ shift[None, :]).astype(np.float64) / 2.0**BITS
    elif sampler != "sobol":
        raise ValueError(f"sampler must be one of {', '.join(map(repr, SAMPLERS))}; got {sampler!r}.")
    return points.astype(np.float32)


def replicated_design(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``[A; C_0; ...; C_{d-1}]`` with ``C_i = A`` whose column ``i`` is ``B``'s:
    ``(N, d), (N, d) -> (N (d + 1), d)``, row ``N + i N + j`` is ``C_i[j]``."""
    n, d = a.shape
    c = np.repeat(a[None], d, axis=0)  # (d, N, d)
    c[np.arange(d), :, np.arange(d)] = b.T
    return np.concatenate([a, c.reshape(d * n, d)], axis=0)


def replicated_rows(points: tf.Tensor, start: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """Rows ``start .. start + size`` of :func:`replicated_design` built in the graph from
    ``points = [A | B]`` ``(N, 2d)``: row ``r < N`` is ``A_r``; row ``N + i N + j`` is
    ``A_j`` with coordinate ``i`` from ``B_j``. -> ``(size, d)``."""
    n = tf.shape(points)[0]
    d = tf.shape(points)[1] // 2
    r = start + tf.range(size)
    j = tf.math.floormod(r, n)
    column = tf.where(r < n, -1, r // n - 1)  # -1: a row of A
    a, b = tf.gather(points[:, :d], j), tf.gather(points[:, d:], j)
    return tf.where(tf.one_hot(column, d, on_value=True, off_value=False), b, a)


def sobol_design(sampler: str, dimension: int, designs: int, seed: int) -> np.ndarray:
    """The replicated design ``(designs (dimension + 1), dimension)`` of the Sobol method."""
    ab = sample(sampler, 2 * dimension, designs, seed)
    return replicated_design(ab[:, :dimension], ab[:, dimension:])


def binary_design(sampler: str, dimension: int, designs: int, seed: int) -> np.ndarray:
    """The HSIC design: ``designs`` points rounded to ``{0, 1}^dimension`` (Xplique's
    ``make_binary``: ``round``, so a coordinate is 1 with probability 1/2)."""
    return np.round(sample(sampler, dimension, designs, seed)).astype(np.float32)

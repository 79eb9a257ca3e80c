"""What a removed feature is replaced with: a value, the input's mean, a blurred copy of
the input (the RISE authors' insertion substrate) or an array.

    baseline = 0.0        every removed value set to 0 (RISE's deletion substrate)
    baseline = "mean"     each input's mean over its positions, per channel
    baseline = "blur"     the input convolved per channel with the RISE authors' kernel
    baseline = array      broadcast to the inputs ``(N, *S, C)``

The blur is ``eclique/RISE``'s ``gkern(klen=11, nsig=5)`` applied as its
``conv2d(x, kern, padding=klen // 2)``: the kernel is SciPy's ``gaussian_filter`` of a
centred unit impulse on an 11 x 11 grid (sigma 5, truncated at 4 sigma, reflected at the
grid's border), which is the outer product of one 1-D kernel per axis, and the
convolution pads with zeros. Here it is applied axis by axis (exactly the same numbers)
on any number of spatial axes.
"""
from __future__ import annotations

import numbers
from typing import Any, Hashable

import numpy as np

BLUR_SIZE = 11
"""``klen`` of the RISE authors' blur kernel."""
BLUR_SIGMA = 5.0
"""``nsig`` of the RISE authors' blur kernel."""
GAUSSIAN_TRUNCATE = 4.0
"""SciPy's ``gaussian_filter`` default: the Gaussian is cut at 4 sigma."""

KINDS = ("mean", "blur")


def baseline_kind(value: Any) -> Hashable:
    """``baseline`` checked: a float, ``"mean"``, ``"blur"`` or a float array; TypeError
    or ValueError naming ``baseline`` otherwise. Arrays are returned as they are (their
    shape is checked against the inputs by :func:`baseline_values`)."""
    if isinstance(value, str):
        if value not in KINDS:
            raise ValueError(f"baseline must be a number, an array, 'mean' or 'blur'; got {value!r}.")
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if not np.isfinite(float(value)):
            raise ValueError(f"baseline must be finite; got {value!r}.")
        return float(value)
    array = np.asarray(value) if not hasattr(value, "numpy") else np.asarray(value.numpy())
    if array.dtype.kind not in "biuf":
        raise TypeError(f"baseline must be a number, an array, 'mean' or 'blur'; got {type(value).__name__}.")
    if not np.all(np.isfinite(array)):
        raise ValueError("baseline holds NaN or infinite values.")
    return array


def baseline_values(kind: Any, x: np.ndarray, rank: int) -> np.ndarray:
    """The baseline of a batch ``x (n, *S, C)`` with ``rank`` spatial axes, same shape and
    dtype as ``x``. An array ``kind`` must broadcast to the whole batch and is sliced by
    the caller (see :func:`full_baseline`)."""
    if isinstance(kind, float):
        return np.full_like(x, kind)
    if isinstance(kind, np.ndarray):
        return np.broadcast_to(kind, x.shape).astype(x.dtype)
    if kind == "mean":
        axes = tuple(range(1, 1 + rank))
        return np.broadcast_to(x.mean(axis=axes, keepdims=True, dtype=np.float64), x.shape).astype(x.dtype)
    return blur(x, rank)


def full_baseline(kind: Any, x: np.ndarray) -> Any:
    """An array baseline broadcast to all the inputs ``x (N, *S, C)`` (ValueError naming
    ``baseline`` when it does not fit); any other kind unchanged."""
    if not isinstance(kind, np.ndarray):
        return kind
    try:
        return np.broadcast_to(kind, x.shape)
    except ValueError:
        raise ValueError(
            f"baseline has shape {kind.shape}, which does not broadcast to the inputs' shape {x.shape}."
        ) from None


def gaussian_kernel_1d(size: int = BLUR_SIZE, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """SciPy's ``gaussian_filter1d`` (``mode="reflect"``, ``truncate=4``) of a unit impulse
    at the centre of ``size`` samples: one axis of the RISE authors' ``gkern``."""
    radius = int(GAUSSIAN_TRUNCATE * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights /= weights.sum()
    impulse = np.zeros(size)
    impulse[size // 2] = 1.0
    # numpy's "symmetric" padding is SciPy's "reflect" (d c b a | a b c d | d c b a)
    padded = np.pad(impulse, radius, mode="symmetric")
    return np.array([weights @ padded[j : j + 2 * radius + 1] for j in range(size)])


def blur(x: np.ndarray, rank: int, size: int = BLUR_SIZE, sigma: float = BLUR_SIGMA) -> np.ndarray:
    """``x (n, *S, C)`` convolved per channel with the separable kernel of
    :func:`gaussian_kernel_1d` on each spatial axis, zeros outside the input:
    ``out[i] = sum_j kernel[j] x[i + j - size // 2]`` along each axis in turn.

    Written as ``size`` shifted, weighted sums per axis (elementwise numpy, no BLAS call:
    a matrix product here was slow when BLAS threads competed with TensorFlow's).
    """
    kernel = gaussian_kernel_1d(size, sigma)
    half = size // 2
    out = x.astype(np.float64)
    for axis in range(1, 1 + rank):
        length = out.shape[axis]
        widths = [(0, 0)] * out.ndim
        widths[axis] = (half, half)
        padded = np.pad(out, widths)
        window = [slice(None)] * out.ndim
        out = np.zeros_like(out)
        for j, weight in enumerate(kernel):
            window[axis] = slice(j, j + length)
            out += weight * padded[tuple(window)]
    return out.astype(x.dtype)

"""What LIME and KernelSHAP share: binary feature vectors ``z`` drawn statelessly, the
input they hide features of, the masked forward passes in blocks, and the weighted
moments of ``(z, y)`` their regressions are solved from.

Shapes: a chunk of ``n`` inputs, ``K`` features (padded to the chunk's largest ``K_i``,
:mod:`.segments`), ``B`` samples (feature vectors) per input, ``T`` targets.

Randomness is a counter-based hash (murmur3's 32-bit finaliser) of ``(seed, sample
row, feature)``, so ``z[j, k]`` is the same whatever the block, chunk, batch size or
the other inputs' feature counts: same seed, same maps (RISE's rule).

Memory: the regressions need only the weighted moments

    Sw = sum_j w_j,  Sz = sum_j w_j z_j (K),  Szz = sum_j w_j z_j z_j^T (K x K),
    Sy = sum_j w_j y_j (T),  Szy = sum_j w_j y_j z_j (T x K),  Syy = sum_j w_j y_j^2 (T)

accumulated block by block in float64 (:func:`moments`), never the ``B x K`` design,
so at most one block of ``batch_size`` masked copies is in flight whatever ``samples``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from .. import validation as check
from .base import Context, concat_over_blocks, explained_input_spec, is_float_dtype, sum_over_blocks
from .perturbed import forward_copies, pin_targets
from .segments import SegmentedMethod, Segments, feature_masks, feature_means, present, resolve

DEFAULT_GRID = 8
"""Grid cells per spatial axis of float inputs when neither ``segments`` nor ``grid`` is given."""

_MASK32 = 0xFFFFFFFF


def hash_uniform(seed: int, rows: tf.Tensor, cols: tf.Tensor) -> tf.Tensor:
    """Uniform numbers in ``[0, 1)``, ``(B, K)`` float64, a function of ``(seed,
    rows[j], cols[k])`` only (murmur3 ``fmix32`` of a linear mix of the three)."""
    r = tf.cast(rows, tf.int64)[:, None]
    c = tf.cast(cols, tf.int64)[None, :]
    h = (r * 0x9E3779B1 + c * 0x85EBCA77 + (seed * 0xC2B2AE3D + 0x27D4EB2F)) & _MASK32
    h = h ^ tf.bitwise.right_shift(h, 16)
    h = (h * 0x85EBCA6B) & _MASK32
    h = h ^ tf.bitwise.right_shift(h, 13)
    h = (h * 0xC2B2AE35) & _MASK32
    h = h ^ tf.bitwise.right_shift(h, 16)
    return tf.cast(h, tf.float64) / 2.0**32


class Chunk(NamedTuple):
    """What a surrogate fit of a chunk starts from: the features ``labels (n, *S)`` and
    ``counts (n,)``, the clean pass ``fwd`` and its pinned target data, ``T`` targets,
    ``K = max counts`` and the fully hidden input ``hidden`` like ``x``."""

    labels: tf.Tensor
    counts: tf.Tensor
    fwd: Any
    pinned: tf.Tensor
    t: tf.Tensor
    k: tf.Tensor
    hidden: tf.Tensor


class SurrogateMethod(SegmentedMethod):
    """LIME and KernelSHAP: features (``grid`` default: 8 cells per axis, one feature per
    token on token ids) and the value hidden features show (the option named by
    ``hide_name``; default ``hide_default`` on float inputs, token id 0 on token ids).
    ``array_options``: the array options (given designs) keyed by their bytes."""

    hide_name = "hide_value"
    hide_default: Any = "mean"
    grid: Any = None
    array_options: Tuple[str, ...] = ("design",)

    def options(self):
        options = super().options()
        for name in self.array_options:
            value = getattr(self, name, None)
            if value is not None:  # hashable: the bytes
                options[name] = (value.shape, hash(value.tobytes()))
        return options

    def chunk(self, context: Context, inputs: Sequence[tf.Tensor], data: tf.Tensor, side: Tuple) -> Chunk:
        """The clean pass pinned, and the fully hidden input, of a chunk (traceable)."""
        labels, counts = side
        fwd, pinned = pin_targets(context, inputs, data)
        k = tf.reduce_max(counts)
        x = inputs[context.input_index]
        hidden = hidden_input(x, labels, k, self.hide(context), context.channels_last)
        return Chunk(labels, counts, fwd, pinned, tf.shape(fwd.scores)[1], k, hidden)

    def features(self, context: Context) -> Segments:
        if self.segments.kind == "grid" and self.grid is None:
            return resolve(None, None if not context.channels_last else DEFAULT_GRID, clamp=True)
        return self.segments

    def hide(self, context: Context) -> Any:
        """The hidden value for this model's input."""
        value = getattr(self, self.hide_name)
        _, dtype = explained_input_spec(context)
        if value is None:
            return self.hide_default if is_float_dtype(dtype) else 0
        if isinstance(value, tuple):
            spec, _ = explained_input_spec(context)
            channels = spec.shape[-1] if context.channels_last and is_float_dtype(dtype) else None
            if channels is not None and len(value) != channels:
                raise ValueError(
                    f"{self.hide_name} has {len(value)} values (one per channel) but input {context.input_index} "
                    f"has {channels} channels; got {value!r}."
                )
            if channels is None:
                raise ValueError(
                    f"{self.hide_name} per channel needs a float input with channels; input {context.input_index} "
                    f"has dtype {dtype}; got {value!r}."
                )
            return value
        if not is_float_dtype(dtype) and (value == "mean" or value != int(value)):
            raise ValueError(
                f"{self.hide_name} must be a token id (a whole number) for input {context.input_index} of "
                f"dtype {dtype}; got {value!r}."
            )
        return value

    def setup(self, context: Context) -> None:
        super().setup(context)
        self.hide(context)

    def side_data(self, context: Context, arrays, start: int, total: int):
        labels, counts = super().side_data(context, arrays, start, total)
        design = getattr(self, "design", None)
        if design is not None and np.any(counts != design.shape[1]):
            i = int(np.flatnonzero(counts != design.shape[1])[0])
            raise ValueError(
                f"design has {design.shape[1]} columns (features) but input {start + i} has "
                f"{counts[i]} features; pass segments that give every input {design.shape[1]}."
            )
        return labels, counts


def hide_option(name: str, value: Any, allow_mean: bool = True) -> Any:
    """``"mean"`` (each hidden feature shows its mean value per channel: the ``lime``
    package's ``hide_color=None``), a number written into hidden positions, or one
    number per channel ``(C,)`` (a tuple; Xplique's ``ref_value``)."""
    if allow_mean and isinstance(value, str):
        return check.choice(name, value, ("mean",))
    if hasattr(value, "numpy"):
        value = value.numpy()
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        if array.ndim == 0:
            return check.real(name, array.item())
        if array.ndim != 1 or array.size == 0:
            raise ValueError(f"{name} must be a number or one number per channel (C,); got shape {array.shape}.")
        return tuple(check.real(f"{name}[{i}]", v.item() if hasattr(v, "item") else v) for i, v in enumerate(array))
    return check.real(name, value)


def hidden_input(x: tf.Tensor, labels: tf.Tensor, k: tf.Tensor, hide: Any, channels_last: bool) -> tf.Tensor:
    """The input every feature hidden: ``x`` with each feature's positions set to its
    mean (``hide="mean"``), to ``hide`` (a value; a token id for token inputs) or to
    ``hide[c]`` on channel ``c`` (a tuple of ``C`` values)."""
    if isinstance(hide, str) and hide == "mean":
        if not channels_last:
            raise ValueError("hide_value='mean' needs a float input with channels; token ids take a token id.")
        return feature_means(x, labels, k)
    return tf.broadcast_to(tf.constant(hide, x.dtype), tf.shape(x))


def masked_inputs(x: tf.Tensor, hidden: tf.Tensor, masks: tf.Tensor, channels_last: bool) -> tf.Tensor:
    """``(n * B, ...)`` copies: ``x`` where ``masks (n, B, *S)`` is 1, ``hidden`` elsewhere."""
    keep = masks[..., None] if channels_last else masks
    out = tf.where(keep > 0, x[:, None], hidden[:, None])
    return tf.reshape(out, tf.concat([[-1], tf.shape(x)[1:]], axis=0))


@dataclass
class Moments:
    """Weighted moments of a chunk's samples (float64): ``sw (n,)``, ``sz (n, K)``,
    ``szz (n, K, K)``, ``sy (n, T)``, ``szy (n, T, K)``, ``syy (n, T)``."""

    sw: tf.Tensor
    sz: tf.Tensor
    szz: tf.Tensor
    sy: tf.Tensor
    szy: tf.Tensor
    syy: tf.Tensor

    def centred(self) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """Weighted means ``z̄ (n, K)``, ``ȳ (n, T)`` and the centred normal equations
        ``A = Szz - Sw z̄ z̄^T`` ``(n, K, K)``, ``c = Szy - Sw ȳ z̄`` ``(n, T, K)``
        (least squares with an intercept, as scikit-learn centres for ``sample_weight``)."""
        sw = tf.maximum(self.sw, 1e-300)
        zbar = self.sz / sw[:, None]
        ybar = self.sy / sw[:, None]
        a = self.szz - sw[:, None, None] * zbar[:, :, None] * zbar[:, None, :]
        c = self.szy - sw[:, None, None] * ybar[:, :, None] * zbar[:, None, :]
        return zbar, ybar, a, c


DesignFn = Callable[[tf.Tensor, tf.Tensor], Tuple[tf.Tensor, tf.Tensor]]
"""``design(start, size) -> (z (n, size, K) float, w (n, size) float64)``."""

WeighFn = Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]
"""``weigh(x (n, ...), z (n, b, K), copies (n, b, ...)) -> (n, b) float64``: weights read
from the masked copies (input-space kernels, :mod:`.lime_kernels`), multiplied into the
design's."""


def scored_blocks(
    context: Context,
    inputs: Sequence[tf.Tensor],
    pinned: tf.Tensor,
    labels: tf.Tensor,
    hidden: tf.Tensor,
    design: DesignFn,
    t: tf.Tensor,
    weigh: Optional[WeighFn] = None,
) -> Callable[[tf.Tensor, tf.Tensor], Tuple[tf.Tensor, tf.Tensor, tf.Tensor]]:
    """``block(start, size) -> (z (n, b, K), w (n, b), y (n, b, T))``, float64: rows
    ``design(start, size)``, their masked copies scored, ``y[i, j, t]`` = the reported
    score of target ``t`` (and ``w`` times ``weigh`` of the copies when given)."""
    x = inputs[context.input_index]
    n = tf.shape(x)[0]

    def block(start, size):
        z, w = design(start, size)
        masks = feature_masks(tf.cast(z, tf.float32), labels)
        copies = masked_inputs(x, hidden, masks, context.channels_last)
        if weigh is not None:
            w = w * weigh(x, z, tf.reshape(copies, tf.concat([[n, size], tf.shape(x)[1:]], axis=0)))
        out = forward_copies(context.probe, inputs, pinned, size, replaced={context.input_index: copies})
        y = tf.cast(tf.reshape(out.reported, tf.stack([n, size, t])), tf.float64)  # (n, b, T)
        return tf.cast(z, tf.float64), w, y

    return block


def moments(
    context: Context,
    inputs: Sequence[tf.Tensor],
    pinned: tf.Tensor,
    labels: tf.Tensor,
    hidden: tf.Tensor,
    design: DesignFn,
    count: tf.Tensor,
    block: tf.Tensor,
    k: tf.Tensor,
    t: tf.Tensor,
    weigh: Optional[WeighFn] = None,
    uniform_fallback: bool = False,
) -> Moments:
    """Score ``count`` feature vectors per input (rows ``design(start, size)``) on the
    masked copies (:func:`scored_blocks`), in blocks of at most ``block`` copies per
    input, and return their weighted :class:`Moments`. ``uniform_fallback``: an input
    whose weights are all 0 (``Sw = 0``: every weight underflowed) gets the moments of
    weights 1 instead (Xplique's ``Lime``; both sets are accumulated)."""
    n = tf.shape(inputs[context.input_index])[0]
    scored = scored_blocks(context, inputs, pinned, labels, hidden, design, t, weigh)
    zeros = lambda *shape: tf.zeros(tf.stack(shape), tf.float64)  # noqa: E731
    initial = _fields(Moments(zeros(n), zeros(n, k), zeros(n, k, k), zeros(n, t), zeros(n, t, k), zeros(n, t)))
    sets = 2 if uniform_fallback else 1

    def summed(start, size):
        z, w, y = scored(start, size)
        out = _fields(weighted_moments(z, w, y))
        if uniform_fallback:
            out += _fields(weighted_moments(z, tf.ones_like(w), y))
        return tuple(tf.ensure_shape(a, b.shape) for a, b in zip(out, initial * sets))

    total = sum_over_blocks(summed, count, block, initial * sets)
    m = Moments(*total[:6])
    if not uniform_fallback:
        return m
    zero = m.sw <= 0.0  # (n,)
    return Moments(*(tf.where(tf.reshape(zero, tf.concat([[-1], tf.ones([tf.rank(a) - 1], tf.int32)], 0)), b, a)
                     for a, b in zip(total[:6], total[6:])))


def weighted_moments(z: tf.Tensor, w: tf.Tensor, y: tf.Tensor) -> Moments:
    """The :class:`Moments` of one block: ``z (n, b, K)``, ``w (n, b)``, ``y (n, b, T)``."""
    wz = w[:, :, None] * z
    wy = w[:, :, None] * y
    return Moments(
        sw=tf.reduce_sum(w, axis=1),
        sz=tf.reduce_sum(wz, axis=1),
        szz=tf.einsum("nbk,nbl->nkl", wz, z),
        sy=tf.reduce_sum(wy, axis=1),
        szy=tf.einsum("nbt,nbk->ntk", wy, z),
        syy=tf.reduce_sum(wy * y, axis=1),
    )


def all_samples(
    context: Context,
    inputs: Sequence[tf.Tensor],
    pinned: tf.Tensor,
    labels: tf.Tensor,
    hidden: tf.Tensor,
    design: DesignFn,
    count: tf.Tensor,
    block: tf.Tensor,
    k: tf.Tensor,
    t: tf.Tensor,
    weigh: Optional[WeighFn] = None,
) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """The samples themselves, for a regressor fitted outside the graph: ``z (n, B, K)``,
    ``w (n, B)``, ``y (n, B, T)`` float64 (``B = count``). The masked copies still run in
    blocks of ``block``; what is kept is ``B (K + T + 1)`` numbers per input."""

    scored = scored_blocks(context, inputs, pinned, labels, hidden, design, t, weigh)

    def packed(start, size):
        z, w, y = scored(start, size)
        return tf.concat([z, w[..., None], y], axis=-1)

    both = concat_over_blocks(packed, count, block, axis=1, dtype=tf.float64)  # (n, B, K + 1 + T)
    return both[..., :k], both[..., k], both[..., k + 1:]


def _fields(m: Moments) -> tuple:
    return (m.sw, m.sz, m.szz, m.sy, m.szy, m.syy)


def padded_identity(counts: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
    """``(n, K, K)`` float64: 1 on the diagonal of padded features (``k >= K_i``), so
    normal equations stay solvable and give those features 0."""
    return tf.linalg.diag(1.0 - tf.cast(present(counts, k), tf.float64))


def design_option(name: str, value: Any) -> Optional[np.ndarray]:
    """A user design matrix: None, or a binary ``(B, K)`` array (read-only float64)."""
    if value is None:
        return None
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if array.ndim != 2 or array.dtype.kind not in "biuf" or not np.isin(array, (0, 1)).all():
        raise ValueError(
            f"{name} must be a binary (samples, features) array of 0 and 1; got dtype {array.dtype} "
            f"and shape {array.shape}."
        )
    array = array.astype(np.float64)
    array.setflags(write=False)
    return array


def given_design(design: np.ndarray, n: tf.Tensor, rows: tf.Tensor) -> tf.Tensor:
    """Rows ``rows`` of the user's design ``(B, K)`` for each of ``n`` inputs: ``(n, b, K)``
    (every input has ``K`` features: checked by :meth:`SurrogateMethod.side_data`)."""
    z = tf.gather(tf.constant(design), rows)
    return tf.broadcast_to(z[None], tf.concat([[n], tf.shape(z)], axis=0))


def keep_top(values: tf.Tensor, counts: tf.Tensor, top: Optional[int], positive_only: bool) -> tf.Tensor:
    """``(n, T, K)`` per-feature values with views applied: ``positive_only`` zeroes the
    negative ones, ``top`` keeps the ``top`` largest ``|value|`` (``lime``'s
    ``get_image_and_mask(positive_only, num_features)``; AUCMEDI's "pro" map)."""
    if positive_only:
        values = tf.maximum(values, 0.0)
    if top is None:
        return values
    k = tf.shape(values)[-1]
    magnitude = tf.where(present(counts, k)[:, None, :], tf.abs(values), -1.0)
    kth = tf.math.top_k(magnitude, tf.minimum(top, k)).values[..., -1:]
    return tf.where((magnitude >= kth) & (magnitude > 0), values, tf.zeros_like(values))

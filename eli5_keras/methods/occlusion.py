"""Occlusion (Zeiler & Fergus, 2014, https://arxiv.org/abs/1311.2901).

A window slides over the spatial axes of the input; each position is replaced by a
baseline value (all channels at once) and the drop of the target score is credited
to the occluded pixels:

    k_a      = ceil((D_a - w_a) / stride_a) + 1        window positions per axis
    x_occ^j  = x with window j set to `baseline`        j over prod_a k_a windows
    A[n, t]  = sum_j (S(x)[n, t] - S(x_occ^j)[n, t]) * 1[p in window j] / C(p)

``C(p)`` is the number of windows covering pixel ``p`` (``aggregate="mean"``, Captum's
``Occlusion``); ``aggregate="sum"`` keeps ``C = 1`` (Xplique's ``Occlusion``, which sums
overlapping patches). Window ``j`` along axis ``a`` starts at ``i_a * stride_a`` and is
cut at the border (Captum's positions), so every pixel is covered when
``stride <= window``; pixels no window covers (``stride > window``) get 0.

``S`` is ``fwd.scores``: the target's logit by default (the final softmax/sigmoid is
bypassed, as in the papers' class score); ``explain(..., use_logits=False)`` compares
the model's outputs as it returns them (probabilities, Captum on a softmax model). The
maps are signed (occluding a region may raise the score), so the default pipeline
keeps them raw. One forward pass scores every target, so the work is the number of
windows per input, run in blocks of at most ``batch_size`` occluded copies. Works on
1-D, 2-D and 3-D inputs and on token ids (the baseline is then a token id).

Deviations and choices: the window spans the spatial axes only (Captum lets it span
channels; Xplique and the paper occlude all channels). A window larger than an axis
covers the whole axis. Defaults ``window=8``, ``stride=window`` (non-overlapping, as
Xplique's and AUCMEDI's defaults; Captum has no default window and ``strides=1``).
"""
from __future__ import annotations

import numbers
from typing import Optional, Tuple, Union

import numpy as np
import tensorflow as tf

from ..backend.inputs import batch_spatial_size, input_spatial_rank
from .. import validation as check
from .base import Context, Method, MethodOutput, explained_input_spec, is_float_dtype, outer_product, sum_over_blocks
from .perturbed import UNKNOWN_CHANNELS, forward_copies, pin_targets

DEFAULT_WINDOW = 8
UNKNOWN_EXPANSION = UNKNOWN_CHANNELS
"""Work per input when the input's spatial size is only known at run time: the
driver then explains one input at a time, in blocks of ``batch_size``."""

PerAxis = Union[int, Tuple[int, ...]]


class Occlusion(Method):
    """Score drop when a sliding window of the input is set to a baseline.

    Parameters
    ----------
    window : int or tuple of ints, default 8
        Window size, one for every spatial axis or one per axis.
    stride : int or tuple of ints, optional
        Step between window positions; default: the window (non-overlapping).
    baseline : float, default 0.0
        Value written into the window (all channels).
    aggregate : {"mean", "sum"}, default "mean"
        Average the drops of the windows covering a pixel (Captum) or sum them
        (Xplique).

    Output: maps ``(N, T, *S)`` at the input's spatial shape.
    """

    name = "occlusion"
    title = "Occlusion"
    summary = "score drop when a sliding window of the input is set to a baseline"
    uses_layer = False
    signed = True
    per_target_work = False

    def __init__(
        self,
        window: PerAxis = DEFAULT_WINDOW,
        stride: Optional[PerAxis] = None,
        baseline: float = 0.0,
        aggregate: str = "mean",
    ) -> None:
        self.window = check.per_axis("window", window)
        self.stride = None if stride is None else check.per_axis("stride", stride)
        self.baseline = check.real("baseline", baseline)
        self.aggregate = check.choice("aggregate", aggregate, ("mean", "sum"))

    def _geometry(self, rank: int) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
        window = check.expand_per_axis("window", self.window, rank)
        stride = window if self.stride is None else check.expand_per_axis("stride", self.stride, rank)
        return window, stride

    def setup(self, context: Context) -> None:
        spec, dtype = explained_input_spec(context)
        self._geometry(input_spatial_rank(spec))
        if not is_float_dtype(dtype) and self.baseline != int(self.baseline):
            raise ValueError(
                f"baseline must be a whole number for input {context.input_index} of dtype {dtype} "
                f"(e.g. a padding token id); got {self.baseline!r}."
            )

    def expansion(self, context: Context) -> int:
        spec, _ = explained_input_spec(context)
        rank = input_spatial_rank(spec)
        sizes = tuple(spec.shape[1 : 1 + rank])
        if any(d is None for d in sizes):
            return UNKNOWN_EXPANSION
        window, stride = self._geometry(rank)
        return int(np.prod([window_count(d, w, s) for d, w, s in zip(sizes, window, stride)]))

    def compute(self, context, inputs, data, block):
        x = inputs[context.input_index]
        rank = x.shape.rank - 1 - int(context.channels_last)
        window, stride = self._geometry(rank)
        sizes = batch_spatial_size(x, rank)
        counts = [window_count(d, w, s) for d, w, s in zip(sizes, window, stride)]
        total = tf.reduce_prod(tf.stack(counts))
        fwd, pinned = pin_targets(context, inputs, data)
        n, t = tf.shape(x)[0], tf.shape(fwd.scores)[1]
        baseline = tf.cast(self.baseline, x.dtype)
        channel = [1] if context.channels_last else []

        initial = tf.zeros(tf.concat([tf.stack([n, t]), tf.stack(sizes)], axis=0))

        def occluded_drops(start, size):
            index = start + tf.range(size)
            factors = []
            for a in range(rank):
                factors.append(window_mask(index % counts[a], sizes[a], window[a], stride[a]))
                index = index // counts[a]
            mask = outer_product(factors)  # (size, *S)
            inside = tf.reshape(mask > 0, tf.concat([[1], tf.shape(mask), channel], axis=0))
            occluded = tf.where(inside, baseline, x[:, None])
            occluded = tf.reshape(occluded, tf.concat([[n * size], tf.shape(x)[1:]], axis=0))
            out = forward_copies(context.probe, inputs, pinned, size, replaced={context.input_index: occluded})
            drops = fwd.scores[:, None, :] - tf.reshape(out.scores, tf.stack([n, size, t]))
            return tf.ensure_shape(tf.tensordot(drops, mask, axes=[[1], [0]]), initial.shape)  # (n, t, *S)

        maps = sum_over_blocks(occluded_drops, total, block, initial)
        if self.aggregate == "mean":
            coverage = outer_product(
                [
                    tf.reduce_sum(window_mask(tf.range(k), d, w, s), axis=0, keepdims=True)
                    for k, d, w, s in zip(counts, sizes, window, stride)
                ]
            )
            maps = tf.math.divide_no_nan(maps, coverage[None])
        return MethodOutput(maps, fwd.labels, fwd.reported)


def window_count(size, window: int, stride: int):
    """Window positions along an axis of ``size``: ``ceil((size - w) / stride) + 1``,
    with ``w = min(window, size)`` (Captum's shift count). ``size`` may be a tensor."""
    if isinstance(size, numbers.Integral):
        return -(-(size - min(window, size)) // stride) + 1
    w = tf.minimum(window, size)
    return (size - w + stride - 1) // stride + 1


def window_mask(index: tf.Tensor, size, window: int, stride: int) -> tf.Tensor:
    """``(len(index), size)`` float: 1 where window ``index`` covers a position of the axis."""
    begin = index[:, None] * stride
    position = tf.range(size)[None, :]
    return tf.cast((position >= begin) & (position < begin + window), tf.float32)

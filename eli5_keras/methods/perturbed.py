"""Forward passes on modified copies of a chunk: shared by Score-CAM and Ablation-CAM
(a copy per channel), occlusion and RISE (a copy per window or mask) and the wrappers
(noisy or augmented copies).

A block of ``b`` copies of ``n`` inputs is ``n * b`` inputs, example-major (copy
``i * b + j`` is input ``i`` with modification ``start + j``), run as one batch. The
target is *pinned* to the clean pass (:meth:`eli5_keras.targets.Target.pin`), so "the
top class" means the class predicted on the clean input, never the top class of a copy.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

import tensorflow as tf

from ..backend.graph import LayerPath, Override
from ..backend.probe import Forward, ModelProbe
from .base import Context, explained_input_spec, is_float_dtype


def pin_targets(
    context: Context, inputs: Sequence[tf.Tensor], data: tf.Tensor, taps: Sequence[LayerPath] = ()
) -> Tuple[Forward, tf.Tensor]:
    """The clean forward pass (reading ``taps`` on the way) and the target data pinned
    to it (:meth:`eli5_keras.targets.Target.pin`)."""
    fwd = context.probe.forward(inputs, data, taps=taps)
    return fwd, context.probe.target.pin(data, fwd.labels, fwd.outputs)


def copies_of(
    inputs: Sequence[tf.Tensor], size: tf.Tensor, replaced: Optional[Dict[int, tf.Tensor]] = None
) -> List[tf.Tensor]:
    """Model inputs for ``size`` copies of each of the ``n`` inputs, example-major: the
    inputs in ``replaced`` (index -> ``(n * size, ...)``) as given, the others repeated."""
    replaced = replaced or {}
    return [replaced[i] if i in replaced else tf.repeat(x, size, axis=0) for i, x in enumerate(inputs)]


def require_float_input(context: Context, method: str, why: str) -> Any:
    """The spec of the explained input; ValueError when it is not a float input (token
    ids cannot be masked, noised, rescaled or differentiated)."""
    spec, dtype = explained_input_spec(context)
    if not is_float_dtype(dtype):
        raise ValueError(
            f"{method} {why}, so it needs a float input; input {context.input_index} has shape "
            f"{tuple(spec.shape)} and dtype {dtype}."
        )
    return spec


def forward_copies(
    probe: ModelProbe,
    inputs: Sequence[tf.Tensor],
    pinned: tf.Tensor,
    size: tf.Tensor,
    replaced: Optional[Dict[int, tf.Tensor]] = None,
    overrides: Optional[Dict[LayerPath, Override]] = None,
) -> Forward:
    """One forward pass on ``size`` copies of each of the ``n`` inputs.

    Parameters
    ----------
    inputs : list of (n, ...) tensors
        The chunk's model inputs; each is repeated ``size`` times, example-major.
    pinned : (n, T, ...) tensor
        The target data pinned to the clean pass.
    size : scalar int32 tensor
        Copies per input (the block of channels).
    replaced : dict input index -> (n * size, ...) tensor, optional
        Inputs given already expanded (Score-CAM's masked inputs).
    overrides : dict LayerPath -> callable, optional
        Layer overrides for the pass (Ablation-CAM's ablated activations).
    """
    return probe.forward(copies_of(inputs, size, replaced), tf.repeat(pinned, size, axis=0), overrides=overrides)


def per_channel(scores: tf.Tensor, n: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
    """Scores ``(n * size, T)`` of example-major copies as ``(n, T, size)``."""
    return tf.transpose(tf.reshape(scores, tf.stack([n, size, -1])), [0, 2, 1])


def channels_of(activations: tf.Tensor) -> tf.Tensor:
    """Number of channels of ``(N, *s, C)`` activations (static when known)."""
    static = activations.shape[-1]
    return tf.constant(static, tf.int32) if static is not None else tf.shape(activations)[-1]


UNKNOWN_CHANNELS = 2**31 - 1
"""Expansion reported when a layer's channel count is unknown before the first call
(a subclassed model): the driver then takes one input at a time in blocks of at most
``batch_size`` channels, so the bound still holds."""


def layer_channels(layer_shape: Optional[tuple]) -> int:
    """Channels of the explained layer from its output shape, or :data:`UNKNOWN_CHANNELS`."""
    if layer_shape is None or layer_shape[-1] is None:
        return UNKNOWN_CHANNELS
    return int(layer_shape[-1])

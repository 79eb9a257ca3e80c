"""keras-explainable's gradient methods on the engine.

``gradients``: ``mean_c |∂y_c/∂x|`` (Simonyan et al. 2013), ``(B, H, W, C) ->
(scores (B, L), maps (B, H, W, L))``; ``gradient_filter`` must be ``tf.abs`` (its
default). FullGrad (``full_gradients``) is not offered (see docs/compat.md).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple

import tensorflow as tf

from ..inspection import KERNEL_AXIS, SPATIAL_AXIS
from .engine import EngineSpec, run, with_spec

GRADIENTS = EngineSpec("saliency", at_layer=False, options={"reduce": "sum_abs"}, scale=lambda x: 1.0 / x.shape[-1])


@with_spec(GRADIENTS)
def gradients(model: Any, inputs: Any, indices: Optional[Any] = None, indices_axis: int = KERNEL_AXIS,
              indices_batch_dims: int = -1, spatial_axis: Tuple[int, ...] = SPATIAL_AXIS,
              gradient_filter: Callable = tf.abs, *, batch_size: int = 32):
    """Input gradients, absolute, averaged over channels: ``(scores (B, L), maps (B, H, W, L))``."""
    if gradient_filter is not tf.abs:
        raise ValueError("gradient_filter must be tf.abs (the only filter the engine reduces in its graph).")
    scores, maps, x = run(GRADIENTS.method, model, inputs, indices, indices_axis, indices_batch_dims, spatial_axis,
                          batch_size, at_layer=False, **GRADIENTS.options)
    return scores, maps * GRADIENTS.scale(x)


METHODS = [gradients]
__all__ = ["gradients"]

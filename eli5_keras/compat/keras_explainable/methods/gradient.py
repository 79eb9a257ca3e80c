"""keras-explainable's gradient methods on the engine.

* ``gradients``: ``mean_c |∂y_c/∂x|`` (Simonyan et al. 2013), ``(B, H, W, C) ->
  (scores (B, L), maps (B, H, W, L))``; ``gradient_filter`` must be ``tf.abs`` (its
  default).
* ``full_gradients``: FullGrad (Srinivas & Fleuret 2019) as keras-explainable computes
  it, one map for the sum ``S = sum_l y_l`` of the selected units, ``(B, H, W, C) ->
  (scores (B, L), maps (B, H, W, 1))``::

      M = psi(∂S/∂x ⊙ x) + sum_l resize(psi(∂S/∂z_l ⊙ b_l), (H, W))
      psi(t) = mean_c (|t_c| - min|t_c|) / (max|t_c| - min|t_c|)   (0 for a constant channel)

  ``z_l`` the output (after its fused activation) of each exposed layer ``l`` (the
  ``arguments`` of :func:`~..inspection.expose`: keras-explainable's
  ``layers_with_biases(model, exclude=[logits])``; the default exposure, the layer
  feeding the global pooling), ``b_l`` its bias (batch normalisation folded), min and
  max over the spatial positions of each channel, bilinear resize (the engine's
  ``fullgrad`` with ``scale="channel_mean", after_activation=True, sum_targets=True,
  layers=...``).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from ....backend.layers import path_name, resolve_layer
from ....methods.fullgrad import bias_layers
from .. import filters
from ..inspection import KERNEL_AXIS, SPATIAL_AXIS, ExposedModel, as_exposed
from ..inspection import biases as layer_biases
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


def full_gradients_options(exposed: ExposedModel, psi: Callable = filters.absolute_normalize,
                           biases: Optional[Sequence[Any]] = None) -> Dict[str, Any]:
    """The engine's ``fullgrad`` options reproducing keras-explainable's ``full_gradients``
    on ``exposed``: its exposed layers, checked to be spatial bias layers; ``psi`` must be
    ``filters.absolute_normalize``; ``biases`` (one per exposed layer, as keras-explainable
    pairs them) are checked against the layers' own: after the per-channel min-max a bias
    enters the map only through which of its entries are zero."""
    if psi is not filters.absolute_normalize:
        raise ValueError(
            "psi must be filters.absolute_normalize (its default; the engine normalises each channel in its graph); "
            f"got {getattr(psi, '__name__', psi)!r}."
        )
    model = exposed.model
    every = bias_layers(model)
    rank = len(model.inputs[0].shape)
    names: List[str] = []
    for layer in exposed.argument_layers:
        path = resolve_layer(model, layer)
        if path not in every:
            raise ValueError(
                f"full_gradients pairs each exposed layer with its bias; layer {layer.name!r} "
                f"({type(layer).__name__}) has none: expose the layers of inspection.layers_with_biases(model)."
            )
        if len(layer.output.shape) != rank:
            raise ValueError(
                f"full_gradients normalises each exposed layer's term over spatial_axis; layer {layer.name!r} "
                f"has output shape {tuple(layer.output.shape)} without them: exclude it."
            )
        names.append(path_name(path))
    if biases is not None:
        _check_biases(exposed.argument_layers, biases)
    return {"layers": tuple(names)}


def _check_biases(layers: Sequence[Any], biases: Sequence[Any]) -> None:
    own = layer_biases(layers)
    if len(biases) != len(layers):
        raise ValueError(f"biases must have one entry per exposed layer ({len(layers)}); got {len(biases)}.")
    for i, (layer, given, actual) in enumerate(zip(layers, biases, own)):
        given, actual = np.asarray(given), np.asarray(actual)
        if given.shape != actual.shape:
            raise ValueError(f"biases[{i}] must have shape {actual.shape} (layer {layer.name!r}); got {given.shape}.")
        if not np.array_equal(given != 0, actual != 0):
            raise ValueError(
                f"biases[{i}] differs from layer {layer.name!r}'s bias in which entries are zero; the engine "
                "reads each layer's own bias (the map depends on it only through its zero entries)."
            )


FULL_GRADIENTS = EngineSpec(
    "fullgrad", at_layer=False, options={"scale": "channel_mean", "after_activation": True, "sum_targets": True},
    configure=full_gradients_options, single_map=True,
)


@with_spec(FULL_GRADIENTS)
def full_gradients(model: Any, inputs: Any, indices: Optional[Any] = None, indices_axis: int = KERNEL_AXIS,
                   indices_batch_dims: int = -1, spatial_axis: Tuple[int, ...] = SPATIAL_AXIS,
                   psi: Callable = filters.absolute_normalize, biases: Optional[Sequence[Any]] = None,
                   *, batch_size: int = 32):
    """FullGrad of the selected units' sum: ``(scores (B, L), maps (B, H, W, 1))`` (module docstring)."""
    exposed = as_exposed(model)
    options = FULL_GRADIENTS.engine_options(exposed, psi=psi, biases=biases)
    scores, maps, x = run(FULL_GRADIENTS.method, exposed, inputs, indices, indices_axis, indices_batch_dims,
                          spatial_axis, batch_size, at_layer=False, **options)
    return scores, FULL_GRADIENTS.finish(maps, x)


METHODS = [gradients, full_gradients]
__all__ = ["gradients", "full_gradients"]

"""keras-explainable's CAM methods on the engine: ``(scores (B, L), maps (B, H', W', L))``
at the exposed activation layer's resolution, raw (no ReLU, no normalisation).

* ``cam``: ``Σ_k W[k, c] A^k`` (Zhou et al.; the logits layer's kernel, no bias).
* ``gradcam``: ``Σ_k mean_ij(∂y_c/∂A^k) A^k``.
* ``gradcampp``: ``Σ_k (Σ_ij α ReLU(exp(y_c) ∂y_c/∂A)) A^k`` with
  ``α = g² / (2 g² + Σ_ab A · g³)`` (0 where the denominator is 0), no α normalisation:
  the engine's Grad-CAM++ (``normalize_alphas=False``, ``exp(y_c)`` dropped) times
  ``exp(y_c)``.

* ``scorecam``: ``Σ_k y_c(x ⊙ N_k) N_k`` at the input's resolution, ``N_k`` the channel
  min-maxed at the layer then resized bilinearly (the engine's Score-CAM with
  ``masks="layer"``).

``y_c`` is the exposed logits layer's output as it is.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import tensorflow as tf

from ..inspection import KERNEL_AXIS, SPATIAL_AXIS
from .engine import EngineSpec, run, with_spec


@with_spec(EngineSpec("cam", at_layer=True))
def cam(model: Any, inputs: Any, indices: Optional[Any] = None, indices_axis: int = KERNEL_AXIS,
        indices_batch_dims: int = -1, spatial_axis: Tuple[int, ...] = SPATIAL_AXIS, *, batch_size: int = 32):
    """CAM (Zhou et al. 2016): ``(B, H, W, C) -> (scores (B, L), maps (B, H', W', L))``."""
    scores, maps, _ = run("cam", model, inputs, indices, indices_axis, indices_batch_dims, spatial_axis,
                          batch_size, at_layer=True)
    return scores, maps


@with_spec(EngineSpec("gradcam", at_layer=True))
def gradcam(model: Any, inputs: Any, indices: Optional[Any] = None, indices_axis: int = KERNEL_AXIS,
            indices_batch_dims: int = -1, spatial_axis: Tuple[int, ...] = SPATIAL_AXIS, *, batch_size: int = 32):
    """Grad-CAM (Selvaraju et al. 2017): ``(B, H, W, C) -> (scores (B, L), maps (B, H', W', L))``."""
    scores, maps, _ = run("gradcam", model, inputs, indices, indices_axis, indices_batch_dims, spatial_axis,
                          batch_size, at_layer=True)
    return scores, maps


def gradcampp(model: Any, inputs: Any, indices: Optional[Any] = None, indices_axis: int = KERNEL_AXIS,
              indices_batch_dims: int = -1, spatial_axis: Tuple[int, ...] = SPATIAL_AXIS, *, batch_size: int = 32):
    """Grad-CAM++ (Chattopadhay et al. 2018): ``(B, H, W, C) -> (scores (B, L), maps (B, H', W', L))``."""
    scores, maps, _ = run("gradcam++", model, inputs, indices, indices_axis, indices_batch_dims, spatial_axis,
                          batch_size, at_layer=True, normalize_alphas=False)
    return scores, maps * tf.exp(scores)[:, None, None, :]


SCORECAM = EngineSpec("scorecam", at_layer=True, options={"masks": "layer"})


@with_spec(SCORECAM)
def scorecam(model: Any, inputs: Any, indices: Optional[Any] = None, indices_axis: int = KERNEL_AXIS,
             indices_batch_dims: int = -1, spatial_axis: Tuple[int, ...] = SPATIAL_AXIS, *, batch_size: int = 32):
    """Score-CAM (Wang et al. 2020) as keras-explainable: ``(B, H, W, C) -> (scores (B, L), maps (B, H, W, L))``
    at the *input's* resolution, ``sum_k y_c(x ⊙ N_k) N_k`` with ``N_k`` the channel
    min-maxed at the layer, then resized bilinearly; raw scores, no softmax, no ReLU."""
    scores, maps, _ = run(SCORECAM.method, model, inputs, indices, indices_axis, indices_batch_dims, spatial_axis,
                          batch_size, at_layer=True, **SCORECAM.options)
    return scores, maps


METHODS = [cam, gradcam, gradcampp, scorecam]
__all__ = ["cam", "gradcam", "gradcampp", "scorecam"]

"""keras-explainable's API (``import keras_explainable as ke``) on eli5-keras' engine.

Change ``import keras_explainable as ke`` into
``import eli5_keras.compat.keras_explainable as ke``; the rest stays::

    model = ke.inspection.expose(model)
    scores, cams = ke.methods.cams.gradcam(model, x, y)             # y: (B, L) unit indices
    scores, maps = ke.explain(ke.methods.cams.gradcam, model, x, y,
                              postprocessing=ke.filters.absolute_normalize)

Methods return ``(scores (B, L), maps (B, *S, L))``, labels last; :func:`explain` applies
``postprocessing(maps, axis=spatial_axis)``, then (``resizing=True``) a bilinear
``tf.image.resize`` onto the input, and returns numpy arrays. ``cam``, ``gradcam``,
``gradcampp``, ``scorecam``, ``gradients`` and ``full_gradients`` are :func:`explain`
bound to each method with keras-explainable's default ``postprocessing`` /
``resizing``. docs/compat.md lists what is supported and every difference.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Optional, Tuple, Union

import numpy as np
import tensorflow as tf

from . import filters, inspection, methods
from .inspection import SPATIAL_AXIS


def explain(
    method: Callable,
    model: Any,
    x: Any,
    y: Optional[Any] = None,
    batch_size: Optional[int] = None,
    spatial_axis: Tuple[int, ...] = SPATIAL_AXIS,
    postprocessing: Optional[Callable] = None,
    resizing: Optional[Union[bool, Any]] = True,
    **method_params: Any,
) -> Tuple[np.ndarray, np.ndarray]:
    """Run ``method`` on ``x`` for the units ``y`` ``(B, L)`` (every unit when None):
    ``(scores (B, L), maps (B, H, W, L))`` as numpy arrays.

    ``batch_size`` bounds the engine's work in flight (default 32, as keras-explainable);
    ``resizing``: True (the input's spatial size), a size, or False/None (layer size)."""
    scores, maps = method(model, x, y, spatial_axis=spatial_axis, batch_size=batch_size or 32, **method_params)
    if postprocessing is not None:
        maps = postprocessing(maps, axis=spatial_axis)
    if resizing is not None and resizing is not False:
        size = np.shape(x)[1:-1] if resizing is True else resizing
        maps = tf.image.resize(maps, size)
    return np.asarray(scores), np.asarray(maps)


def partial_explain(method: Callable, **default_params: Any) -> Callable:
    """``explain`` bound to ``method`` (keras-explainable's ``ke.gradcam`` and friends)."""
    bound = partial(explain, method, **default_params)
    bound.__name__ = f"{method.__name__}_explain"
    return bound


# keras-explainable's shortcuts, with its default post-processing
cam = partial_explain(methods.cams.cam, postprocessing=filters.positive_normalize)
gradcam = partial_explain(methods.cams.gradcam, postprocessing=filters.positive_normalize)
gradcampp = partial_explain(methods.cams.gradcampp, postprocessing=filters.positive_normalize)
scorecam = partial_explain(methods.cams.scorecam, postprocessing=filters.positive_normalize, resizing=False)
gradients = partial_explain(methods.gradient.gradients, postprocessing=filters.normalize, resizing=False)
full_gradients = partial_explain(methods.gradient.full_gradients, postprocessing=filters.normalize, resizing=False)

__all__ = [
    "explain", "partial_explain", "filters", "inspection", "methods",
    "cam", "gradcam", "gradcampp", "scorecam", "gradients", "full_gradients",
]

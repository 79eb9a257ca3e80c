"""The one call every keras-explainable method makes: :func:`eli5_keras.explain` on
the exposed model's output, maps returned labels last ``(B, *S, L)``."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np
import tensorflow as tf

from ....explain import explain as _explain
from ..inspection import KERNEL_AXIS, SPATIAL_AXIS, ExposedModel, as_exposed

SUPPORTED_SPATIAL_AXES = ((-3, -2), (1, 2))


@dataclass(frozen=True)
class EngineSpec:
    """How a keras-explainable method runs on the engine, for the meta methods
    (:mod:`.meta`) that wrap it: the engine ``method`` and its ``options``, whether
    it explains the exposed activation layer (``at_layer``), and ``scale(x)``, the
    constant factor the facade multiplies the raw maps by (a linear post-processing,
    so it commutes with averaging over copies).

    ``configure(exposed, **params) -> options``, when set, builds the options from the
    exposed model and the method's own keyword arguments (``full_gradients``: its
    layers, ``psi`` and ``biases``); ``single_map``: the engine repeats one map per
    target and the method returns it once, ``(B, H, W, 1)``."""

    method: str
    at_layer: bool
    options: Dict[str, Any] = field(default_factory=dict)
    scale: Callable[[Any], float] = lambda x: 1.0
    configure: Optional[Callable[..., Dict[str, Any]]] = None
    single_map: bool = False

    def engine_options(self, exposed: ExposedModel, **params: Any) -> Dict[str, Any]:
        """The engine options for ``exposed`` and the method's keyword arguments."""
        if self.configure is not None:
            return {**self.options, **self.configure(exposed, **params)}
        if params:
            raise TypeError(f"method {self.method!r} takes no further arguments here; got {sorted(params)}.")
        return dict(self.options)

    def finish(self, maps: tf.Tensor, x: np.ndarray) -> tf.Tensor:
        """The facade's maps from the engine's raw ``(B, H, W, L)``."""
        return (maps[..., :1] if self.single_map else maps) * self.scale(x)


def with_spec(spec: EngineSpec) -> Callable:
    """Decorator: record ``spec`` on a method function as ``function.engine``."""
    def mark(function: Callable) -> Callable:
        function.engine = spec
        return function

    return mark


def run(
    method: str,
    model: Any,
    inputs: Any,
    indices: Optional[Any],
    indices_axis: int,
    indices_batch_dims: int,
    spatial_axis: Tuple[int, ...],
    batch_size: int,
    at_layer: bool,
    **options: Any,
) -> Tuple[tf.Tensor, tf.Tensor, np.ndarray]:
    """``(scores (B, L), maps (B, *S, L), inputs)`` of the units ``indices`` ``(B, L)``
    (every unit when None), maps raw: no ReLU, no normalisation, no resize."""
    if indices_axis != KERNEL_AXIS or indices_batch_dims != -1:
        raise ValueError("only indices_axis=-1 and indices_batch_dims=-1 (the defaults) are supported.")
    if tuple(spatial_axis) not in SUPPORTED_SPATIAL_AXES:
        raise ValueError(f"spatial_axis must be {SPATIAL_AXIS} (2-D images); got {spatial_axis!r}.")
    exposed = as_exposed(model)
    x = np.asarray(inputs, np.float32)
    units = exposed.logits_layer.output.shape[-1]
    if indices is None:
        indices = np.tile(np.arange(units, dtype=np.int32), (len(x), 1))
    indices = np.asarray(indices)
    if indices.ndim != 2 or len(indices) != len(x):
        raise ValueError(f"indices must have shape (B, L) = ({len(x)}, L); got {indices.shape}.")
    result = _explain(
        exposed.model, x, method=method, targets=indices.astype(np.int32),
        layer=exposed.activation_layer if at_layer else None, batch_size=batch_size,
        use_logits=False, relu=False, normalize=False, resize=False, **options,
    )
    maps = tf.transpose(tf.convert_to_tensor(result.maps), [0, 2, 3, 1])
    return tf.convert_to_tensor(result.scores), maps, x

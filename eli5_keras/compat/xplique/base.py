"""Xplique's conventions shared by every class: ``operator`` (:mod:`.tasks`) and its target,
``output_layer``, input and target sanitising, and the base class that makes one
:func:`eli5_keras.explain` call."""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import keras
import numpy as np
import tensorflow as tf

from ... import validation as check
from ...explain import explain as _explain
from .tasks import Tasks, operator_target, resolve_operator

LayerRef = Optional[Union[int, str]]
REDUCERS = ("mean", "sum")


def find_layer(model: keras.Model, ref: Union[int, str]) -> keras.layers.Layer:
    if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
        size = len(model.layers)
        if not -size <= int(ref) < size:
            raise ValueError(f"layer index must be in [-{size}, {size}) (the model's layers); got {ref}.")
        return model.layers[int(ref)]
    if isinstance(ref, str):
        return model.get_layer(ref)
    raise TypeError(f"a layer is given by its index or name; got {type(ref).__name__}.")


def score_model(model: keras.Model, output_layer: LayerRef) -> keras.Model:
    if output_layer is None:
        return model
    layer = find_layer(model, output_layer)
    if layer is model.layers[-1]:
        return model
    return keras.Model(model.inputs, layer.output)


def sanitize(inputs: Any, targets: Any) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Xplique's inputs (array, tensor or Dataset of (x, y)) as numpy arrays."""
    if isinstance(inputs, tf.data.Dataset):
        if targets is not None:
            raise ValueError("targets must be None when inputs is a tf.data.Dataset (they are inside it).")
        xs, ys = [], []
        batched = len(inputs.element_spec[0].shape) == 4 if isinstance(inputs.element_spec, tuple) else False
        for x, y in inputs:
            xs.append(np.asarray(x) if batched else np.asarray(x)[None])
            ys.append(np.asarray(y) if batched else np.asarray(y)[None])
        return np.concatenate(xs), np.concatenate(ys)
    x = np.asarray(inputs, np.float32)
    return x, None if targets is None else np.asarray(targets, np.float32)


class XpliqueMethod:
    """``Method(model, **config)`` once, ``explain(inputs, targets)`` many times."""

    method: str = ""
    channels: bool = True
    """The engine map was summed over the input channels (``reducer`` applies)."""

    def __init__(
        self,
        model: keras.Model,
        output_layer: LayerRef = None,
        batch_size: Optional[int] = 32,
        operator: Any = None,
        reducer: Optional[str] = "mean",
    ) -> None:
        self.model = score_model(model, output_layer)
        self.batch_size = batch_size
        self.operator = resolve_operator(operator)
        self.reducer = check.choice("reducer", reducer, REDUCERS)

    def options(self) -> dict:
        """The engine's method options and pipeline for this explainer."""
        return {}

    def inputs_and_targets(self, inputs: Any, targets: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Xplique's inputs and targets as arrays; default targets: each input's top output,
        one-hot (classification, regression, callables; the other tasks need targets)."""
        x, y = sanitize(inputs, targets)
        if y is None and isinstance(self.operator, Tasks) and self.operator.needs_targets:
            raise ValueError(f"targets are required with operator {self.operator.value!r} (the "
                             f"{'boxes' if self.operator.detection else 'masks'} to explain); got None.")
        if y is None:
            predictions = np.asarray(self.model(x, training=False))
            y = np.eye(predictions.shape[-1], dtype=np.float32)[predictions.argmax(-1)]
        return x, y

    def run(self, model: keras.Model, x: np.ndarray, y: np.ndarray, options: Optional[dict] = None) -> np.ndarray:
        """One :func:`eli5_keras.explain` call: the raw maps ``(N, *S)`` of the operator's score
        (``options``: the engine options, default :meth:`options`)."""
        result = _explain(
            model, x, method=self.method, targets=operator_target(self.operator, y),
            batch_size=self.batch_size or len(x), use_logits=False,
            **(self.options() if options is None else options),
        )
        return result.maps[:, 0]

    def explain(self, inputs: Any, targets: Any = None) -> tf.Tensor:
        x, y = self.inputs_and_targets(inputs, targets)
        maps = tf.convert_to_tensor(self.run(self.model, x, y))
        if self.channels and self.reducer == "mean":
            maps = maps / x.shape[-1]
        return self.finish(maps[..., None], x)

    def finish(self, maps: tf.Tensor, inputs: np.ndarray) -> tf.Tensor:
        """The engine's maps ``(N, *S, 1)`` as Xplique returns them."""
        return maps

    __call__ = explain


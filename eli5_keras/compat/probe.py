"""The eli5 probe: class targets at one layer, the entry point of eli5's numbers.

:class:`LayerProbe` is a :class:`~eli5_keras.backend.probe.ModelProbe` bound to a
:class:`~eli5_keras.targets.ClassTarget` and one layer path, fed an ``(N, T)`` class
code (see :mod:`eli5_keras.backend.targets`: ``c >= 0`` a class, ``-r`` the r-th best
class). One traceable :meth:`LayerProbe.run` gives:

    activations : (N, *s, C)     the layer's output
    gradients : (N, T, *s, C)    dS[n, t] / dA[n]
    outputs : (N, K)             the model's output, as the model returns it
    classes : (N, T)             resolved class indices
    scores : (N, T)              outputs[n, classes[n, t]]

:func:`compiled` wraps such a function in a ``tf.function`` whose batch and free
dimensions stay dynamic.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from ..backend.cache import graph_function
from ..backend.layers import path_name
from ..backend.probe import ModelProbe, as_float32, target_gradients
from ..backend.topology import LayerPath, model_outputs
from ..targets import ClassTarget


@dataclass
class ProbeResult:
    """What :meth:`LayerProbe.run` returns (shapes in the module docstring)."""

    activations: tf.Tensor
    gradients: Optional[tf.Tensor]
    outputs: tf.Tensor
    classes: tf.Tensor
    scores: tf.Tensor


class LayerProbe(ModelProbe):
    """A :class:`~eli5_keras.backend.probe.ModelProbe` for class targets at one layer,
    fed an ``(N, T)`` class code: the eli5 backend's entry point.

    Parameters
    ----------
    model : keras.Model
    path : LayerPath
        The explained layer.
    use_logits : bool, default True
        Differentiate the class score before a final softmax/sigmoid; eli5 uses False.
    output_index : int, default 0
        The model output holding the class scores ``(N, K)``.

    Raises
    ------
    ValueError
        That output is not ``(batch, classes)``.
    """

    def __init__(
        self,
        model: keras.Model,
        path: LayerPath,
        use_logits: bool = True,
        output_index: int = 0,
    ) -> None:
        target = ClassTarget(output_index=output_index)
        shapes = [tuple(o.shape) for o in model_outputs(model)]
        _check_class_axis(shapes[output_index], model.name)
        super().__init__(model, target.bind(shapes, 1), use_logits=use_logits)
        self.path = tuple(path)
        self.output_index = output_index

    def verify(self, inputs: Sequence[np.ndarray], path: Optional[LayerPath] = None) -> None:
        super().verify(inputs, path or self.path)

    def run(self, inputs: Sequence[tf.Tensor], code: tf.Tensor) -> ProbeResult:
        """Traceable: one forward pass and the target gradients at the layer."""
        with tf.GradientTape(watch_accessed_variables=False, persistent=int(code.shape[1]) > 1) as tape:
            fwd = self.forward(inputs, code, taps=[self.path], on_tap=tape.watch)
        grads = target_gradients(tape, fwd.scores, fwd.watched[0], f"layer {path_name(self.path)!r}", self.model_name)
        return ProbeResult(
            fwd.tapped[0], as_float32(grads), fwd.outputs[self.output_index], fwd.labels, fwd.reported
        )


def _check_class_axis(shape: tuple, model_name: str) -> None:
    if len(shape) != 2:
        raise ValueError(
            f"model {model_name!r} has output shape {tuple(shape)}; class targets need a "
            "(batch, classes) output. Pick the classifier output with output_index=."
        )


def compiled(fn: Callable, input_specs: Sequence[tf.TensorSpec], targets: int) -> Callable:
    """``tf.function`` of ``fn(inputs, code)`` with a fixed signature: batch size and
    free dimensions stay dynamic, so repeated calls never retrace."""
    signature = [list(input_specs), tf.TensorSpec((None, targets), tf.int32)]
    return graph_function(fn, signature)

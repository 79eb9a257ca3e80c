"""The one forward + backward pass every gradient CAM method needs.

``LayerProbe(model, path)(inputs, code)`` runs the model once on a batch, taps the
activations ``A`` of the layer at ``path``, selects the target scores ``S[n, t]`` and
differentiates them with respect to ``A`` (backward only down to the layer):

    A : (N, *s, C)         activations of the explained layer
    g : (N, T, *s, C)      dS[n, t] / dA[n]   (a batch Jacobian over the T targets)
    outputs : (N, K)       the model's output, as the model returns it
    classes : (N, T)       resolved class indices
    scores : (N, T)        outputs[n, classes[n, t]]

The differentiated score is the model output as it is, or (``use_logits=True``) the
class score before a final softmax/sigmoid, read without changing the model: the last
layer is called through a shallow copy whose activation is linear (it shares the
original's variables), or an ``Activation``/``Softmax`` output layer is skipped.

The probe is traceable; callers wrap it in ``tf.function``. It holds the model only
through a weak reference so cached probes never keep a model alive.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from .graph import GraphRunner, LayerPath, _call_inference, is_container, is_graph_model
from .layers import path_name
from .targets import decode_targets, gather_scores

_SQUASHING = ("softmax", "sigmoid")


@dataclass
class ProbeResult:
    activations: tf.Tensor
    gradients: Optional[tf.Tensor]
    outputs: tf.Tensor
    classes: tf.Tensor
    scores: tf.Tensor


def _activation_name(fn: object) -> str:
    return getattr(fn, "__name__", "") if fn is not None else ""


def _producing_path(model: keras.Model, output_index: int) -> LayerPath:
    """Path to the layer that produces ``model.outputs[output_index]``. For a
    subclassed ``model`` that is its last layer: the probe explains one only after
    :meth:`LayerProbe.verify` checked that its ``call`` chains its layers."""
    path: LayerPath = ()
    current = model
    index = output_index
    while True:
        if isinstance(current, keras.Sequential) and getattr(current, "_functional", None) is None:
            layer = current.layers[-1]
        elif current is model and not is_graph_model(model) and model.layers:
            layer = current.layers[-1]
        elif is_graph_model(current):
            history = current.outputs[index]._keras_history
            layer = history[0]
        else:
            return path
        path += (layer,)
        if not is_container(layer):
            return path
        current, index = layer, 0


def final_squashing(model: keras.Model, output_index: int = 0) -> Tuple[Optional[LayerPath], str]:
    """The output layer's path and its squashing activation ('softmax', 'sigmoid' or '')."""
    path = _producing_path(model, output_index)
    if not path:
        return None, ""
    layer = path[-1]
    if isinstance(layer, keras.layers.Softmax):
        return path, "softmax"
    name = _activation_name(getattr(layer, "activation", None))
    return (path, name) if name in _SQUASHING else (path, "")


class _LinearCall:
    """Calls a layer as if its activation were linear, via a shallow copy that
    shares the layer's variables; the user's layer is never modified."""

    def __init__(self, layer: keras.layers.Layer) -> None:
        self.squash = layer.activation if not isinstance(layer, keras.layers.Softmax) else layer
        if isinstance(layer, (keras.layers.Activation, keras.layers.Softmax)):
            self.linear = None
        else:
            # Not copy.copy: Keras layers pickle themselves through the saving
            # library, which would give a deep copy with its own (stale) variables.
            clone = object.__new__(type(layer))
            clone.__dict__.update(layer.__dict__)
            object.__setattr__(clone, "activation", keras.activations.linear)
            self.linear = clone

    def __call__(self, layer: keras.layers.Layer, *args, **kwargs):
        if self.linear is None:
            return args[0]
        return _call_inference(self.linear, args, kwargs)


class LayerProbe:
    """Forward to the model's output, backward to one layer, for a batch.

    Parameters
    ----------
    model : keras.Model
    path : LayerPath
        The explained layer (see :func:`eli5_keras.backend.layers.resolve_layer`).
    use_logits : bool
        Differentiate the class score before a final softmax/sigmoid (Grad-CAM paper).
        False: differentiate the model's output as it is (eli5's numbers).
    output_index : int
        Which model output holds the class scores.
    """

    def __init__(
        self,
        model: keras.Model,
        path: LayerPath,
        use_logits: bool = True,
        output_index: int = 0,
    ) -> None:
        self._model = weakref.ref(model)
        self.model_name = model.name
        self.path = tuple(path)
        self.output_index = output_index
        self.use_logits = use_logits
        self.logit_path, self.squashing = final_squashing(model, output_index)
        self._linear = _LinearCall(self.logit_path[-1]) if (use_logits and self.squashing) else None
        self._verified = not any(
            is_container(layer) and not is_graph_model(layer) for layer in (model,) + self.path[:-1]
        )

    @property
    def model(self) -> keras.Model:
        model = self._model()
        if model is None:
            raise ReferenceError("the model of this explainer has been deleted.")
        return model

    def _runner(self) -> GraphRunner:
        overrides = {self.logit_path: self._linear} if self._linear is not None else {}
        return GraphRunner(self.model, taps=[self.path], overrides=overrides)

    def verify(self, inputs: Sequence[np.ndarray]) -> None:
        """For a path through a subclassed model, check once (eagerly, on a couple of
        examples) that replaying its layers as a chain reproduces ``model(x)``."""
        if self._verified:
            return
        sample = [tf.convert_to_tensor(x[:2]) for x in inputs]
        try:
            _, replay = GraphRunner(self.model, taps=[self.path])(sample)
            expected = keras.tree.flatten(self.model(sample if len(sample) > 1 else sample[0], training=False))
            same = len(replay) == len(expected) and all(
                np.allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5) for a, b in zip(replay, expected)
            )
        except Exception as e:  # the replay itself may fail on a non-chain call()
            same, reason = False, f" ({type(e).__name__}: {e})"
        else:
            reason = ""
        if not same:
            raise ValueError(
                f"cannot reach layer {path_name(self.path)!r} in model {self.model_name!r}: it is inside a "
                "subclassed model whose call() is not a plain chain of its layers, so its activations "
                f"cannot be read without changing the model{reason}. Build the model functionally "
                "(keras.Model(inputs, outputs)) or pass a layer of a functional/sequential part."
            )
        self._verified = True

    def run(self, inputs: Sequence[tf.Tensor], code: tf.Tensor, with_gradients: bool = True) -> ProbeResult:
        """Traceable: one forward pass, and the batch Jacobian of the T target scores
        with respect to the layer's activations when ``with_gradients``."""
        runner = self._runner()
        several = int(code.shape[1]) > 1
        with tf.GradientTape(watch_accessed_variables=False, persistent=several) as tape:
            tapped, outs = runner(inputs, on_tap=tape.watch if with_gradients else None)
            activations = tapped[0]
            raw = outs[self.output_index]
            if self._linear is not None:
                logits = raw
                outputs = self._linear.squash(logits)
            else:
                logits = outputs = raw
            _check_class_axis(outputs, self.model_name)
            classes = decode_targets(code, outputs)
            selected = gather_scores(logits, classes)
            first = selected[:, :1] if several else selected
        grads = None
        if with_gradients:
            # tape.gradient is None when the scores do not depend on the layer;
            # batch_jacobian would silently return zeros, so it is only asked after.
            grads = tape.gradient(first, activations)
            if grads is not None:
                if several:
                    grads = tape.batch_jacobian(selected, activations, experimental_use_pfor=True)
                else:
                    grads = grads[:, None]
            if grads is None:
                raise ValueError(
                    f"the target score of model {self.model_name!r} does not depend on layer "
                    f"{path_name(self.path)!r} (gradient is None); choose a layer before the output."
                )
        return ProbeResult(activations, grads, outputs, classes, gather_scores(outputs, classes))


def _check_class_axis(outputs: tf.Tensor, model_name: str) -> None:
    if outputs.shape.rank != 2:
        raise ValueError(
            f"model {model_name!r} has output shape {tuple(outputs.shape)}; class targets need a "
            "(batch, classes) output. Pick the classifier output with output_index=."
        )


def compiled(fn: Callable, input_specs: Sequence[tf.TensorSpec], targets: int) -> Callable:
    """``tf.function`` of ``fn(inputs, code)`` with a fixed signature: batch size and
    free dimensions stay dynamic, so repeated calls never retrace."""
    signature = [list(input_specs), tf.TensorSpec((None, targets), tf.int32)]
    return tf.function(fn, input_signature=signature, reduce_retracing=False)

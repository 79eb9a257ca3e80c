"""Forward passes and target gradients: the primitives every method is written on.

:class:`ModelProbe` runs the model's own graph (see :mod:`.graph`) on a batch, taps
layers, lets callers override layer calls, selects the target scores ``S[n, t]`` with
a :mod:`eli5_keras.targets` callable and differentiates them with respect to a layer's
activations or an input:

    A : (N, *s, C)         activations of the explained layer
    g : (N, T, *s, C)      dS[n, t] / dA[n]   (a batch Jacobian over the T targets)
    labels : (N, T)        the targets' labels (e.g. resolved class indices)
    scores : (N, T)        the target scores S[n, t]

The eli5 functions use the class-target, one-layer case,
:class:`eli5_keras.compat.probe.LayerProbe`.

The differentiated score is the model output as it is, or (``use_logits=True``) the
class score before a final softmax/sigmoid, read without changing the model: the last
layer is called through a shallow copy whose activation is linear (it shares the
original's variables), or an ``Activation``/``Softmax`` output layer is skipped.

The probe is traceable; callers wrap it in ``tf.function``. It holds the model only
through a weak reference so cached probes never keep a model alive.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from .cache import ModelRef
from .graph import GraphRunner
from .layers import path_name
from .topology import (
    LayerPath,
    activation_name,
    call_inference,
    shallow_copy,
    is_container,
    is_graph_model,
    model_outputs,
    producing_path,
)

_SQUASHING = ("softmax", "sigmoid")


@dataclass
class Forward:
    """One forward pass: ``tapped`` layer outputs, ``labels (N, T)``, the scores to
    differentiate ``(N, T)`` (logits when explaining logits), the same scores on the
    model's outputs as it returns them (``reported``), and those ``outputs``.

    ``tapped`` and the scores are float32 whatever the model computes in (a
    ``mixed_float16`` layer outputs float16; explanation maths in float16 loses
    precision and ``eigh``/``qr`` have no float16 kernels); ``watched`` are the tapped
    tensors as the layers produced them, the ones to differentiate with respect to."""

    tapped: list
    labels: tf.Tensor
    scores: tf.Tensor
    reported: tf.Tensor
    outputs: list
    watched: list


def as_float32(tensor: tf.Tensor) -> tf.Tensor:
    """Half-precision floats (float16, bfloat16) as float32; anything else as it is."""
    return tf.cast(tensor, tf.float32) if tensor.dtype in (tf.float16, tf.bfloat16) else tensor


def final_squashing(model: keras.Model, output_index: int = 0) -> Tuple[Optional[LayerPath], str]:
    """The output layer's path and its squashing activation ('softmax', 'sigmoid' or '')."""
    path = producing_path(model, output_index)
    if not path:
        return None, ""
    layer = path[-1]
    if isinstance(layer, keras.layers.Softmax):
        return path, "softmax"
    name = activation_name(layer)
    return (path, name) if name in _SQUASHING else (path, "")


class LinearCall:
    """Calls a layer as if its activation were linear, via a shallow copy that
    shares the layer's variables; the user's layer is never modified."""

    def __init__(self, layer: keras.layers.Layer) -> None:
        self.squash = layer.activation if not isinstance(layer, keras.layers.Softmax) else layer
        if isinstance(layer, (keras.layers.Activation, keras.layers.Softmax)):
            self.linear = None
        else:
            clone = shallow_copy(layer)
            object.__setattr__(clone, "activation", keras.activations.linear)
            self.linear = clone

    def __call__(self, layer: keras.layers.Layer, *args, **kwargs):
        if self.linear is None:
            return args[0]
        return call_inference(self.linear, args, kwargs)


class ModelProbe:
    """Forward passes of one model for one target, and gradients of its scores.

    Every method is written on these traceable primitives; callers compile them.

    Parameters
    ----------
    model : keras.Model
    target : eli5_keras.targets.Target
        Bound to the model's outputs by the caller.
    use_logits : bool
        Differentiate scores before a final softmax/sigmoid (the papers' class score
        ``y^c``), read through :class:`LinearCall`; False: the outputs as they are.
    views : dict, optional
        ``{path: TokenGrid}`` (:mod:`.tokens`): a token-sequence layer read as a patch
        grid. Its tapped activations and gradients come as ``(N, h, w, D)`` /
        ``(N, T, h, w, D)``, and an override of it may return a grid, which is turned
        back into the layer's tokens (prefix tokens from the layer's own output).

    The probe holds the model through a weak reference (cached probes never keep a
    model alive).
    """

    def __init__(
        self, model: keras.Model, target: Any, use_logits: bool = True, views: Optional[Dict[LayerPath, Any]] = None
    ) -> None:
        self._model = ModelRef(model)
        self.views = dict(views or {})
        self.model_name = model.name
        self.target = target
        self.use_logits = use_logits
        n_outputs = len(model_outputs(model))
        squashing = [final_squashing(model, i) for i in range(n_outputs)]
        self.probabilities = [bool(name) for _, name in squashing]
        self._linear = {
            path: LinearCall(path[-1]) for path, name in squashing if use_logits and name and path
        }
        self._linearised = [bool(use_logits and name and path) for path, name in squashing]
        self._squash_by_output = [
            self._linear[path].squash if linear else None
            for (path, _), linear in zip(squashing, self._linearised)
        ]
        self._verified: set = set()

    def logit_override(self, path: Any) -> Optional["LinearCall"]:
        """The override reading the final layer at ``path`` before its softmax/sigmoid
        (``use_logits=True``), or None when the probe reads that layer as it is."""
        return self._linear.get(path)

    @property
    def model(self) -> keras.Model:
        return self._model()

    # -- forward -----------------------------------------------------------------------
    def forward(
        self,
        inputs: Sequence[tf.Tensor],
        data: tf.Tensor,
        taps: Sequence[LayerPath] = (),
        overrides: Optional[Dict[LayerPath, Any]] = None,
        on_tap: Optional[Callable[[Any], Any]] = None,
    ) -> Forward:
        """One forward pass: tapped layer outputs and the target's scores.

        ``overrides`` replace layer calls (``fn(layer, *args, **kwargs)``), e.g. to
        feed modified activations onward; ``on_tap`` sees each tapped tensor as it is
        produced (``tape.watch``).
        """
        overrides = {path: self._through_view(path, fn) for path, fn in (overrides or {}).items()}
        runner = GraphRunner(self.model, taps=taps, overrides={**self._linear, **overrides})
        tapped, outs = runner(list(inputs), on_tap=on_tap)
        viewed = [self.views[path](t) if path in self.views else t for path, t in zip(taps, tapped)]
        reported = [
            squash(o) if squash is not None else o for o, squash in zip(outs, self._squash_by_output)
        ]
        differentiable_probs = [p and not lin for p, lin in zip(self.probabilities, self._linearised)]
        labels, scores = self.target(outs, data, differentiable_probs)
        scores = as_float32(scores)
        if any(self._linearised):
            _, reported_scores = self.target(reported, data, self.probabilities)
            reported_scores = as_float32(reported_scores)
        else:
            reported_scores = scores
        return Forward([as_float32(t) for t in viewed], labels, scores, reported_scores, reported, tapped)

    def _through_view(self, path: LayerPath, override: Callable[..., Any]) -> Callable[..., Any]:
        """An override of a layer read as a grid, returning the grid's tokens."""
        view = self.views.get(path)
        if view is None:
            return override

        def call(layer, *args, **kwargs):
            tokens = call_inference(layer, args, kwargs)
            return tf.cast(view.restore(override(layer, *args, **kwargs), tokens), tokens.dtype)

        return call

    # -- gradients ---------------------------------------------------------------------
    def layer_gradients(
        self, inputs: Sequence[tf.Tensor], data: tf.Tensor, path: LayerPath
    ) -> Tuple[tf.Tensor, tf.Tensor, Forward]:
        """Activations ``A (N, *s, C)`` of the layer at ``path`` and the target
        gradients ``g (N, T, *s, C) = dS[n, t] / dA[n]`` (backward stops at the layer)."""
        several = self.target.num_targets > 1
        with tf.GradientTape(watch_accessed_variables=False, persistent=several) as tape:
            fwd = self.forward(inputs, data, taps=[path], on_tap=tape.watch)
        grads = target_gradients(tape, fwd.scores, fwd.watched[0], f"layer {path_name(path)!r}", self.model_name)
        if path in self.views:
            grads = self.views[path].gradients(grads)
        return fwd.tapped[0], as_float32(grads), fwd

    def input_gradients(
        self,
        inputs: Sequence[tf.Tensor],
        data: tf.Tensor,
        input_index: int = 0,
        overrides: Optional[Dict[LayerPath, Any]] = None,
    ) -> Tuple[tf.Tensor, Forward]:
        """Target gradients with respect to input ``input_index``: ``(N, T, *S, C)``.
        ``overrides`` change layer calls (e.g. gradient rules at ReLUs)."""
        several = self.target.num_targets > 1
        inputs = list(inputs)
        with tf.GradientTape(watch_accessed_variables=False, persistent=several) as tape:
            tape.watch(inputs[input_index])
            fwd = self.forward(inputs, data, overrides=overrides)
        grads = target_gradients(tape, fwd.scores, inputs[input_index], f"input {input_index}", self.model_name)
        return as_float32(grads), fwd

    def verify(self, inputs: Sequence[np.ndarray], path: Optional[LayerPath] = None) -> None:
        """Check once, eagerly on a couple of examples, that what the runner computes
        for a subclassed model is the model: its layers replayed as a chain to reach
        ``path`` (a tap inside), and the class scores read before a final
        softmax/sigmoid (its last layer called with a linear activation). The outputs
        of that run, squashed again, must equal ``model(x)``; otherwise the method
        would explain another function, and this raises instead.

        Overrides the methods add (ReLU rules) need no check: a subclassed model or
        custom layer with nothing tapped inside runs its own ``call``
        (:func:`~eli5_keras.backend.topology.call_intercepted`)."""
        model = self.model
        containers = (model,) + tuple(path[:-1] if path else ())
        opaque = [c for c in containers if is_container(c) and not is_graph_model(c)]
        if not opaque:
            return
        key = tuple(id(x) for x in path or ())
        if key in self._verified:
            return
        sample = [tf.convert_to_tensor(x[:2]) for x in inputs]
        try:
            _, outs = GraphRunner(model, taps=[path] if path else [], overrides=self._linear)(sample)
            replay = [squash(o) if squash is not None else o for o, squash in zip(outs, self._squash_by_output)]
            expected = keras.tree.flatten(model(sample if len(sample) > 1 else sample[0], training=False))
            same = len(replay) == len(expected) and all(
                np.allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5) for a, b in zip(replay, expected)
            )
        except Exception as e:  # the replay itself may fail on a non-chain call()
            same, reason = False, f" ({type(e).__name__}: {e})"
        else:
            reason = ""
        if not same:
            raise ValueError(self._refusal(path, opaque[-1], reason))
        self._verified.add(key)

    def _refusal(self, path: Optional[LayerPath], container: keras.Model, reason: str) -> str:
        """What cannot be computed in subclassed model ``container``, and the fix."""
        if path:
            return (
                f"cannot reach layer {path_name(path)!r} in model {self.model_name!r}: it is inside the "
                f"subclassed model {container.name!r}, whose call() is not a plain chain of its layers, so "
                f"its activations cannot be read without changing the model{reason}. Build that model "
                "functionally (keras.Model(inputs, outputs) wiring the same layer instances, which shares "
                "their weights), or pass a layer of a functional/Sequential part; methods on the input "
                "(saliency, integrated_gradients, guided_backprop, occlusion, rise, ...) run on the model as it is."
            )
        return (
            f"cannot read the scores before the final softmax/sigmoid of the subclassed model "
            f"{self.model_name!r}: its call() does not end with its last layer "
            f"{container.layers[-1].name if container.layers else ''!r}{reason}. Pass use_logits=False to "
            "explain its output as it is, or build the model functionally (keras.Model(inputs, outputs) "
            "wiring the same layer instances, which shares their weights)."
        )


def target_gradients(
    tape: tf.GradientTape, scores: tf.Tensor, wrt: tf.Tensor, what: str, model_name: str
) -> tf.Tensor:
    """``d scores[n, t] / d wrt[n]`` as ``(N, T, *wrt.shape[1:])``: one backward pass for
    T = 1, a vectorised batch Jacobian (one forward pass) for T > 1.

    Raises ValueError when the scores do not depend on ``wrt`` (a Jacobian would
    silently be zeros).
    """
    several = scores.shape[1] is None or int(scores.shape[1]) > 1
    if several:
        with tape:  # the persistent tape records the slice too
            first = scores[:, :1]
    else:
        first = scores
    first = tape.gradient(first, wrt)
    if first is None:
        raise ValueError(
            f"the target score of model {model_name!r} does not depend on {what} "
            "(gradient is None); choose a layer before the output."
        )
    if not several:
        return first[:, None]
    return tape.batch_jacobian(scores, wrt, experimental_use_pfor=True)

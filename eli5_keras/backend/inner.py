"""Layers inside custom layers: their calls, shapes and inputs, read by tracing once.

A custom layer (KerasHub's ``ViTEncoder``, which loops over ``ViTEncoderBlock`` layers
that call ``LayerNormalization`` and ``MultiHeadAttention``) has no graph nodes inside:
its sub-layers have no symbolic ``output``, and which of them feeds which is Python
code. :func:`inner_calls` finds out by tracing the model once through the runner (a
``tf.function`` concrete function on the inputs' specs; nothing is computed), with
every layer inside a custom layer called through a recording override, so the result
is exactly what taps and overrides on those paths will see: each sub-layer's output
shape, and which recorded sub-layer produced its first argument. Nothing is patched
(the runner's :func:`~.topology.call_intercepted`); results are cached per model.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from .cache import cached
from .graph import GraphRunner
from .topology import LayerPath, call_inference, is_container, is_custom_layer, model_inputs, walk


@dataclass(frozen=True)
class InnerCall:
    """The first call of a layer inside a custom layer: its output shape (batch axis
    ``None``), and the path of the recorded sub-layer whose output is its first
    argument (None when that came from an operation, or from outside the custom
    layer); ``reads_input``: that argument is a model input as it was fed."""

    path: LayerPath
    shape: Optional[tuple]
    producer: Optional[LayerPath]
    reads_input: bool = False


def inside_custom_layer(path: Sequence[Any]) -> bool:
    """The path goes through a custom layer (:func:`~.topology.is_custom_layer`)."""
    return any(is_custom_layer(layer) for layer in path[:-1])


def inner_paths(model: keras.Model, custom: bool = False) -> List[LayerPath]:
    """Paths of the layers inside custom layers of ``model`` (any depth) that are
    neither containers nor custom layers themselves (with ``custom``: those that are
    custom layers, such as KerasHub's ``ViTEncoderBlock``): the layers the runner can
    tap and override there."""
    return [
        path for path in walk(model, into_layers=True)
        if isinstance(path[-1], keras.layers.Layer) and inside_custom_layer(path)
        and not is_container(path[-1]) and is_custom_layer(path[-1]) == custom
    ]


def inner_calls(model: keras.Model) -> Dict[LayerPath, InnerCall]:
    """``{path: InnerCall}`` for the layers of :func:`inner_paths` that the model's
    call reaches, in the order of their first calls, then the custom layers inside
    custom layers (tapped: their shapes only); ``{}`` when the model has none or
    cannot be traced on its input specs. Cached per model."""
    return cached(model, ("inner_calls",), lambda: _trace(model))


def _trace(model: keras.Model) -> Dict[LayerPath, InnerCall]:
    paths = inner_paths(model)
    if not paths:
        return {}
    custom = inner_paths(model, custom=True)
    traced = _run_symbolically(model, paths, custom)
    if traced is None and custom:  # a custom layer that is tracked but never called
        custom = []
        traced = _run_symbolically(model, paths, custom)
    if traced is None:  # a model that does not trace on its specs: no inner layers known
        return {}
    records, fed, tapped = traced
    calls: Dict[LayerPath, InnerCall] = {}
    for index, (path, first, out) in enumerate(records):
        if path in calls:
            continue
        # the first earlier call that returned this very tensor (a dropout at inference
        # returns its input: the layer before it counts)
        producer = next((p for p, _, o in records[:index] if o is first and first is not None), None)
        calls[path] = InnerCall(path, _shape(out), producer, any(first is x for x in fed))
    for path, out in zip(custom, tapped):
        calls[path] = InnerCall(path, _shape(out), None)
    return calls


def _shape(output: Any) -> Optional[tuple]:
    flat = keras.tree.flatten(output)
    return tuple(flat[0].shape) if len(flat) == 1 else None


def _run_symbolically(
    model: keras.Model, paths: List[LayerPath], taps: List[LayerPath]
) -> Optional[Tuple[List[Tuple[LayerPath, Any, Any]], List[Any], List[Any]]]:
    """Trace the runner with a recording override at each of ``paths`` and ``taps``:
    ``(records (path, first argument, output) in call order, the fed inputs, the
    tapped outputs)``, or None when it does not trace."""
    records: List[Tuple[LayerPath, Any, Any]] = []
    fed: List[Any] = []
    tapped: List[Any] = []

    def recorder(path: LayerPath):
        def call(layer, *args, **kwargs):
            out = call_inference(layer, args, kwargs)
            records.append((path, args[0] if args else None, out))
            return out

        return call

    runner = GraphRunner(model, taps=taps, overrides={path: recorder(path) for path in paths})

    def run(*xs):
        fed.extend(xs)
        outs, outputs = runner(list(xs))
        tapped.extend(outs)
        return outputs

    specs = [
        tf.TensorSpec((None,) + tuple(x.shape[1:]), keras.backend.standardize_dtype(x.dtype))
        for x in model_inputs(model)
    ]
    try:
        tf.function(run, autograph=False).get_concrete_function(*specs)
    except Exception:  # not traceable on its specs, or a tap never reached
        return None
    return records, fed, tapped

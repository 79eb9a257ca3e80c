"""Run a Keras model's own graph with taps on inner layers.

The usual way to read an inner layer (``keras.Model(model.inputs, layer.output)``)
fails with "Graph disconnected" as soon as the layer sits inside a nested model
(a transfer-learning backbone used as a layer). Instead we execute the model's
graph node by node, as ``Functional.call`` does, and descend into a nested model
only when the path to a tapped layer goes through it. Nothing is cloned, rebuilt or
patched: every layer is called as it is, with ``training=False``.

Two kinds of interception, both keyed by a *layer path* (a tuple of layers from the
outermost container down to the layer):

* a **tap** records the output of the layer at the end of the path;
* an **override** replaces the call of that layer by another callable (used to
  read the class scores before a final softmax/sigmoid).
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Sequence, Tuple

import keras

LayerPath = Tuple[keras.layers.Layer, ...]
Override = Callable[..., Any]


def is_container(layer: Any) -> bool:
    """True for a Keras model used as a layer (Functional, Sequential, subclassed)."""
    return isinstance(layer, keras.Model)


def is_graph_model(model: Any) -> bool:
    """True when ``model``'s layers are wired in a graph we can walk."""
    if isinstance(model, keras.Sequential):
        return True
    return isinstance(model, keras.Model) and hasattr(model, "_run_through_graph") and bool(
        getattr(model, "_nodes_by_depth", None)
    )


def model_inputs(model: keras.Model) -> list:
    """The model's symbolic inputs (each with ``shape``, ``dtype`` and ``name``).

    Functional and Sequential models have ``model.inputs``. A subclassed model has
    none; once built by a call on one tensor, its input is described by the shape it
    was built with, batch axis free.

    Raises
    ------
    ValueError
        A subclassed model that is not built (or was built on several inputs).
    """
    inputs = getattr(model, "inputs", None)
    if inputs:
        return list(inputs)
    shapes = list((getattr(model, "_build_shapes_dict", None) or {}).values())
    if (
        getattr(model, "built", False)
        and len(shapes) == 1
        and isinstance(shapes[0], (tuple, list))
        and all(d is None or isinstance(d, int) for d in shapes[0])
    ):
        dtype = getattr(model, "input_dtype", None) or keras.backend.floatx()
        return [keras.KerasTensor((None,) + tuple(shapes[0][1:]), dtype=dtype, name="input")]
    raise ValueError(
        f"model {model.name!r} has no known input shape: call a subclassed model on an example "
        "(one input tensor) before explaining it, or build it functionally."
    )


def model_outputs(model: keras.Model) -> list:
    """The model's symbolic outputs, flat (computed from :func:`model_inputs` for a
    subclassed model, without running or changing it)."""
    outputs = getattr(model, "outputs", None)
    if outputs:
        return keras.tree.flatten(outputs)
    specs = model_inputs(model)
    return keras.tree.flatten(model.compute_output_spec(specs[0] if len(specs) == 1 else specs))


def _call_inference(layer: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
    if getattr(layer, "_call_has_training_arg", False):
        kwargs = dict(kwargs, training=False)
    return layer(*args, **kwargs)


class GraphRunner:
    """Execute ``model`` with taps and overrides along layer paths.

    Parameters
    ----------
    model : keras.Model
        Functional or Sequential model (possibly containing nested models), or a
        subclassed model whose ``call`` is the plain chain of its ``layers``.
    taps : sequence of LayerPath
        Paths whose last layer's output is recorded, in order.
    overrides : dict LayerPath -> callable
        ``fn(layer, *args, **kwargs)`` called instead of the path's last layer.
    """

    def __init__(
        self,
        model: keras.Model,
        taps: Sequence[LayerPath] = (),
        overrides: Dict[LayerPath, Override] | None = None,
    ) -> None:
        self.model = model
        self.taps = [tuple(p) for p in taps]
        self.overrides = {tuple(k): v for k, v in (overrides or {}).items()}

    def __call__(
        self, inputs: Sequence[Any], on_tap: Callable[[Any], Any] | None = None
    ) -> Tuple[list, list]:
        """Run on ``inputs`` (a list, one tensor per model input). ``on_tap(tensor)`` is
        called on each tapped output as soon as it exists (e.g. ``tape.watch``).

        Returns
        -------
        (tapped, outputs) : (list, list)
            The tapped tensors, one per tap path, and the model's outputs (flat list).
        """
        records: Dict[LayerPath, Any] = {}
        outputs = self._run(self.model, (), list(inputs), records, on_tap)
        missing = [p for p in self.taps if p not in records]
        if missing:
            names = ", ".join("/".join(layer.name for layer in p) for p in missing)
            raise ValueError(
                f"layer {names!r} was not reached when running model {self.model.name!r}: "
                "it is not on the path from the model's inputs to its outputs."
            )
        return [records[p] for p in self.taps], keras.tree.flatten(outputs)

    # -- internals -------------------------------------------------------------------
    def _run(
        self,
        model: keras.Model,
        prefix: LayerPath,
        inputs: list,
        records: Dict[LayerPath, Any],
        on_tap: Callable[[Any], Any] | None,
    ) -> Any:
        """Run ``model`` (reached at ``prefix``) on ``inputs``; tapped outputs go into
        ``records`` and to ``on_tap``. Everything per call is an argument: the runner
        holds no state between calls."""
        def call_layer(layer: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
            path = prefix + (layer,)
            if path in self.overrides:
                out = self.overrides[path](layer, *args, **kwargs)
            elif is_container(layer) and any(
                len(p) > len(path) for p in self.taps + list(self.overrides) if p[: len(path)] == path
            ):
                nested_inputs = keras.tree.flatten((args, kwargs.get("inputs")))
                nested_inputs = [x for x in nested_inputs if x is not None]
                out = self._run(layer, path, nested_inputs, records, on_tap)
            else:
                out = _call_inference(layer, args, kwargs)
            if path in self.taps and path not in records:
                records[path] = out
                if on_tap is not None:
                    on_tap(out)
            return out

        if isinstance(model, keras.Sequential) and getattr(model, "_functional", None) is None:
            x = inputs[0] if len(inputs) == 1 else inputs
            for layer in model.layers:
                x = call_layer(layer, (x,), {})
            return x
        if isinstance(model, keras.Sequential):
            model = model._functional
        if hasattr(model, "_run_through_graph") and getattr(model, "_nodes_by_depth", None):
            def operation_fn(op: Any) -> Callable[..., Any]:
                return lambda *args, **kwargs: call_layer(op, args, kwargs)

            return model._run_through_graph(inputs, operation_fn=operation_fn)
        # Subclassed model: its call() is opaque; replay its layers as a chain.
        # The caller verifies once that the replay reproduces model(x).
        x = inputs[0] if len(inputs) == 1 else inputs
        for layer in model.layers:
            x = call_layer(layer, (x,), {})
        return x

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

How each container is wired (chain, graph or opaque) and how a graph is run node by
node are read from :mod:`.topology`, the one module that touches Keras' private graph
structures.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Sequence, Tuple

import keras

from .topology import (
    LayerPath,
    call_inference,
    container_kind,
    is_container,
    is_graph_model,
    model_inputs,
    model_outputs,
    operations,
    run_graph,
)

__all__ = ["GraphRunner", "LayerPath", "Override", "is_container", "is_graph_model", "model_inputs", "model_outputs"]

Override = Callable[..., Any]


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
                out = call_inference(layer, args, kwargs)
            if path in self.taps and path not in records:
                records[path] = out
                if on_tap is not None:
                    on_tap(out)
            return out

        if container_kind(model) == "graph":
            def operation_fn(op: Any) -> Callable[..., Any]:
                return lambda *args, **kwargs: call_layer(op, args, kwargs)

            return run_graph(model, inputs, operation_fn)
        # A chain; or a subclassed model, whose call() is opaque: its layers replayed as
        # a chain (the caller verifies once that the replay reproduces model(x)).
        x = inputs[0] if len(inputs) == 1 else inputs
        for layer in operations(model):
            x = call_layer(layer, (x,), {})
        return x

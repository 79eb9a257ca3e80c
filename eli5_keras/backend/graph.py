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
  read the class scores before a final softmax/sigmoid, and for the ReLU rules).

How a container on a path is entered depends on what lies beyond it:

* a functional or Sequential model: run node by node;
* a subclassed model (opaque ``call``) with a tap beneath: its ``layers`` replayed as a
  chain. That is the model only when its ``call`` is that chain, which
  :meth:`~eli5_keras.backend.probe.ModelProbe.verify` checks once, eagerly, before any
  compiled call (and refuses otherwise);
* a subclassed model with only overrides beneath, or a custom layer (a transformer
  block, KerasHub's ``ViTEncoder``) with taps or overrides beneath: called for real,
  its own ``call`` run as written, with the calls of its sub-layers rerouted for this
  call only (:func:`~.topology.call_intercepted`: a shallow per-call copy whose
  attributes point to proxies; nothing is patched, so concurrent runs on one model are
  independent). Its computation is never replaced by a replay. A tap on a sub-layer
  that the ``call`` uses several times records its first call;
* a subclassed model with nothing beneath, and the model itself when no path enters
  it: called as it is, ``model(x, training=False)``.

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
    call_intercepted,
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
        Functional or Sequential model (possibly containing nested models and custom
        layers), or a subclassed model (taps inside it need a ``call`` that is the
        plain chain of its ``layers``; see the module doc).
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
    def _beneath(self, paths: Sequence[LayerPath], path: LayerPath) -> bool:
        """Some path in ``paths`` goes further than ``path`` through it."""
        return any(len(p) > len(path) and p[: len(path)] == path for p in paths)

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
        def call_layer(layer: Any, args: Sequence[Any], kwargs: Dict[str, Any], within: LayerPath = prefix) -> Any:
            path = within + (layer,)
            if path in self.overrides:
                out = self.overrides[path](layer, *args, **kwargs)
            elif is_container(layer) and (
                self._beneath(self.taps, path) or (is_graph_model(layer) and self._beneath(list(self.overrides), path))
            ):
                nested_inputs = keras.tree.flatten((args, kwargs.get("inputs")))
                nested_inputs = [x for x in nested_inputs if x is not None]
                out = self._run(layer, path, nested_inputs, records, on_tap)
            elif self._beneath(self.taps + list(self.overrides), path):  # a subclassed model or a custom layer
                out = call_intercepted(layer, args, kwargs, lambda sub, a, k: call_layer(sub, a, k, path))
            else:
                out = call_inference(layer, args, kwargs)
            if path in self.taps and path not in records:
                records[path] = out
                if on_tap is not None:
                    on_tap(out)
            return out

        kind = container_kind(model)
        if kind == "graph":
            def operation_fn(op: Any) -> Callable[..., Any]:
                return lambda *args, **kwargs: call_layer(op, args, kwargs)

            return run_graph(model, inputs, operation_fn)
        x = inputs[0] if len(inputs) == 1 else inputs
        if kind == "opaque" and not self._beneath(self.taps, prefix):
            # Nothing to read inside: the subclassed model's own call(), its sub-layers'
            # calls rerouted where an override applies.
            if not self._beneath(list(self.overrides), prefix):
                return call_inference(model, (x,), {})
            return call_intercepted(model, (x,), {}, lambda sub, a, k: call_layer(sub, a, k))
        # A chain; or a subclassed model with a tap inside, replayed as the chain of its
        # layers (verified once by the probe to reproduce model(x)).
        for layer in operations(model):
            x = call_layer(layer, (x,), {})
        return x

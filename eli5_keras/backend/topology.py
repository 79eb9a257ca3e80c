"""Keras graph topology: the one module that reads Keras' private graph structures.

Everything eli5-keras needs to know about how a model is wired is answered here, so
that a Keras upgrade that renames a private attribute (``_functional``,
``_nodes_by_depth``, ``_run_through_graph``, ``_keras_history``,
``node.arguments.keras_tensors``, ``_build_shapes_dict``, ``_call_has_training_arg``,
``_flatten_layers``) breaks this file and no other.

Containers (``keras.Model`` used as a layer, or the model itself) come in three kinds
(:func:`container_kind`):

* ``"chain"``: a Sequential model without a functional graph (built without an
  ``Input``): its layers applied one after the other;
* ``"graph"``: a functional model, or a Sequential model with an ``Input``: a graph of
  nodes we can walk and run node by node (:func:`run_graph`);
* ``"opaque"``: a subclassed model, whose ``call()`` is Python code. The runner
  replays its ``layers`` as a chain and checks once that the replay reproduces
  ``model(x)``; every function here treats it as a chain too.

A *layer path* is a tuple of operations from the outermost container down
(:func:`walk`); a *stack* is a path's containers, ``(model, ..., container)``, used
by :func:`successors` and :func:`predecessors` ("what follows / feeds this layer"),
which enter nested models and leave them through their outputs or inputs.

Custom layers (a ``keras.layers.Layer`` subclass holding sub-layers as attributes, such
as a grouped-convolution or transformer block; :func:`is_custom_layer`) are leaves of
:func:`walk`: their ``call`` is opaque. ``walk(..., into_layers=True)`` also lists their
:func:`tracked_sublayers`, and :func:`call_intercepted` runs such a layer (or a
subclassed model) *for real* with the calls of its sub-layers rerouted, which is how the
ReLU rules, taps (a ViT layer inside KerasHub's encoder) and the attention methods'
overrides reach layers inside them. Interception is per call and never patches anything: the layer is called through
a shallow copy made for that call (it shares the original's variables and state), whose
attributes that refer to a sub-layer (directly, or inside a list, tuple or dict
attribute) refer instead to a :class:`SublayerProxy` forwarding the call. The user's
layer, its class and Keras' ``Layer.__call__`` are untouched, and two threads calling
the same layer each build their own copy, so concurrent explainers never see each
other's interception. A sub-layer the ``call`` reaches some other way (a closure, a
module global) is called as it is; a nonlinearity applied as a function
(``tf.nn.relu(x)``, ``keras.ops.relu``) is not a layer and cannot be rerouted:
:func:`functional_ops` finds those by tracing the ``call`` once.
"""
from __future__ import annotations

import types
from typing import Any, Callable, Dict, Iterator, List, Literal, NamedTuple, Optional, Sequence, Tuple

import keras

LayerPath = Tuple[keras.layers.Layer, ...]
"""Operations from the outermost container down to one layer (or ``keras.ops`` node)."""

ContainerKind = Literal["chain", "graph", "opaque"]


# -- containers ------------------------------------------------------------------------


def is_container(layer: Any) -> bool:
    """True for a Keras model used as a layer (Functional, Sequential, subclassed)."""
    return isinstance(layer, keras.Model)


def container_kind(model: keras.Model) -> ContainerKind:
    """How ``model`` is run and walked: ``"chain"``, ``"graph"`` or ``"opaque"``.

    Parameters
    ----------
    model : keras.Model
        The model, or a model nested in one.

    Returns
    -------
    str
        ``"chain"`` for a Sequential model without a functional graph, ``"graph"`` for
        a functional model or a Sequential one with an ``Input`` (its nodes are
        walkable), ``"opaque"`` for a subclassed model (its ``call`` is Python code;
        its ``layers`` are replayed as a chain).
    """
    if isinstance(model, keras.Sequential):
        return "chain" if getattr(model, "_functional", None) is None else "graph"
    if hasattr(model, "_run_through_graph") and getattr(model, "_nodes_by_depth", None):
        return "graph"
    return "opaque"


def is_graph_model(model: Any) -> bool:
    """True when ``model``'s layers are wired in a graph or chain we can walk (any
    Sequential or functional model; False for subclassed models and plain layers)."""
    return is_container(model) and container_kind(model) != "opaque"


def _graph(container: keras.Model) -> Any:
    """The ``Function`` holding a graph container's nodes."""
    return container._functional if isinstance(container, keras.Sequential) else container


def _nodes(container: keras.Model) -> list:
    """A graph container's nodes in execution order (deepest first)."""
    by_depth = _graph(container)._nodes_by_depth
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def calls_in_graph(container: keras.Model, layer: Any) -> int:
    """How many times ``container``'s own graph calls ``layer`` (a shared layer: more
    than once); 1 for a container without a graph. Calls outside this graph (the model
    rebuilt or loaded, the layer reused in another model) are not counted, unlike the
    layer's own ``_inbound_nodes``."""
    if container_kind(container) != "graph":
        return 1
    return sum(1 for node in _nodes(container) if node.operation is layer)


def operations(container: keras.Model) -> list:
    """The operations of ``container`` in execution order: a functional model's graph
    operations (its ``InputLayer``\\ s, layers and ``keras.ops`` nodes), the layers of
    any other model (a Sequential model's without its ``InputLayer``)."""
    if container_kind(container) == "graph" and not isinstance(container, keras.Sequential):
        return list(container.operations)
    return list(container.layers)


def walk(model: keras.Model, prefix: LayerPath = (), into_layers: bool = False) -> Iterator[LayerPath]:
    """Every operation path in ``model``, in execution order, the operations of a nested
    model right after the nested model itself.

    Parameters
    ----------
    model : keras.Model
    prefix : LayerPath
        Prepended to every path (the path of ``model`` inside an outer model).
    into_layers : bool, default False
        Also list the :func:`tracked_sublayers` of custom layers (:func:`is_custom_layer`),
        at any depth, after the custom layer: paths the runner reaches by
        :func:`call_intercepted` (taps and overrides; :mod:`.inner` reads their shapes).

    Yields
    ------
    LayerPath
        ``prefix + (op,)``, then the paths inside ``op`` when it is a container (or a
        custom layer, with ``into_layers``).
    """
    for op in operations(model):
        path = prefix + (op,)
        yield path
        if is_container(op):
            yield from walk(op, path, into_layers)
        elif into_layers and is_custom_layer(op):
            yield from _walk_layer(op, path)


def _walk_layer(layer: keras.layers.Layer, prefix: LayerPath) -> Iterator[LayerPath]:
    for sub in tracked_sublayers(layer):
        path = prefix + (sub,)
        yield path
        if is_container(sub):
            yield from walk(sub, path, True)
        elif is_custom_layer(sub):
            yield from _walk_layer(sub, path)


def is_custom_layer(layer: Any) -> bool:
    """A layer defined outside Keras (not a model) that holds sub-layers: its ``call``
    is user code calling them. Keras' own composite layers (``Bidirectional``,
    ``TimeDistributed``, ``MultiHeadAttention``, recurrent layers) are not: they are
    called whole."""
    return (
        isinstance(layer, keras.layers.Layer)
        and not is_container(layer)
        and type(layer).__module__.split(".")[0] != "keras"
        and bool(tracked_sublayers(layer))
    )


def tracked_sublayers(layer: keras.layers.Layer) -> List[keras.layers.Layer]:
    """The sub-layers Keras tracks for ``layer``, direct ones only, in the order they
    were assigned (attributes, and layers inside list or dict attributes).

    For a custom layer (a transformer block, a grouped-convolution block) these are the
    layers its ``call`` may use; whether and in which order it calls them is not
    known without running it. For a subclassed model they are its ``layers``; for a
    walkable container use :func:`walk` instead. A ``keras.ops`` node has none.

    Parameters
    ----------
    layer : keras.layers.Layer

    Returns
    -------
    list of keras.layers.Layer
    """
    if not isinstance(layer, keras.layers.Layer):
        return []
    return list(layer._flatten_layers(include_self=False, recursive=False))


# -- running ---------------------------------------------------------------------------


def call_inference(layer: Any, args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
    """``layer(*args, **kwargs)`` in inference mode: ``training=False`` when the layer's
    ``call`` takes it, and in any case as the training value of Keras' call context,
    which the layers it calls inherit.

    A custom layer whose ``call`` has no ``training`` argument (KerasHub's DeepLabV3
    ``SpatialPyramidPooling``) passes none to its sub-layers; called outside a model
    call, they found no context value and ran their batch normalisation in training
    mode (batch statistics, moving averages updated: the user's model changed).
    """
    if getattr(layer, "_call_has_training_arg", False):
        kwargs = dict(kwargs, training=False)
    with _inference_context(layer):
        return layer(*args, **kwargs)


class _inference_context:
    """Keras' current call context with ``training=False`` for one layer call: a new
    context entered by ``layer`` (Keras clears it when that call returns), or the
    current one with its training value set for the call and restored after."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer

    def __enter__(self) -> None:
        from keras.src.backend.common import global_state
        from keras.src.layers.layer import CallContext

        self.context = global_state.get_global_attribute("current_call_ctx")
        if self.context is None:
            self.created = CallContext(entry_layer=self.layer)
            self.created.set_value("training", False)
            global_state.set_global_attribute("current_call_ctx", self.created)
        else:
            self.created = None
            self.previous = self.context.get_value("training")
            self.context.set_value("training", False)

    def __exit__(self, *exc: Any) -> None:
        from keras.src.backend.common import global_state

        if self.created is not None:
            if global_state.get_global_attribute("current_call_ctx") is self.created:
                global_state.set_global_attribute("current_call_ctx", None)
        else:
            self.context.set_value("training", self.previous)


class SublayerProxy:
    """Stands for sub-layer ``layer`` inside one intercepted call: calling it calls
    ``call_sublayer(layer, args, kwargs)``; every attribute is the layer's, and
    ``isinstance`` sees the layer's class."""

    def __init__(self, layer: keras.layers.Layer, call_sublayer: Callable[..., Any]) -> None:
        object.__setattr__(self, "_proxied", layer)
        object.__setattr__(self, "_call_sublayer", call_sublayer)

    @property
    def __class__(self) -> type:  # isinstance(proxy, keras.layers.Conv2D) as for the layer
        return type(self._proxied)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._proxied, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call_sublayer(self._proxied, args, kwargs)


def _rerouted(value: Any, proxies: Dict[int, SublayerProxy]) -> Any:
    """``value`` with every sub-layer in ``proxies`` replaced by its proxy, looking
    inside lists, plain tuples and dicts; ``value`` itself when nothing changes."""
    if isinstance(value, keras.layers.Layer):
        return proxies.get(id(value), value)
    if isinstance(value, list) or type(value) is tuple:
        items = [_rerouted(v, proxies) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, dict):
        items = {k: _rerouted(v, proxies) for k, v in value.items()}
        return value if all(items[k] is value[k] for k in value) else items
    return value


def call_intercepted(
    layer: keras.layers.Layer,
    args: Sequence[Any],
    kwargs: Dict[str, Any],
    call_sublayer: Callable[[keras.layers.Layer, Sequence[Any], Dict[str, Any]], Any],
) -> Any:
    """``layer(*args, **kwargs)`` in inference mode, its own ``call`` run as written,
    with each call of one of its :func:`tracked_sublayers` made as
    ``call_sublayer(sublayer, args, kwargs)`` (see the module doc: a shallow copy of
    ``layer`` for this call only, whose attributes point to :class:`SublayerProxy` objects;
    nothing is patched)."""
    proxies = {id(sub): SublayerProxy(sub, call_sublayer) for sub in tracked_sublayers(layer)}
    copy = shallow_copy(layer)
    for name, value in layer.__dict__.items():
        rerouted = _rerouted(value, proxies)
        if rerouted is not value:
            copy.__dict__[name] = rerouted
    return call_inference(copy, args, kwargs)


def shallow_copy(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A copy of ``layer`` sharing its variables and attributes (not ``copy.copy``: Keras
    layers pickle themselves through the saving library, which would give a deep copy
    with its own, stale variables).

    A method stored on the instance and bound to ``layer`` (a library that wrapped
    ``layer.call`` and restored it as ``layer.call = layer.call.__wrapped__``, as
    Xplique's ``end_watch_layer`` does) is rebound to the copy, so that the copy's
    own attributes (e.g. a linear ``activation``) are the ones its ``call`` reads."""
    copy = object.__new__(type(layer))
    copy.__dict__.update(layer.__dict__)
    for name, value in layer.__dict__.items():
        if isinstance(value, types.MethodType) and value.__self__ is layer:
            copy.__dict__[name] = types.MethodType(value.__func__, copy)
    return copy


def call_input_specs(layer: keras.layers.Layer) -> Optional[list]:
    """``tf.TensorSpec``-like ``KerasTensor`` per tensor ``layer`` was built
    on (batch axis free), one per positional argument of its ``build``; None when
    not known (not built, or built on nested structures)."""
    shapes = list((getattr(layer, "_build_shapes_dict", None) or {}).values())
    if not shapes or not all(
        isinstance(s, (tuple, list)) and all(d is None or isinstance(d, int) for d in s) for s in shapes
    ):
        return None
    dtype = getattr(layer, "input_dtype", None) or keras.backend.floatx()
    return [keras.KerasTensor((None,) + tuple(s[1:]), dtype=dtype) for s in shapes]


def functional_ops(layer: keras.layers.Layer, op_types: Sequence[str]) -> Optional[List[str]]:
    """The TensorFlow op types among ``op_types`` (e.g. ``"Relu"``) that ``layer``'s own
    ``call`` creates outside the calls of its tracked sub-layers: nonlinearities applied
    as functions (``tf.nn.relu(x)``, ``keras.ops.tanh``), which no layer override can
    reach. Found by tracing the call once on the shapes it was built with (nothing
    runs). None when the call cannot be traced that way.
    """
    import tensorflow as tf

    specs = call_input_specs(layer)
    if specs is None:
        return None
    inside: List[Tuple[int, int]] = []

    def through(sub: keras.layers.Layer, args: Sequence[Any], kwargs: Dict[str, Any]) -> Any:
        graph = tf.compat.v1.get_default_graph()
        start = len(graph.get_operations())
        out = call_inference(sub, args, kwargs)
        inside.append((start, len(graph.get_operations())))
        return out

    signature = [tf.TensorSpec(s.shape, s.dtype) for s in specs]
    try:
        graph = tf.function(lambda *xs: call_intercepted(layer, xs, {}, through)).get_concrete_function(*signature).graph
    except Exception:  # a call that needs other arguments, or is not traceable
        return None
    wanted = set(op_types)
    found: List[str] = []
    for index, op in enumerate(graph.get_operations()):
        if op.type in wanted and op.type not in found and not any(a <= index < b for a, b in inside):
            found.append(op.type)
    return found


def run_graph(container: keras.Model, inputs: Sequence[Any], operation_fn: Callable[[Any], Callable[..., Any]]) -> Any:
    """Execute a ``"graph"`` container's nodes on ``inputs`` (one tensor per input), as
    ``Functional.call`` does, computing each node as ``operation_fn(op)(*args, **kwargs)``.

    Returns
    -------
    The container's outputs, in its output structure.
    """
    return _graph(container)._run_through_graph(inputs, operation_fn=operation_fn)


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


# -- who produces, feeds and follows a layer -------------------------------------------


def producing_path(model: keras.Model, output_index: int) -> LayerPath:
    """Path to the layer that produces ``model.outputs[output_index]``, descending into
    nested models (through their first output). For a subclassed ``model`` that is its
    last layer (explained only once the runner checked that its ``call`` chains its
    layers); a path reaching a nested subclassed model ends there. ``()`` for a
    subclassed model without layers.
    """
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


def activation_name(op: Any) -> str:
    """The name of an activation function, or of the activation a layer applies (its
    ``activation`` attribute): ``"relu"``, ``"softmax"``, ``"linear"``...

    A callable without ``__name__`` gives its type's name; None, and a layer or
    ``keras.ops`` node without an ``activation``, give ``""``.
    """
    fn = getattr(op, "activation", None) if isinstance(op, keras.Operation) else op
    return getattr(fn, "__name__", type(fn).__name__) if fn is not None else ""


class Step(NamedTuple):
    """A layer applied to a value (``layer``, inside container ``stack[-1]``, its output
    at ``ref``), or, with ``layer`` None, the value crossing the outermost model's
    boundary: model output number ``ref`` (``end="output"``, from :func:`successors`)
    or model input number ``ref`` (``end="input"``, from :func:`predecessors`).

    ``ref`` locates a value inside ``stack[-1]``: a layer's index for a chain or opaque
    container, a symbolic tensor for a graph.
    """

    layer: Optional[keras.layers.Layer]
    stack: tuple
    ref: object
    end: str = "output"

    @property
    def name(self) -> str:
        return self.layer.name if self.layer is not None else f"model {self.end} {self.ref}"


def successors(stack: tuple, layer: keras.layers.Layer) -> List[Step]:
    """The layers applied to ``layer``'s output inside container ``stack[-1]``.

    Parameters
    ----------
    stack : tuple of keras.Model
        The containers from the model down to the one holding ``layer`` (a layer
        path's ``(model,) + path[:-1]``).
    layer : keras.layers.Layer
        Its first call in ``stack[-1]`` is followed.

    Returns
    -------
    list of Step
        Nested models are entered (their layers reading the value are listed) and left
        through their outputs; ``Step(None, (model,), i)`` when the value is output
        ``i`` of the outermost model.
    """
    return _users(stack, _output_ref(stack, layer))


def predecessors(stack: tuple, layer: keras.layers.Layer) -> List[Step]:
    """The layers whose outputs ``layer`` reads inside container ``stack[-1]``, one per
    input tensor of its first call, in argument order.

    Parameters
    ----------
    stack : tuple of keras.Model
        As in :func:`successors`.
    layer : keras.layers.Layer

    Returns
    -------
    list of Step
        The producing layer of each input; a nested model producing it is entered (its
        layer producing that output is listed), and a container input is followed out
        to what feeds the container. ``Step(None, (model,), i, "input")`` when the
        value is input ``i`` of the outermost model.
    """
    container = stack[-1]
    if _is_chain(container):
        return _producers(stack, _layer_index(container, layer) - 1)
    node = _first_node(container, layer)
    return [step for tensor in node.arguments.keras_tensors for step in _producers(stack, tensor)]


def downstream(start: Step, accept: Callable[[Any], bool], passthrough: Callable[[Any], bool]) -> List[Step]:
    """The steps after ``start`` that ``accept(step.layer)`` takes, reached through
    layers for which ``passthrough(layer)`` holds (``layer`` is None for a model
    output). Nothing follows a model-output step."""
    found = []
    for step in _users(start.stack, start.ref) if start.layer is not None else []:
        if accept(step.layer):
            found.append(step)
        elif step.layer is not None and passthrough(step.layer):
            found.extend(downstream(step, accept, passthrough))
    return found


def _is_chain(container: keras.Model) -> bool:
    """Walked as the chain of its layers (a chain, or an opaque container replayed)."""
    return container_kind(container) != "graph"


def _layer_index(container: keras.Model, layer: keras.layers.Layer) -> int:
    return next(i for i, x in enumerate(container.layers) if x is layer)


def _first_node(container: keras.Model, operation: Any) -> Any:
    return next(node for node in _nodes(container) if node.operation is operation)


def _output_ref(stack: tuple, layer: keras.layers.Layer) -> object:
    """Where ``layer``'s (first) output lives in ``stack[-1]``: its index for a chain,
    its KerasTensor in a graph (the layer's first call there)."""
    container = stack[-1]
    if _is_chain(container):
        return _layer_index(container, layer)
    return _first_node(container, layer).outputs[0]


def _users(stack: tuple, ref: object) -> List[Step]:
    """The steps reading value ``ref`` of ``stack[-1]`` (index -1 of a chain: its input)."""
    container = stack[-1]
    if _is_chain(container):
        layers = container.layers
        users = [(layers[ref + 1], ref + 1, 0)] if ref + 1 < len(layers) else []
        out_index = 0 if ref == len(layers) - 1 else None
    else:
        users = []
        for node in _nodes(container):
            position = next((j for j, t in enumerate(node.arguments.keras_tensors) if t is ref), None)
            if position is not None:
                users.append((node.operation, node.outputs[0] if node.outputs else None, position))
        outputs = keras.tree.flatten(_graph(container).outputs)
        out_index = next((i for i, t in enumerate(outputs) if t is ref), None)
    steps: List[Step] = []
    for layer, out, position in users:
        if not is_container(layer):
            steps.append(Step(layer, stack, out))
        elif _is_chain(layer):
            steps.extend(_users(stack + (layer,), -1))
        else:
            steps.extend(_users(stack + (layer,), keras.tree.flatten(_graph(layer).inputs)[position]))
    if out_index is not None:
        if len(stack) == 1:
            steps.append(Step(None, stack, out_index))
        else:
            parent = stack[-2]
            if _is_chain(parent):
                steps.extend(_users(stack[:-1], _layer_index(parent, container)))
            else:
                steps.extend(_users(stack[:-1], _first_node(parent, container).outputs[out_index]))
    return steps


def _producers(stack: tuple, ref: object) -> List[Step]:
    """The step producing value ``ref`` of ``stack[-1]`` (index -1 of a chain: its
    input), entering a nested model that produces it and leaving through container
    inputs."""
    container = stack[-1]
    if _is_chain(container):
        if ref < 0:
            return _container_input(stack, 0)
        return _produced_by(stack, container.layers[ref], ref, 0)
    node = next(n for n in _nodes(container) if any(t is ref for t in n.outputs))
    if node.is_input:
        inputs = keras.tree.flatten(_graph(container).inputs)
        return _container_input(stack, next(i for i, t in enumerate(inputs) if t is ref))
    return _produced_by(stack, node.operation, ref, next(i for i, t in enumerate(node.outputs) if t is ref))


def _produced_by(stack: tuple, op: Any, ref: object, output_index: int) -> List[Step]:
    """``op``'s output ``output_index`` (at ``ref`` in ``stack[-1]``) as a step; inside
    ``op`` when it is a container."""
    if not is_container(op):
        return [Step(op, stack, ref)]
    inner = stack + (op,)
    if _is_chain(op):
        return _producers(inner, len(op.layers) - 1)
    return _producers(inner, keras.tree.flatten(_graph(op).outputs)[output_index])


def _container_input(stack: tuple, position: int) -> List[Step]:
    """What feeds input ``position`` of container ``stack[-1]``."""
    if len(stack) == 1:
        return [Step(None, stack, position, "input")]
    parent, container = stack[-2], stack[-1]
    if _is_chain(parent):
        return _producers(stack[:-1], _layer_index(parent, container) - 1)
    return _producers(stack[:-1], _first_node(parent, container).arguments.keras_tensors[position])

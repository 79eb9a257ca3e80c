"""Find the layer to explain at: by index, name, instance, path, or automatically.

A layer is addressed by a *path*, a tuple of layers from the outermost model down,
so that layers inside nested models (transfer-learning backbones) are reachable:
``"backbone/conv5_block3_out"`` names ``(model.get_layer("backbone"),
backbone.get_layer("conv5_block3_out"))``. Nothing here calls, builds or changes
the model.
"""
from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Sequence, Union

import keras

from .inner import inner_calls, inside_custom_layer
from .inputs import input_spatial_rank, is_token_input
from .topology import (
    LayerPath,
    calls_in_graph,
    container_kind,
    is_container,
    is_custom_layer,
    model_inputs,
    model_outputs,
    predecessors,
    producing_path,
    tracked_sublayers,
    walk,
)

LayerSpec = Union[None, int, str, keras.layers.Layer, Sequence[keras.layers.Layer]]

_SEPARATOR = "/"


def path_name(path: LayerPath) -> str:
    """``(backbone, conv)`` -> ``"backbone/conv"``."""
    return _SEPARATOR.join(layer.name for layer in path)


def iter_paths(model: keras.Model, prefix: LayerPath = ()) -> Iterator[LayerPath]:
    """Every layer path in ``model``, in topological order, nested models expanded
    right after the container itself (:func:`~.topology.walk` without the
    ``keras.ops`` nodes of functional graphs)."""
    return (path for path in walk(model, prefix) if isinstance(path[-1], keras.layers.Layer))


def output_shape(layer: keras.layers.Layer) -> Optional[tuple]:
    """The layer's (first) output shape with the batch axis, or None if unknown."""
    try:
        out = layer.output
    except (AttributeError, ValueError, RuntimeError):
        return None
    out = keras.tree.flatten(out)
    if len(out) != 1:
        return None
    return tuple(out[0].shape)


def replayed_shapes(model: keras.Model) -> Dict[int, tuple]:
    """Output shapes of the layers of the subclassed models in ``model`` (the model
    itself or nested ones), which have no symbolic outputs: their layers run as the
    chain the runner replays, on the container's input spec (``compute_output_spec``,
    nothing is computed). ``id(layer) -> shape``; a chain that does not run (a
    ``call`` that is not a chain) stops there, and the runner refuses that chain anyway.
    """
    shapes: Dict[int, tuple] = {}
    containers = [((), model)] + [(p, p[-1]) for p in walk(model) if is_container(p[-1])]
    for path, container in containers:
        if container_kind(container) != "opaque":
            continue
        try:
            specs = model_inputs(container) if not path else keras.tree.flatten(container.input)
            x = specs[0] if len(specs) == 1 else specs
            for layer in container.layers:
                x = layer.compute_output_spec(x)
                flat = keras.tree.flatten(x)
                if len(flat) != 1:
                    break
                shapes[id(layer)] = tuple(flat[0].shape)
        except (AttributeError, ValueError, TypeError, RuntimeError):
            continue
    return shapes


def path_output_shape(model: keras.Model, path: LayerPath) -> Optional[tuple]:
    """The output shape of the layer at ``path`` in ``model``: :func:`output_shape`, or
    for a layer of a subclassed model its shape in the replayed chain
    (:func:`replayed_shapes`), for a layer inside a custom layer its shape in the
    traced call (:func:`~.inner.inner_calls`); None if unknown."""
    if inside_custom_layer(path):
        call = inner_calls(model).get(tuple(path))
        return call.shape if call is not None else None
    shape = output_shape(path[-1])
    if shape is None and any(container_kind(c) == "opaque" for c in (model,) + tuple(path[:-1])):
        shape = replayed_shapes(model).get(id(path[-1]))
    return shape


def input_spatial_ranks(model: keras.Model) -> list:
    """Number of spatial axes of each model input (token ids ``(N, L)`` have one)."""
    return [input_spatial_rank(x) for x in model_inputs(model)]


def is_spatial_shape(shape: Optional[tuple], spatial_ranks: Sequence[int]) -> bool:
    """Output ``(batch, *s, channels)`` with one or more spatial axes, as many as one of
    the model's inputs has (what a CAM map can be resized onto)."""
    return shape is not None and len(shape) >= 3 and len(shape) - 2 in spatial_ranks


def is_spatial(layer: keras.layers.Layer, spatial_ranks: Sequence[int]) -> bool:
    """:func:`is_spatial_shape` of the layer's output shape."""
    return is_spatial_shape(output_shape(layer), spatial_ranks)


PIXEL_MOVING_LAYERS = (
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
    keras.layers.Identity,
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
)
"""Layers the automatic choice skips: padding and cropping only move pixels (a padded
map has a border of padding, not evidence), and the others are the identity at
inference; the layer before them has the same evidence on its own grid."""


def _is_auto_candidate(
    container: keras.Model, layer: keras.layers.Layer, shape: Optional[tuple], ranks: Sequence[int]
) -> bool:
    if is_container(layer) or isinstance(layer, (keras.layers.InputLayer,) + PIXEL_MOVING_LAYERS):
        return False
    if calls_in_graph(container, layer) > 1:
        # Shared (called more than once, e.g. a detector's head on every pyramid level):
        # a tap reads its first call only, which is not all the layer contributes.
        return False
    if "Pooling" in type(layer).__name__:
        # A pooled map is coarser than the conv output it reduces; prefer the latter.
        return False
    if not is_spatial_shape(shape, ranks):
        return False
    return not all(d == 1 for d in shape[1:-1])


def dense_prediction_head(model: keras.Model) -> set:
    """``id``s of the layers that compute a dense model's class map: walking back from
    the layer producing output 0 while the layers output spatial maps with the output's
    channel count ``K`` (the classifier convolution and what resizes or squashes its
    ``(N, *s, K)`` scores: a segmenter's head). Empty when output 0 is not spatial
    ``(N, *s, K)`` of an input's rank (classifiers, detectors).

    Explained at its head a segmenter's map is its own score map (Grad-CAM's weights
    then select the explained class's channel): the features the head reads are
    the first layer worth explaining.
    """
    ranks = input_spatial_ranks(model)
    outputs = model_outputs(model)
    if not outputs or not is_spatial_shape(tuple(outputs[0].shape), ranks):
        return set()
    classes = outputs[0].shape[-1]
    head: set = set()
    frontier = [producing_path(model, 0)]
    while frontier:
        path = frontier.pop()
        if not path or id(path[-1]) in head:
            continue
        shape = output_shape(path[-1])
        if not is_spatial_shape(shape, ranks) or shape[-1] != classes:
            continue
        head.add(id(path[-1]))
        try:
            steps = predecessors((model,) + tuple(path[:-1]), path[-1])
        except (AttributeError, IndexError, KeyError, ValueError):
            continue
        frontier += [
            tuple(step.stack[1:]) + (step.layer,) for step in steps if isinstance(step.layer, keras.layers.Layer)
        ]
    return head


def auto_layer(model: keras.Model, tokens: bool = False) -> LayerPath:
    """The last layer with a spatial output, walking back from the model's output and
    descending into nested models. Pooling, dense and container layers are skipped, and
    so are :data:`PIXEL_MOVING_LAYERS` (zero padding, cropping, and layers that are the
    identity at inference: ``Identity``, dropout and noise layers,
    ``ActivityRegularization``), shared layers (called more than once: a detector's
    heads, run on each pyramid level) and a segmenter's prediction head
    (:func:`dense_prediction_head`: its features are explained, not its scores). The
    layers of a subclassed ``model`` are judged by their shapes in the chain the runner
    replays (:func:`replayed_shapes`); those of a subclassed model nested in it are not
    candidates.

    A model whose spatial inputs are all token ids ``(N, L)`` (a text model) gets the
    text rule of :func:`auto_text_layer` instead. With ``tokens`` (callers that read a
    token layer on its patch grid, :mod:`.tokens`: ``explain()``), an image model with
    attention layers on a token sequence (a vision transformer) gets the rule of
    :func:`auto_transformer_layer`; eli5's functions, which read spatial layers only,
    keep the spatial rule.

    Raises
    ------
    ValueError
        If the model has no such layer.
    """
    if is_text_model(model):
        return auto_text_layer(model)
    ranks = input_spatial_ranks(model)
    transformer = auto_transformer_layer(model) if tokens and 2 in ranks and 1 not in ranks else None
    if transformer is not None:
        return transformer
    # A layer of a subclassed model used as a layer has no shape: skipped (its call()
    # may not be the chain a tap replays); the model itself may be subclassed.
    replayed = replayed_shapes(model) if container_kind(model) == "opaque" else {}
    head = dense_prediction_head(model) if container_kind(model) != "opaque" else set()
    skipped = []
    for path in reversed(list(iter_paths(model))):
        shape = output_shape(path[-1]) if len(path) > 1 else replayed.get(id(path[-1]), output_shape(path[-1]))
        container = path[-2] if len(path) > 1 else model
        if id(path[-1]) not in head and _is_auto_candidate(container, path[-1], shape, ranks):
            return path
        layer = path[-1]
        if is_spatial_shape(shape, ranks) and not (isinstance(layer, keras.layers.InputLayer) or is_container(layer)):
            skipped.append(path_name(path))
    candidates = (
        f" Layers with a spatial output that the automatic choice skips (shared layers, which a tap "
        f"reads on their first call only; a segmenter's head; pooling, padding and identity layers): "
        f"{skipped[::-1][-8:]}." if skipped else ""
    )
    raise ValueError(
        f"Could not find a suitable target layer automatically in model {model.name!r}: "
        "no layer has a spatial output (batch, *spatial, channels) of the input's rank that it can explain."
        f"{candidates} Pass layer= with a convolutional layer's name, index or instance."
    )


def attention_paths(model: keras.Model) -> List[LayerPath]:
    """The ``MultiHeadAttention`` layers of ``model`` on token sequences, in the order
    they run: graph nodes (nested models included), else those inside custom layers
    (KerasHub's ViT: ``backbone/vit_encoder/transformer_block_i/mha``, in the order of
    the traced call, :func:`~.inner.inner_calls`)."""
    found = [
        path for path in iter_paths(model)
        if isinstance(path[-1], keras.layers.MultiHeadAttention) and is_sequence_output(path[-1])
    ]
    if found:
        return found
    return [
        path for path, call in inner_calls(model).items()
        if isinstance(path[-1], keras.layers.MultiHeadAttention) and call.shape is not None and len(call.shape) == 3
    ]


def auto_transformer_layer(model: keras.Model) -> Optional[LayerPath]:
    """The layer feeding the last ``MultiHeadAttention`` on a token sequence
    ``(N, L, D)``: the last block's first LayerNormalization in a pre-norm ViT
    (pytorch-grad-cam's ``blocks[-1].norm1``; KerasHub's ViT:
    ``.../transformer_block_N/ln_1`` inside its encoder), the previous block's output
    in a post-norm one; None when the model has no such attention layer.

    Why there, and not later or earlier:

    * a class-token head reads only the class token after the last attention, so the
      patch tokens of the last block's output (and of the final norm's input or
      output) get exactly zero gradient there, and every gradient CAM is empty;
      before the last attention each patch token reaches the score through it;
    * the residual stream entering the block (the norm's input) reaches the score only
      through LayerNormalizations, which ignore a token's scale, so its gradient is
      orthogonal to the token itself (``sum_k g_k A_k = 0`` up to the norm's epsilon)
      and element-wise maps (HiResCAM, LayerCAM) vanish there; the norm's output
      has no such constraint.
    """
    attention = attention_paths(model)
    if not attention:
        return None
    if inside_custom_layer(attention[-1]):
        call = inner_calls(model)[attention[-1]]
        producer = inner_calls(model).get(call.producer) if call.producer is not None else None
        return producer.path if producer is not None and producer.shape and len(producer.shape) == 3 else None
    feeding = _first_producer(model, attention[-1])
    return feeding if feeding is not None and is_sequence_output(feeding[-1]) else None


def _first_producer(model: keras.Model, path: LayerPath) -> Optional[LayerPath]:
    """The path of the layer producing the first input of the layer at ``path``, None
    for a model input or a ``keras.ops`` node."""
    try:
        feeding = predecessors((model,) + tuple(path[:-1]), path[-1])
    except (AttributeError, IndexError, KeyError, ValueError):
        return None
    if not feeding or not isinstance(feeding[0].layer, keras.layers.Layer):
        return None
    return tuple(feeding[0].stack[1:]) + (feeding[0].layer,)


# -- text models -----------------------------------------------------------------------

SEQUENCE_LAYERS = (
    keras.layers.Conv1D,
    keras.layers.SeparableConv1D,
    keras.layers.DepthwiseConv1D,
    keras.layers.Conv1DTranspose,
    keras.layers.RNN,
    keras.layers.Bidirectional,
)
"""Layers that read a token sequence in order (convolutions, recurrent layers)."""

TEMPORAL_POOLING_LAYERS = (keras.layers.MaxPooling1D, keras.layers.AveragePooling1D)

_TEXT_TIERS = (
    ("a Conv1D, recurrent or bidirectional layer", SEQUENCE_LAYERS),
    ("a temporal pooling layer", TEMPORAL_POOLING_LAYERS),
    ("an embedding", (keras.layers.Embedding,)),
)


def is_text_model(model: keras.Model) -> bool:
    """Every model input with spatial axes is token ids ``(N, L)`` (and there is one)."""
    specs = [x for x in model_inputs(model) if input_spatial_rank(x) >= 1]
    return bool(specs) and all(is_token_input(x) for x in specs)


def is_sequence_output(layer: keras.layers.Layer) -> bool:
    """Output ``(batch, steps, features)`` with more than one step (or an unknown count)."""
    shape = output_shape(layer)
    return shape is not None and len(shape) == 3 and shape[1] != 1


def auto_text_layer(model: keras.Model) -> LayerPath:
    """The layer to explain a text model at: the last Conv1D / recurrent / bidirectional
    layer with a sequence output, else the last temporal pooling layer with a sequence
    output (``MaxPooling1D``, ``AveragePooling1D``), else the last embedding.

    A recurrent layer counts only with ``return_sequences=True``: its last state alone
    has no time axis. Nested models are searched too.

    Raises
    ------
    ValueError
        If the model has none of these layers.
    """
    paths = list(iter_paths(model))
    for _, kinds in _TEXT_TIERS:
        for path in reversed(paths):
            if isinstance(path[-1], kinds) and is_sequence_output(path[-1]):
                return path
    kinds = [description for description, _ in _TEXT_TIERS]
    wanted = ", ".join(kinds[:-1]) + " or " + kinds[-1]
    raise ValueError(
        f"Could not find a suitable target layer automatically in text model {model.name!r}: "
        f"it has no layer with a sequence output (batch, steps, features) that is {wanted}. "
        "Recurrent layers need return_sequences=True. Pass layer= with a layer's name, index or instance."
    )


def _find_by_name(model: keras.Model, name: str) -> LayerPath:
    if _SEPARATOR in name:
        path: LayerPath = ()
        container = model
        for part in name.split(_SEPARATOR):
            if not is_container(container) and not is_custom_layer(container):
                raise ValueError(
                    f"layer path {name!r}: {path_name(path)!r} is neither a model nor a custom layer holding "
                    f"layers, so it has no layer {part!r}."
                )
            layers = container.layers if is_container(container) else tracked_sublayers(container)
            found = [layer for layer in layers if layer.name == part]
            if not found:
                raise ValueError(
                    f"layer path {name!r}: no layer named {part!r} in {container.name!r}. "
                    f"Its layers are: {[layer.name for layer in layers]}."
                )
            path += (found[0],)
            container = found[0]
        return path
    matches = [p for p in iter_paths(model) if p[-1].name == name]
    top = [p for p in matches if len(p) == 1]
    if top:
        return top[0]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ValueError(
            f"No such layer: {name!r} in model {model.name!r} or its nested models. "
            f"Top-level layers: {[layer.name for layer in model.layers]}."
        )
    raise ValueError(
        f"layer name {name!r} is ambiguous in model {model.name!r}: it is in "
        f"{[path_name(p) for p in matches]}. Pass the full path."
    )


def _find_instance(model: keras.Model, layer: keras.layers.Layer) -> LayerPath:
    for path in iter_paths(model):
        if path[-1] is layer:
            return path
    for path in walk(model, into_layers=True):  # inside a custom layer
        if path[-1] is layer:
            return path
    raise ValueError(
        f"layer {layer.name!r} is not part of model {model.name!r} "
        "(nor of any model nested in it)."
    )


def resolve_layer(model: keras.Model, layer: LayerSpec, tokens: bool = False) -> LayerPath:
    """Turn a user's ``layer`` argument into a layer path.

    Parameters
    ----------
    layer : None, int, str, keras.layers.Layer or sequence of layers
        None picks automatically (:func:`auto_layer`, ``tokens`` passed on); an int indexes
        ``model.layers`` (negative counts from the end); a str is a name, searched
        in the model then in nested models, or a ``"outer/inner"`` path; a layer
        instance is found wherever it is nested.

    Raises
    ------
    TypeError
        If ``layer`` is of another type.
    ValueError
        If the layer cannot be found.
    """
    if layer is None:
        return auto_layer(model, tokens)
    if isinstance(layer, bool):
        raise TypeError(_type_error(layer))
    if isinstance(layer, keras.layers.Layer):
        return _find_instance(model, layer)
    if isinstance(layer, int) or _is_numpy_int(layer):
        index = int(layer)
        n = len(model.layers)
        if not -n <= index < n:
            raise ValueError(
                f"layer index {index} is out of range: model {model.name!r} has {n} layers "
                f"(valid: {-n}..{n - 1})."
            )
        return (model.layers[index],)
    if isinstance(layer, str):
        return _find_by_name(model, layer)
    if isinstance(layer, (tuple, list)) and layer and all(
        isinstance(x, keras.layers.Layer) for x in layer
    ):
        path = _find_instance(model, layer[-1])
        if tuple(layer) != path[-len(layer):]:
            raise ValueError(f"layer path {[x.name for x in layer]} is not a path in {model.name!r}.")
        return path
    raise TypeError(_type_error(layer))


def _is_numpy_int(x: object) -> bool:
    import numpy as np

    return isinstance(x, np.integer)


def _type_error(layer: object) -> str:
    return (
        "Invalid layer (must be str, int, keras.layers.Layer, or None): "
        f"{layer!r} of type {type(layer).__name__}"
    )

"""keras-explainable's ``inspection`` module: which layers a method reads.

:func:`expose` does not build a new model: it returns an :class:`ExposedModel` that
records the choice (the logits layer, the activation layer) for the method functions,
which hand it to the engine; the user's model is never rebuilt nor changed.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple, Union

import keras
import tensorflow as tf

KERNEL_AXIS = -1
SPATIAL_AXIS = (-3, -2)

NORMALIZATION_LAYERS = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)
POOLING_LAYERS = (
    keras.layers.Flatten,
    keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D, keras.layers.GlobalAveragePooling3D,
    keras.layers.GlobalMaxPooling1D, keras.layers.GlobalMaxPooling2D, keras.layers.GlobalMaxPooling3D,
)
BATCH_NORM_EPSILON = 1e-07
"""keras-explainable's epsilon in the folded batch-norm bias (not the layer's own)."""


class ExposedModel:
    """A model with the layers an explaining method reads: ``logits_layer`` (whose
    output is the score) and ``argument_layers`` (the layers whose outputs keras-explainable
    exposes: the one CAM methods explain, ``activation_layer``, or the bias layers of
    ``methods.gradient.full_gradients``)."""

    def __init__(self, model: keras.Model, logits_layer: keras.layers.Layer,
                 argument_layers: Sequence[keras.layers.Layer]) -> None:
        self.model, self.logits_layer, self.argument_layers = model, logits_layer, tuple(argument_layers)

    @property
    def activation_layer(self) -> keras.layers.Layer:
        """The one exposed layer CAM methods explain; ValueError when several are exposed."""
        if len(self.argument_layers) != 1:
            raise ValueError(
                "CAM methods explain one activation layer; this model exposes "
                f"{[layer.name for layer in self.argument_layers]}: expose(model, arguments=<one layer>)."
            )
        return self.argument_layers[0]

    def __call__(self, inputs, training=False):
        return self.model(inputs, training=training)


def flatten_layers(model: keras.Model) -> List[keras.layers.Layer]:
    """Every layer of ``model``, nested models' layers included, in order."""
    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found.extend(flatten_layers(layer))
    return found


def get_nested_layer(model: keras.Model, name: Union[str, Sequence[str]]) -> keras.layers.Layer:
    """``model.get_layer`` along a path of names (``("backbone", "conv")``)."""
    for part in ([name] if isinstance(name, str) else name):
        model = model.get_layer(part)
    return model


def find_layer_with(model: keras.Model, name: Optional[Any] = None, properties: Sequence[str] = (),
                    klass: Tuple[type, ...] = ()) -> keras.layers.Layer:
    """The layer named ``name``, else the last one with all ``properties`` and of ``klass``."""
    if name is not None:
        return get_nested_layer(model, name)
    for layer in reversed(flatten_layers(model)):
        if klass and not isinstance(layer, klass):
            continue
        if all(hasattr(layer, p) for p in properties):
            return layer
    raise ValueError(f"no layer of {model.name!r} has {list(properties) or list(klass)}.")


def get_logits_layer(model: keras.Model, name: Optional[str] = None) -> keras.layers.Layer:
    """The last layer with a ``kernel`` (or the one named)."""
    return find_layer_with(model, name, properties=("kernel",))


def get_global_pooling_layer(model: keras.Model, name: Optional[str] = None) -> keras.layers.Layer:
    """The last Flatten or global pooling layer (or the one named)."""
    return find_layer_with(model, name, klass=POOLING_LAYERS)


def _producer(layer: keras.layers.Layer) -> keras.layers.Layer:
    """The layer whose output is ``layer``'s input."""
    return layer.input._keras_history[0]


def _endpoint_layer(model: keras.Model, endpoint: Any) -> keras.layers.Layer:
    if isinstance(endpoint, keras.layers.Layer):
        return endpoint
    if isinstance(endpoint, int) and not isinstance(endpoint, bool):
        return model.layers[endpoint]
    if isinstance(endpoint, (str, tuple)):
        return get_nested_layer(model, endpoint)
    if isinstance(endpoint, dict):
        layer = endpoint["layer"] if "layer" in endpoint else get_nested_layer(model, endpoint["name"])
        return _producer(layer) if endpoint.get("link", "output") == "input" else layer
    raise ValueError(
        f"an endpoint is a layer index, name, layer or dict with name/layer and link; got {endpoint!r}."
    )


def expose(model: keras.Model, arguments: Any = None, outputs: Any = None) -> ExposedModel:
    """The model with the layers explaining methods read, recorded (not rebuilt).

    ``outputs``: the logits layer (default: the last layer with a kernel), which must
    be the model's output layer (the engine scores the model's output as it is).
    ``arguments``: the activation layer (default: the input of the last global pooling
    layer); an index, a name (a tuple of names: a nested path), a layer or
    ``{"name"|"layer": ..., "link": "input"|"output"}``; or a *list* of them (the layers
    ``methods.gradient.full_gradients`` reads, e.g. ``layers_with_biases(model)[0]``).
    """
    if isinstance(model, ExposedModel):
        model = model.model
    logits = get_logits_layer(model) if outputs is None else _endpoint_layer(model, outputs)
    if logits is not model.layers[-1]:
        raise ValueError(
            f"the logits layer {logits.name!r} must be the model's output layer; explain a model "
            f"that ends with it (e.g. classifier_activation=None) or with its softmax."
        )
    if arguments is None:
        arguments = {"layer": get_global_pooling_layer(model), "link": "input"}
    endpoints = arguments if isinstance(arguments, list) else [arguments]
    return ExposedModel(model, logits, [_endpoint_layer(model, endpoint) for endpoint in endpoints])


def as_exposed(model: Any) -> ExposedModel:
    """``model`` if exposed, else :func:`expose` with the defaults."""
    return model if isinstance(model, ExposedModel) else expose(model)


def layers_with_biases(model: keras.Model, exclude: Sequence[keras.layers.Layer] = (),
                       return_biases: bool = True):
    """Layers with a bias (and normalisation layers), and their biases."""
    layers = [
        layer for layer in flatten_layers(model)
        if all(layer is not e for e in exclude)
        and (isinstance(layer, NORMALIZATION_LAYERS) or getattr(layer, "bias", None) is not None)
    ]
    return (layers, biases(layers)) if return_biases else layers


def biases(layers: Sequence[keras.layers.Layer]) -> List[tf.Tensor]:
    """Each layer's bias; batch normalisation folded: ``beta - mean * gamma / sqrt(var + 1e-7)``."""
    found = []
    for layer in layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer.beta - layer.moving_mean * layer.gamma
                         / tf.sqrt(layer.moving_variance + BATCH_NORM_EPSILON))
        elif getattr(layer, "bias", None) is not None:
            found.append(tf.convert_to_tensor(layer.bias))
    return found


def gather_units(tensor: tf.Tensor, indices: Optional[tf.Tensor], axis: int = -1, batch_dims: int = -1) -> tf.Tensor:
    """``tf.gather`` of the explained units (all of them when ``indices`` is None)."""
    return tensor if indices is None else tf.gather(tensor, indices, axis=axis, batch_dims=batch_dims)

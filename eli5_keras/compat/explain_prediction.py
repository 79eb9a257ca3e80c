"""eli5's ``explain_prediction`` for Keras models (eli5 0.16 API, kept).

This module only validates and dispatches: numbers come from
:func:`~eli5_keras.compat.gradcam.gradcam_backend` and
:func:`~eli5_keras.compat.gradcam.gradcam`. Differences from eli5, all additive:
several ``targets`` give several :class:`TargetExplanation` (eli5 raised); layers
inside nested models are reachable; ``Explanation.layer`` names the layer used;
``relu=False`` keeps negative evidence and ``counterfactual=True`` explains what
lowers the score; text models (token ids) are explained by eli5's unreleased text
Grad-CAM (:mod:`eli5_keras.compat.text`).
"""
from __future__ import annotations

from typing import Any, Optional, Union

import keras
import numpy as np
import tensorflow as tf

from ..backend.layers import iter_paths, output_shape, path_name, resolve_layer
from ..backend.legacy import is_tf_keras_model, keras_model
from ..backend.topology import is_graph_model, model_inputs
from ..base import Explanation
from .per_target import check_flags, explain_targets
from .text import explain_prediction_keras_text, is_text_doc, text_explanations

DESCRIPTION_KERAS = """Grad-CAM visualization for image classification; 
output is explanation object that contains input image 
and heatmap image for a target.
"""

_IMAGE_LAYERS = (
    keras.layers.Conv2D,
    keras.layers.Conv2DTranspose,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
    keras.layers.MaxPooling2D,
    keras.layers.AveragePooling2D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalAveragePooling2D,
)


def explain_prediction(
    model: Any,
    doc: Any,
    targets: Optional[list] = None,
    layer: Union[None, int, str, keras.layers.Layer] = None,
    image: Any = None,
    *,
    tokens: Any = None,
    pad_value: Optional[int] = None,
    pad_token: Optional[str] = None,
    interpolation_kind: str = "linear",
    relu: bool = True,
    counterfactual: bool = False,
    method: str = "gradcam",
    **method_options: Any,
) -> Explanation:
    """Explain a Keras classifier's prediction for ``doc`` with Grad-CAM (or ``method``).

    Image models (a rank-4 input and 2-D convolutions, or ``image=`` given) get eli5
    0.16's image Grad-CAM; text models (token ids ``(1, L)`` or ``(L,)``, or
    ``tokens=`` given) eli5's text Grad-CAM, see
    :func:`~eli5_keras.compat.text.explain_prediction_keras_text`.

    Parameters
    ----------
    model : keras.Model
        Image or text classifier. Other objects give an ``Explanation`` whose
        ``error`` says they are not supported.
    doc : numpy.ndarray, shape (1, H, W, C), or token ids (1, L) / (L,)
        One input, batch axis included (``model.input.shape`` with batch size 1).
    targets : list of int, optional
        Classes to explain; None explains the top prediction. Each gives one
        :class:`TargetExplanation`.
    layer : int, str or keras.layers.Layer, optional
        Layer to compute Grad-CAM at (``"outer/inner"`` reaches nested models); None
        picks the last layer whose output has the input's rank (images) or the text
        rule of :func:`~eli5_keras.backend.layers.auto_text_layer`.
    image : PIL.Image.Image, optional
        Image to overlay the heatmap on; made from ``doc`` when not given.
    tokens, pad_value, pad_token, interpolation_kind
        Text models only (keyword-only): the strings naming ``doc``'s positions, the
        padding to cut off, how the layer's map is resized to the tokens.
    relu : bool, default True
        Keep only positive evidence (eli5 0.16). False keeps the sign: the map is
        scaled by ``max |L|`` into [-1, 1] and kept in ``raw_heatmap``, while
        ``heatmap`` holds it shifted into [0, 1] (``unit_range``) for drawing, and
        ``Explanation.signed`` is True.
    counterfactual : bool, default False
        Negate the gradient: explain what pushes the target's score down.

    Returns
    -------
    Explanation
        ``image``, ``targets`` (``TargetExplanation(target, score, proba=None,
        heatmap)``, heatmap at the layer's grid, in [0, 1]), ``method='Grad-CAM'``,
        ``layer``. A model/input that is neither an image nor a text model gives
        ``error`` instead.

    Raises
    ------
    TypeError
        ``doc`` not an array; ``targets`` not a list or None or holding non-ints;
        ``layer`` of a wrong type; ``image`` not a PIL image; ``relu`` or
        ``counterfactual`` not a bool.
    ValueError
        ``doc`` shape not ``(1, *input_shape)``; target out of range; unsuitable layer;
        ``image`` together with text arguments.
    """
    if is_tf_keras_model(model):
        model = keras_model(model)  # a Keras 3 copy (backend/legacy.py)
    if not isinstance(model, keras.Model):
        return Explanation(
            estimator=repr(model),
            error=f"estimator {model!r} is not supported: explain_prediction takes a keras.Model.",
        )
    text_requested = tokens is not None or pad_value is not None or pad_token is not None
    if text_requested and image is not None:
        raise ValueError(
            "image= is for image models, tokens=/pad_value=/pad_token= for text models; got both."
        )
    if method_options or not (isinstance(method, str) and method.lower() == "gradcam"):
        text = text_requested or (image is None and not _maybe_image(model, doc) and is_text_doc(model, doc))
        return explain_prediction_with_method(
            model, doc, method, targets, layer, image, relu, counterfactual, method_options,
            text=dict(tokens=tokens, pad_value=pad_value, pad_token=pad_token,
                      interpolation_kind=interpolation_kind) if text else None,
        )
    if text_requested or (image is None and not _maybe_image(model, doc) and is_text_doc(model, doc)):
        return explain_prediction_keras_text(
            model,
            doc,
            tokens=tokens,
            pad_value=pad_value,
            pad_token=pad_token,
            interpolation_kind=interpolation_kind,
            relu=relu,
            counterfactual=counterfactual,
            targets=targets,
            layer=layer,
        )
    if interpolation_kind != "linear":
        raise ValueError(
            f"interpolation_kind={interpolation_kind!r} applies to text models only: image heatmaps stay "
            "on the layer's grid (format_as_image resizes them)."
        )
    if image is not None or _maybe_image(model, doc):
        return explain_prediction_keras_image(
            model, doc, image=image, targets=targets, layer=layer, relu=relu, counterfactual=counterfactual
        )
    return explain_prediction_keras_not_supported(model, doc)


explain_prediction_keras = explain_prediction


def explain_prediction_with_method(
    model: keras.Model,
    doc: Any,
    method: Any,
    targets: Optional[list],
    layer: Any,
    image: Any,
    relu: bool,
    counterfactual: bool,
    method_options: dict,
    text: Optional[dict] = None,
) -> Explanation:
    """``explain_prediction(..., method=NAME, **options)``: any method of
    :func:`eli5_keras.explain` on one input, as an eli5 :class:`Explanation`.

    ``targets`` keeps eli5's form (None or a list of class indices: one
    ``TargetExplanation`` each); heatmaps are at the input's resolution, in [0, 1]
    (the method's raw map, when signed, in ``raw_heatmap``). ``relu=True`` leaves the
    method's default (signed methods keep their sign); ``relu=False`` turns it off.
    ``text`` (tokens, padding, interpolation) makes a text explanation.
    """
    from ..explain import explain
    from .. import methods as registry

    instance = registry.get(method, **method_options)
    if targets is not None:
        if not isinstance(targets, list) or not targets:
            raise TypeError(f'Invalid argument "targets" (must be a non-empty list or None): {targets!r}')
        targets = np.asarray([targets])
    result = explain(
        model,
        doc,
        method=instance,
        targets=targets,
        layer=layer if instance.uses_layer else None,
        relu=None if relu else False,
        counterfactual=counterfactual,
    )
    if len(result) != 1:
        raise ValueError(f"doc must hold a single input (batch size 1); got {len(result)}.")
    if text is not None:
        return text_explanations(result, **text)[0]
    expl = result[0]
    if image is not None:
        _validate_image(image)
        expl.image = image
    return expl


def explain_prediction_keras_not_supported(model: keras.Model, doc: Any) -> Explanation:
    """The explanation returned for models and inputs that are not images."""
    return Explanation(
        model.name,
        error=(
            f'model "{model.name}" is not supported, '
            'try passing the "image" argument if explaining an image model, '
            'or the "tokens" argument if explaining a text model.'
        ),
    )


def explain_prediction_keras_image(
    model: keras.Model,
    doc: Any,
    image: Any = None,
    targets: Optional[list] = None,
    layer: Union[None, int, str, keras.layers.Layer] = None,
    relu: bool = True,
    counterfactual: bool = False,
) -> Explanation:
    """Grad-CAM explanation of an image model (see :func:`explain_prediction`)."""
    check_flags(relu=relu, counterfactual=counterfactual)
    _validate_doc(model, doc)
    if image is None:
        image = _extract_image(doc)
    else:
        _validate_image(image)
    activation_layer = _get_activation_layer(model, layer)
    path = resolve_layer(model, activation_layer)
    explained = explain_targets(model, doc, targets, path, relu, counterfactual)
    return Explanation(
        model.name,
        description=DESCRIPTION_KERAS,
        error="",
        method="Grad-CAM",
        image=image,
        targets=explained,
        is_regression=False,
        highlight_spaces=None,
        layer=path_name(path),
        signed=not relu,
        normalization=ELI5_NORMALIZATION if relu else ELI5_SIGNED_NORMALIZATION,
    )


ELI5_NORMALIZATION = "ReLU (negative evidence dropped), then divided by the maximum: L / (max + 1e-7), at the layer's grid (eli5)"
ELI5_SIGNED_NORMALIZATION = (
    "signed: L / (max|L| + 1e-7) at the layer's grid (raw_heatmap); heatmap shifted into [0, 1] "
    "as (L - min(L.min(), 0)) / (L.max() - min(L.min(), 0) + 1e-7)"
)


def _maybe_image(model: keras.Model, doc: Any) -> bool:
    """Heuristic (eli5's): a rank 3/4 input and a model with 2-D image layers."""
    return _maybe_image_input(doc) and _maybe_image_model(model)


def _maybe_image_input(doc: Any) -> bool:
    shape = getattr(doc, "shape", None)
    return shape is not None and len(shape) in (3, 4)


def _maybe_image_model(model: keras.Model) -> bool:
    return any(isinstance(path[-1], _IMAGE_LAYERS) for path in iter_paths(model))


def _extract_image(doc: Any) -> Any:
    """The PIL image of a ``(1, H, W, C)`` doc (keras' ``array_to_img`` scaling)."""
    from ..utils.images import array_to_image

    return array_to_image(np.asarray(doc)[0])


def _validate_image(image: Any) -> None:
    from PIL import Image

    if not isinstance(image, Image.Image):
        raise TypeError(f"image must be a PIL.Image.Image; got {type(image).__name__}.")


def _validate_doc(model: keras.Model, doc: Any) -> None:
    """``doc`` must be an array of shape ``(1, *input_shape)`` (None matches any size)."""
    if isinstance(doc, tf.Tensor):
        doc = doc.numpy()
    if not isinstance(doc, np.ndarray):
        raise TypeError(f"doc must be a numpy.ndarray, got: {type(doc).__name__} {doc!r}")
    input_sh = tuple(model_inputs(model)[0].shape)
    doc_sh = doc.shape
    expected = (1,) + input_sh[1:] if len(input_sh) == 4 else input_sh
    matches = len(doc_sh) == len(expected) and all(e is None or e == g for e, g in zip(expected, doc_sh))
    if not matches:
        if len(input_sh) == 4:
            raise ValueError(
                f"Batch size does not match (must be 1). doc must be of shape: {expected}, got: {doc_sh}"
            )
        raise ValueError(f"Input and doc shapes do not match. input: {input_sh}, doc: {doc_sh}")


def _get_activation_layer(
    model: keras.Model, layer: Union[None, int, str, keras.layers.Layer]
) -> keras.layers.Layer:
    """The layer instance to run Grad-CAM on (eli5's rules).

    Raises
    ------
    TypeError
        ``layer`` is not None, int, str or a Layer.
    ValueError
        Not found, or its output rank differs from the input's.
    """
    if layer is None:
        try:
            return resolve_layer(model, None)[-1]
        except (AttributeError, ValueError) as e:
            raise ValueError(f"Could not find a suitable target layer automatically. {e}") from None
    activation_layer = resolve_layer(model, layer)[-1]
    shape = output_shape(activation_layer)
    input_shape = tuple(model_inputs(model)[0].shape)
    # The layers of a subclassed model have no symbolic output shape to check.
    unknown = shape is None and not is_graph_model(model)
    if not unknown and (shape is None or len(shape) != len(input_shape)):
        raise ValueError(
            f"Can not perform Grad-CAM on the retrieved activation layer {activation_layer.name!r}: "
            f"its output shape {shape} does not have the rank of the input {input_shape}."
        )
    return activation_layer

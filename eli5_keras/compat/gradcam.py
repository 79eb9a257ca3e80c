"""eli5's Grad-CAM functions, same names, signatures, numbers and errors.

``gradcam_backend`` computes, for one image, with the model's output as it is (eli5
differentiates e.g. the softmax probability):

    g = dy^c / dA,   g' = g / ||g||_2  (over the whole tensor, eli5's graph-mode version)
    w_k = mean_ij g'_ij^k

and ``gradcam`` combines them in numpy: ``L = ReLU(sum_k w_k A^k) / (max(L) + 1e-7)``
(optionally without the ReLU, or with the gradient negated: ``relu``, ``counterfactual``).
The graph is compiled once per (model, layer) and reused.
"""
from __future__ import annotations

from typing import List, Optional, Tuple, Union

import keras
import numpy as np
import tensorflow as tf

from ..backend.cache import cached
from ..backend.inputs import prepare_inputs
from ..backend.layers import LayerSpec, resolve_layer
from ..backend.topology import model_inputs, model_outputs
from ..constants import EPSILON
from .probe import LayerProbe, compiled


def gradcam(
    weights: np.ndarray, activations: np.ndarray, relu: bool = True, counterfactual: bool = False
) -> np.ndarray:
    """Grad-CAM localisation map from channel weights and activations (numpy only).

    Parameters
    ----------
    weights : numpy.ndarray, shape (C,)
        One weight per channel (e.g. from :func:`gradcam_backend`).
    activations : numpy.ndarray, shape (*s, C)
        Activation maps of the layer, channels last, any number of spatial axes.
    relu : bool, default True
        Keep only positive evidence (eli5 0.16). False keeps the sign.
    counterfactual : bool, default False
        Negate the gradient, hence the weights (Selvaraju et al., section 5.2): the map
        shows what pushes the target's score *down*.

    Returns
    -------
    lmap : numpy.ndarray, float64, shape s
        ``L = s * sum_k w_k A^k`` with ``s = -1`` when ``counterfactual`` else 1, then
        ``ReLU(L)`` when ``relu``, divided by ``max |L| + 1e-7``: in [0, 1) with ReLU
        (eli5 0.16's numbers exactly, all zeros when no value is positive), in (-1, 1)
        without (zero stays zero, signs kept; eli5's unreleased text draft's scaling).
    """
    weights = np.asarray(weights)
    activations = np.asarray(activations)
    if weights.ndim != 1 or activations.ndim < 1 or activations.shape[-1] != weights.shape[0]:
        raise ValueError(
            f"weights must have shape (C,) matching the last axis of activations (*s, C); "
            f"got weights {weights.shape} and activations {activations.shape}."
        )
    lmap = np.tensordot(activations.astype(np.float64), weights.astype(np.float64), axes=([-1], [0]))
    if counterfactual:
        lmap = -lmap
    if relu:
        lmap = np.maximum(lmap, 0.0)
    return lmap / (np.max(np.abs(lmap)) + EPSILON)


def validate_target(target: object, output_shape: tuple) -> None:
    """eli5's ``_validate_target``: ``target`` must be an int in ``[0, classes)``."""
    if isinstance(target, (int, np.integer)) and not isinstance(target, (bool, np.bool_)):
        output_nodes = output_shape[1:][0]
        if not (0 <= target < output_nodes):
            raise ValueError(
                f"Prediction target index is outside the required range [0, {output_nodes}). Got {target}"
            )
    else:
        raise TypeError(f"Prediction target must be int. Got: {target!r}")


def validate_targets(targets: Optional[list], output_shape: tuple) -> Optional[int]:
    """eli5's target rules: None (top class) or a list of exactly one valid int."""
    if targets is None:
        return None
    if isinstance(targets, list):
        if len(targets) != 1:
            raise ValueError(
                "More than one prediction target is currently not supported "
                f"(found a list that is not length 1): {targets}"
            )
        validate_target(targets[0], output_shape)
        return int(targets[0])
    raise TypeError(f'Invalid argument "targets" (must be list or None): {targets!r}')


class _Eli5Backend:
    """The compiled graph behind :func:`gradcam_backend` for one (model, layer)."""

    def __init__(self, model: keras.Model, layer: LayerSpec) -> None:
        self.probe = LayerProbe(model, resolve_layer(model, layer), use_logits=False)
        specs = [
            tf.TensorSpec((None,) + tuple(x.shape[1:]), keras.backend.standardize_dtype(x.dtype))
            for x in model_inputs(model)
        ]
        self.function = compiled(self._graph, specs, targets=1)

    def _graph(self, inputs, code):
        result = self.probe.run(inputs, code)
        grads = tf.math.l2_normalize(result.gradients[:, 0])
        axes = list(range(1, grads.shape.rank - 1))
        weights = tf.reduce_mean(grads, axis=axes)
        return weights, result.activations, grads, result.classes[:, 0], result.scores[:, 0]


def gradcam_backend(
    model: keras.Model,
    doc: np.ndarray,
    targets: Optional[List[int]],
    activation_layer: Union[keras.layers.Layer, int, str],
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    """Compute the terms of the Grad-CAM formula for a single input.

    Parameters
    ----------
    model : keras.Model
    doc : numpy.ndarray, shape (1, *input_shape)
    targets : list of one int, or None
        None explains the top class.
    activation_layer : keras.layers.Layer (or index, name, ``"outer/inner"`` path)

    Returns
    -------
    weights : (C,), activations : (*s, C), grads : (*s, C), predicted_idx : int, predicted_val : float
        ``grads`` are l2-normalised over the whole tensor, ``weights`` their spatial
        mean; ``predicted_val`` is the model's output for ``predicted_idx``.

    Raises
    ------
    TypeError, ValueError
        eli5's target errors; ValueError when ``doc`` is not a single input.
    """
    target = validate_targets(targets, tuple(model_outputs(model)[0].shape))
    arrays = prepare_inputs(model, doc, name="doc", allow_unbatched=False)
    if len(arrays[0]) != 1:
        raise ValueError(f"doc must hold a single input (batch size 1); got batch size {len(arrays[0])}.")
    backend = cached(model, ("eli5-gradcam", tuple(id(x) for x in resolve_layer(model, activation_layer))),
                     lambda: _Eli5Backend(model, activation_layer))
    backend.probe.verify(arrays)
    code = tf.constant([[-1 if target is None else target]], tf.int32)
    weights, activations, grads, idx, val = backend.function([tf.constant(a) for a in arrays], code)
    return (
        weights.numpy()[0],
        activations.numpy()[0],
        grads.numpy()[0],
        int(idx.numpy()[0]),
        float(val.numpy()[0]),
    )

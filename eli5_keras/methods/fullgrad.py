"""FullGrad (Srinivas & Fleuret, NeurIPS 2019, https://arxiv.org/abs/1905.00780).

The reference (``idiap/fullgrad-saliency:saliency/fullgrad.py``)::

    L[n,t] = sum_c psi(dS/dx ⊙ x)[..., c]
             + sum_l sum_c upsample(psi(dS/dz_l ⊙ b_l), S)[..., c]

``x (N, *S, C)`` is the explained input and ``S`` the target score on the
differentiated scale (the class logit by default, as the reference's models return
logits). ``l`` runs over every layer adding a per-channel bias whose output has the
input's spatial axes: convolutions (``Conv1D/2D/3D``, transposed, depthwise,
separable) and ``Dense`` applied to spatial tensors with ``use_bias``, and
``BatchNormalization`` with its bias folded (inference mode)::

    b = beta - moving_mean * gamma / sqrt(moving_variance + epsilon)

``z_l`` is the layer's output *before* its activation: a layer with a fused activation
is called through a shallow copy with a linear activation (sharing its variables, see
:class:`~eli5_keras.backend.probe.LinearCall`) inside a graph override, and the
activation is applied after, so the model itself is never changed. ``psi(t) = |t|``
then min-max per input and target over all positions and channels,
``(t - min) / (max - min + 1e-6)`` (the reference's ``_postProcess``); ``upsample`` is
linear with half-pixel centres for any rank. The reference sums the terms without a
final normalisation; the shared pipeline then applies its ReLU (a no-op here) and
per-map min-max. Maps are at the input's resolution (``uses_layer = False``).

Biases of layers without spatial axes (a ``Dense`` head) are not part of the map, as in
the reference, but they are terms of the decomposition: :func:`fullgrad_terms` returns
all raw terms, and ``extras["completeness_gap"]`` ``(N, T)`` is
``S - sum(dS/dx ⊙ x) - sum_l sum(dS/dz_l ⊙ b_l)``, which is 0 (up to rounding) for a
network of ReLUs, max/average pooling and the layers above (the reference's
``checkCompleteness``); a nonzero gap reveals implicit biases (other nonlinearities,
biases of other layer types, probabilities explained with ``use_logits=False``).

``scale="channel"`` is pytorch-grad-cam's ``fullgrad_cam.py``: ``psi`` min-max
normalises each channel separately (``scale_accross_batch_and_channels``, epsilon 1e-7)
before the channel sum; pytorch-grad-cam's final normalisation of the total is the
shared pipeline's min-max.

keras-explainable's ``methods.gradient.full_gradients`` (its source, ``_resized_psi_dfx``)
is reached with three more options:

* ``scale="channel_mean"``: ``psi(t)_c = (|t_c| - min|t_c|) / (max|t_c| - min|t_c|)``
  over the positions of channel ``c`` (0 for a constant channel: ``divide_no_nan``, no
  epsilon; its ``filters.absolute_normalize``), then the *mean* over channels.
* ``after_activation=True``: ``z_l`` is the layer's output *after* its fused activation
  (the tensor the layer returns, which keras-explainable exposes), not before it.
* ``sum_targets=True``: one backward pass of ``S = sum_t S_t`` (the sum of the input's
  ``T`` target scores, keras-explainable's gradient of its gathered logits); the one
  map is repeated for each target, as is the completeness gap of ``S``.

``layers`` (names or ``"outer/inner"`` paths of bias layers) keeps only those layers'
terms (keras-explainable: the layers its exposed model outputs); the others are then
neither in the map nor in the completeness gap, which is no longer 0 in general.

Deviations: upsampling uses half-pixel centres (the reference uses
``align_corners=True``); several targets are a loop of ``T`` backward passes through one
recorded forward pass (``per_target_work = True``). Layers inside nested *subclassed*
models (whose ``call`` cannot be replayed reliably) are not reached; their biases show
up in the completeness gap.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from ..backend.inputs import batch_spatial_size
from .. import validation as check
from ..backend.layers import iter_paths, output_shape, path_name, resolve_layer
from ..backend.probe import Forward, LinearCall, ModelProbe, as_float32
from ..backend.topology import LayerPath, call_inference, is_container, is_graph_model
from ..constants import EPSILON, FULLGRAD_PSI_EPSILON
from ..utils.resize import resize_linear
from .base import Context, Method, MethodOutput
from .perturbed import require_float_input

SCALES = ("sample", "channel", "channel_mean")

_BIASED = tuple(
    getattr(keras.layers, name)
    for name in (
        "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
        "DepthwiseConv1D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "Dense",
    )
    if hasattr(keras.layers, name)
)


def bias_layers(model: keras.Model) -> List[LayerPath]:
    """Paths of the layers whose biases FullGrad decomposes the score over: biased
    convolutions and Dense layers, and BatchNormalization, in ``model`` and in nested
    functional/sequential models."""
    paths = []
    for path in iter_paths(model):
        layer = path[-1]
        if any(is_container(c) and not is_graph_model(c) for c in path[:-1]):
            continue
        biased = isinstance(layer, _BIASED) and getattr(layer, "use_bias", False)
        if isinstance(layer, keras.layers.BatchNormalization) or (biased and getattr(layer, "bias", None) is not None):
            paths.append(path)
    return paths


def effective_bias(layer: keras.layers.Layer) -> tf.Tensor:
    """The per-channel bias the layer adds: its ``bias``, or for BatchNormalization the
    folded ``beta - moving_mean * gamma / sqrt(moving_variance + epsilon)``."""
    if isinstance(layer, keras.layers.BatchNormalization):
        mean = tf.convert_to_tensor(layer.moving_mean)
        gamma = tf.convert_to_tensor(layer.gamma) if layer.scale else 1.0
        beta = tf.convert_to_tensor(layer.beta) if layer.center else 0.0
        return beta - mean * gamma / tf.sqrt(tf.convert_to_tensor(layer.moving_variance) + layer.epsilon)
    return tf.convert_to_tensor(layer.bias)


def _check_channels_last(path: LayerPath, rank: int = None) -> None:
    layer = path[-1]
    if isinstance(layer, keras.layers.BatchNormalization):
        shape = output_shape(layer)
        rank = rank if rank is not None else (len(shape) if shape is not None else None)
        axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
        if rank is not None and [a % rank for a in axes] != [rank - 1]:
            raise ValueError(
                f"FullGrad folds the bias of BatchNormalization layer {path_name(path)!r} per channel, "
                f"which needs it to normalise the last axis; it has axis={layer.axis!r}."
            )
    elif getattr(layer, "data_format", "channels_last") != "channels_last":
        raise ValueError(
            f"FullGrad needs channels-last layers; layer {path_name(path)!r} has "
            f"data_format={layer.data_format!r}."
        )


@dataclass
class FullGradTerms:
    """The raw FullGrad decomposition of the target scores, before ``psi``.

    Attributes
    ----------
    inputs : tf.Tensor, shape (N, T, *S, C)
        ``dS[n, t]/dx ⊙ x`` for the explained input.
    biases : list of tf.Tensor, shapes (N, T, *s_l, C_l)
        ``dS[n, t]/dz_l ⊙ b_l``, one per call of a bias layer, in call order.
    paths : list of LayerPath
        The layer of each entry of ``biases``.
    forward : Forward
        The forward pass (labels, scores, reported scores).
    """

    inputs: tf.Tensor
    biases: List[tf.Tensor]
    paths: List[LayerPath]
    forward: Forward

    def completeness_gap(self) -> tf.Tensor:
        """``S - sum(inputs) - sum_l sum(biases_l)``: ``(N, T)``."""
        total = _sum_per_map(self.inputs)
        for term in self.biases:
            total += _sum_per_map(term)
        return self.forward.scores - total


def _sum_per_map(term: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(term, axis=list(range(2, term.shape.rank)))


def fullgrad_terms(
    probe: ModelProbe,
    inputs: Sequence[tf.Tensor],
    data: tf.Tensor,
    input_index: int = 0,
    paths: Optional[Sequence[LayerPath]] = None,
    after_activation: bool = False,
    sum_targets: bool = False,
) -> FullGradTerms:
    """One forward pass recording the output ``z_l`` of every bias layer in ``paths``
    (default :func:`bias_layers`), before its fused activation (or after it, with
    ``after_activation``), then one backward pass per target (one of the targets' sum
    with ``sum_targets``: terms ``(N, 1, ...)``, ``forward.scores`` summed to ``(N, 1)``):
    the raw terms ``dS/dx ⊙ x`` and ``dS/dz_l ⊙ b_l``. Traceable."""
    inputs = list(inputs)
    x = inputs[input_index]
    num_targets = data.shape[1]
    if num_targets is None:
        raise ValueError("FullGrad needs a known number of targets per input.")
    records: list = []
    paths = bias_layers(probe.model) if paths is None else paths
    with tf.GradientTape(watch_accessed_variables=False, persistent=num_targets > 1 and not sum_targets) as tape:
        tape.watch(x)
        overrides = {path: _recording_call(path, probe, tape, records, after_activation) for path in paths}
        fwd = probe.forward(inputs, data, overrides=overrides)
        if sum_targets:
            summed = tf.reduce_sum(fwd.scores, axis=1, keepdims=True)
            fwd = dataclasses.replace(fwd, scores=summed)
        scores = [fwd.scores[:, t] for t in range(fwd.scores.shape[1])]
    wrt = [x] + [z for _, z, _ in records]
    grads = [tape.gradient(s, wrt, unconnected_gradients=tf.UnconnectedGradients.ZERO) for s in scores]
    del tape
    input_term = tf.stack([g[0] * x for g in grads], axis=1)
    # a mixed_float16 layer's z (and its gradient) is float16; the terms are float32
    biases = [
        tf.stack([as_float32(g[1 + i]) * as_float32(bias) for g in grads], axis=1)
        for i, (_, _, bias) in enumerate(records)
    ]
    return FullGradTerms(input_term, biases, [path for path, _, _ in records], fwd)


def _recording_call(
    path: LayerPath, probe: ModelProbe, tape: tf.GradientTape, records: list, after_activation: bool = False
) -> Callable:
    """Override of a bias layer: compute ``z`` (before the activation, or the layer's
    output with ``after_activation``), watch and record it with the layer's bias, and
    return what the layer would (the activation of ``z``; ``z`` itself where the probe
    reads logits at the model's final layer)."""
    layer = path[-1]
    final = None if isinstance(layer, keras.layers.BatchNormalization) else probe.logit_override(path)
    if final is not None:  # the final layer, read before its softmax/sigmoid
        linear, squash = final, None
    elif isinstance(layer, keras.layers.BatchNormalization) or after_activation:
        linear, squash = None, None
    else:
        linear, squash = LinearCall(layer), layer.activation

    def call(layer, *args, **kwargs):
        z = call_inference(layer, args, kwargs) if linear is None else linear(layer, *args, **kwargs)
        _check_channels_last(path, z.shape.rank)
        tape.watch(z)
        records.append((path, z, effective_bias(layer)))
        return z if squash is None else squash(z)

    return call


class FullGrad(Method):
    """FullGrad: input-gradient ⊙ input plus bias-gradient ⊙ bias of every conv and
    BatchNormalization layer, each made positive, scaled and upsampled, summed.

    Parameters
    ----------
    scale : {"sample", "channel", "channel_mean"}, default "sample"
        Min-max of ``|term|`` over all positions and channels of each map (the
        reference), or per channel, summed over channels (pytorch-grad-cam, epsilon
        1e-7) or averaged (keras-explainable, ``divide_no_nan``).
    after_activation : bool, default False
        Differentiate with respect to each layer's output after its fused activation
        (keras-explainable) instead of before it (the paper's ``z_l``).
    sum_targets : bool, default False
        One map for the sum of each input's target scores, repeated per target.
    layers : tuple of str, optional
        Names (or ``"outer/inner"`` paths) of the bias layers whose terms count;
        None: every bias layer.
    """

    name = "fullgrad"
    title = "FullGrad"
    summary = "input-gradient x input plus bias-gradient x bias of every conv/BN layer"
    uses_layer = False

    def __init__(
        self,
        scale: str = "sample",
        after_activation: bool = False,
        sum_targets: bool = False,
        layers: Optional[Sequence[str]] = None,
    ) -> None:
        self.scale = check.choice("scale", scale, SCALES)
        self.after_activation = check.boolean("after_activation", after_activation)
        self.sum_targets = check.boolean("sum_targets", sum_targets)
        self.per_target_work = not self.sum_targets
        self.layers = None if layers is None else _layer_names(layers)

    def paths(self, model: keras.Model) -> List[LayerPath]:
        """The bias layers whose terms count (``layers``, else all of them)."""
        every = bias_layers(model)
        if self.layers is None:
            return every
        chosen = []
        for i, name in enumerate(self.layers):
            path = resolve_layer(model, name)
            if path not in every:
                raise ValueError(
                    f"layers[{i}] must be a layer that adds a bias (a biased convolution or Dense, or "
                    f"BatchNormalization); got {name!r}, a {type(path[-1]).__name__}."
                )
            chosen.append(path)
        return chosen

    def setup(self, context: Context) -> None:
        if not context.channels_last:
            raise ValueError(
                f"method {self.name!r} multiplies input {context.input_index} by its gradient, and it holds "
                "token ids; explain an embedding layer's output with a CAM method instead."
            )
        require_float_input(context, f"method {self.name!r}", "differentiates the input")
        for path in self.paths(context.probe.model):
            _check_channels_last(path)

    def psi(self, term: tf.Tensor) -> tf.Tensor:
        """``|term|`` min-max scaled (per map, or per channel) and summed over channels:
        ``(N, T, *s, C) -> (N, T, *s)``.

        Per map (``scale="sample"``) the scaling is shared by the channels, so it is
        applied after the channel sum: ``(sum_c |t_c| - C * low) / (high - low + eps)``.
        """
        term = tf.abs(term)
        last = term.shape.rank - 1
        if self.scale == "sample":
            low = tf.reduce_min(term, axis=list(range(2, last + 1)), keepdims=True)[..., 0]
            high = tf.reduce_max(term, axis=list(range(2, last + 1)), keepdims=True)[..., 0]
            channels = tf.cast(tf.shape(term)[-1], term.dtype)
            return (tf.reduce_sum(term, axis=-1) - channels * low) / (high - low + FULLGRAD_PSI_EPSILON)
        low = tf.reduce_min(term, axis=list(range(2, last)), keepdims=True)
        high = tf.reduce_max(term, axis=list(range(2, last)), keepdims=True)
        if self.scale == "channel_mean":
            return tf.reduce_mean(tf.math.divide_no_nan(term - low, high - low), axis=-1)
        return tf.reduce_sum((term - low) / (high - low + EPSILON), axis=-1)

    def compute(self, context, inputs, data, block):
        x = inputs[context.input_index]
        terms = fullgrad_terms(
            context.probe, inputs, data, context.input_index, self.paths(context.probe.model),
            self.after_activation, self.sum_targets,
        )
        size = batch_spatial_size(x)
        maps = self.psi(terms.inputs)
        # Resizing is linear: the terms of one grid are summed first and resized once
        # (ResNet50: 5 grids for 106 bias layers).
        grids = {}
        for index, term in enumerate(terms.biases):
            if term.shape.rank == terms.inputs.shape.rank:
                grid = tuple(term.shape[2:-1])
                key = grid if None not in grid else index  # unknown sizes: on its own
                psi = self.psi(term)
                grids[key] = grids[key] + psi if key in grids else psi
        for summed in grids.values():
            maps += resize_linear(summed, size, first_axis=2)
        gap = terms.completeness_gap()
        if self.sum_targets:  # one map (and gap) for all targets
            count = tf.shape(data)[1]
            maps, gap = tf.repeat(maps, count, axis=1), tf.repeat(gap, count, axis=1)
        return MethodOutput(maps, terms.forward.labels, terms.forward.reported, {"completeness_gap": gap})


def _layer_names(layers: Any) -> Tuple[str, ...]:
    """``layers`` as a non-empty tuple of layer names / paths."""
    if isinstance(layers, str) or not isinstance(layers, (tuple, list)) or not layers:
        raise TypeError(f"layers must be None or a non-empty tuple of layer names; got {layers!r}.")
    for i, name in enumerate(layers):
        if not isinstance(name, str):
            raise TypeError(f"layers[{i}] must be a layer name (str); got {type(name).__name__}: {name!r}.")
    return tuple(layers)

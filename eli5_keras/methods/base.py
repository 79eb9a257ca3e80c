"""Shared base of explanation methods: one override point per family.

A method turns a chunk of inputs and their target data into raw maps ``(N, T, *s)``
(before the shared ReLU / normalisation / resize of :mod:`eli5_keras.explain`), using
the traceable primitives of :class:`~eli5_keras.backend.probe.ModelProbe` held by a
:class:`Context`. Families and their override points:

* :class:`GradientCAM` (CAM at a layer from ``A`` and ``g``): override
  :meth:`GradientCAM.cam`; :class:`ChannelWeightCAM` narrows it to
  :meth:`ChannelWeightCAM.channel_weights` (``L = sum_k w_k A^k``).
* :class:`~eli5_keras.methods.input_gradients.InputGradientMethod` (maps from the
  input's gradient ``g``): override ``gradients(context, inputs, data)`` and/or
  ``attribution(x, g)``; the channel reduction is its ``reduce`` attribute.
* Expanded input attributions, perturbations and wrappers subclass :class:`Method` and override
  :meth:`Method.compute`; expanded work (steps, masks, channels, samples) is summed in
  blocks of at most ``block`` items per input with :func:`sum_over_blocks`, so one
  ``batch_size`` bounds memory.

Every method is written once for any number of spatial axes (1-D signals, 2-D
images, 3-D volumes).
"""
from __future__ import annotations

import abc
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Dict, List, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from ..backend.graph import LayerPath
from ..backend.probe import ModelProbe
from ..backend.tokens import TokenGrid
from ..backend.topology import model_inputs


@dataclass
class Context:
    """What a method needs besides the data, fixed for one :class:`~eli5_keras.explain.Explainer`.

    Attributes
    ----------
    probe : ModelProbe
        Forward passes and gradients for the explained model and target.
    path : LayerPath or None
        The explained layer (CAM methods), None for methods on the input.
    input_index : int
        The model input the maps are aligned with (the one perturbed or
        differentiated by input methods).
    layer_shape : tuple or None
        Output shape of the explained layer, batch axis included, when known.
    channels_last : bool
        The input has a trailing channel axis (images, volumes, signals); False for
        token ids ``(N, L)``.
    tokens : TokenGrid or None
        How the explained layer's tokens ``(N, P + h*w, D)`` form a patch grid
        (:mod:`eli5_keras.backend.tokens`); None for a layer that is not a token sequence.
    """

    probe: ModelProbe
    path: Optional[LayerPath]
    input_index: int
    layer_shape: Optional[tuple] = None
    channels_last: bool = True
    tokens: Optional[TokenGrid] = None


@dataclass
class MethodOutput:
    """Raw maps ``(N, T, *s)``, labels ``(N, T)``, reported scores ``(N, T)`` and
    per-map extras (e.g. Integrated Gradients' completeness gap ``(N, T)``)."""

    maps: tf.Tensor
    labels: tf.Tensor
    scores: tf.Tensor
    extras: Dict[str, tf.Tensor] = field(default_factory=dict)


class Method(abc.ABC):
    """An explanation method, selected by ``name`` in ``explain(..., method=name)``.

    Class attributes declare the family's properties:

    ``uses_layer``
        Explained at an inner layer (CAM family); the layer argument applies.
    ``signed``
        Maps carry meaningful negative values (Integrated Gradients, gradient x
        input): the default pipeline then keeps the sign (no ReLU) and the raw scale
        (no normalisation).
    ``per_target_work``
        The expanded work multiplies with the number of targets T (one backward
        pass per target); False when one forward pass serves every target.
    ``aliases``
        Other names :func:`eli5_keras.methods.get` accepts for the method (e.g.
        ``"gradcam_pp"`` for ``"gradcam++"``); not listed by ``available()``.
    ``maps_at_input``
        A method at a layer (``uses_layer``) whose maps already have the input's
        spatial shape (Guided Grad-CAM): the driver does not resize them.
    ``reads_activations``
        A method at a layer that reads the layer's activations (and gradients), so a
        token layer's are seen as a patch grid; False for the attention methods, which
        read attention matrices and take only the grid's geometry (``Context.tokens``).

    Options are keyword arguments of ``__init__``; unknown options raise TypeError.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    uses_layer: ClassVar[bool] = True
    signed: ClassVar[bool] = False
    per_target_work: ClassVar[bool] = True
    aliases: ClassVar[Tuple[str, ...]] = ()
    maps_at_input: ClassVar[bool] = False
    reads_activations: ClassVar[bool] = True

    def unsupported(self, model: keras.Model) -> Optional[str]:
        """Why the method cannot apply to ``model`` at all (e.g. the attention methods
        on a model without attention layers), or None. Lets a report's default method
        list leave it out; explaining with it raises ValueError with the reason."""
        return None

    def default_layer(self, model: keras.Model) -> Optional[LayerPath]:
        """The layer explained when ``layer=None``: None for the general automatic
        choice (:func:`~eli5_keras.backend.layers.auto_layer`)."""
        return None

    def setup(self, context: Context) -> None:
        """One-time checks and lookups for a model (e.g. find CAM's dense layer).
        Raise ValueError with what to pass when the model does not fit the method."""

    def expansion(self, context: Context) -> int:
        """Items of work (forward or forward+backward passes) per input and target."""
        return 1

    @abc.abstractmethod
    def compute(
        self, context: Context, inputs: List[tf.Tensor], data: tf.Tensor, block: tf.Tensor
    ) -> MethodOutput:
        """Traceable: raw maps for a chunk of inputs ``(n, ...)`` with target data
        ``(n, T, ...)``; expanded work in blocks of at most ``block`` items per input."""

    def side_signature(self, context: Context) -> Tuple[tf.TensorSpec, ...]:
        """Specs ``(None, ...)`` of per-input arrays the method needs besides the model
        inputs (black-box methods: feature labels and counts, :mod:`.segments`); () for
        none. When not empty, :meth:`side_data` computes them in numpy for each chunk,
        before the graph, and the driver passes them to ``compute`` as ``side=``."""
        return ()

    def side_data(self, context: Context, arrays: List[Any], start: int, total: int) -> Tuple[Any, ...]:
        """The arrays of :meth:`side_signature` for a chunk: ``arrays`` are the chunk's
        model inputs as numpy (inputs ``start .. start + n`` of a call with ``total``)."""
        return ()

    def options(self) -> Dict[str, Any]:
        """The method's options (the ``__init__`` arguments), for cache keys and display."""
        params = inspect.signature(type(self).__init__).parameters
        return {k: getattr(self, k) for k in params if k != "self" and hasattr(self, k)}

    def key(self) -> tuple:
        return (self.name,) + tuple(sorted((k, _hashable(v)) for k, v in self.options().items()))


def explained_input_spec(context: Context) -> Tuple[Any, str]:
    """The model input the maps are aligned with, and its dtype name (``"float32"``)."""
    spec = model_inputs(context.probe.model)[context.input_index]
    return spec, keras.backend.standardize_dtype(spec.dtype)


def is_float_dtype(dtype: str) -> bool:
    """Whether an input of dtype ``dtype`` can be masked, noised or differentiated
    (as opposed to token ids and other integers)."""
    return tf.as_dtype(dtype).is_floating


def _hashable(value: Any) -> Any:
    try:
        hash(value)
        return value
    except TypeError:
        return repr(value)


# -- CAM family ------------------------------------------------------------------------


class GradientCAM(Method):
    """CAM methods computed from the activations ``A (N, *s, C)`` of a layer and the
    target gradients ``g (N, T, *s, C)``: override :meth:`cam`."""

    @abc.abstractmethod
    def cam(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """Raw map ``(N, T, *s)`` (before ReLU)."""

    def compute(self, context, inputs, data, block):
        activations, gradients, fwd = context.probe.layer_gradients(inputs, data, context.path)
        return MethodOutput(self.cam(activations, gradients), fwd.labels, fwd.reported)


class ChannelWeightCAM(GradientCAM):
    """CAM methods of the form ``L = sum_k w_k A^k``: override :meth:`channel_weights`."""

    @abc.abstractmethod
    def channel_weights(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """Weights ``(N, T, C)`` from ``A (N, *s, C)`` and ``g (N, T, *s, C)``."""

    def cam(self, activations, gradients):
        return weighted_channel_sum(activations, self.channel_weights(activations, gradients))


# -- shape-generic helpers -------------------------------------------------------------


def spatial_axes(gradients: tf.Tensor) -> list:
    """Spatial axes of a ``(N, T, *s, C)`` tensor."""
    return list(range(2, gradients.shape.rank - 1))


def weighted_channel_sum(activations: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
    """``L[n, t] = sum_k weights[n, t, k] * A[n, ..., k]``: ``(N, *s, C), (N, T, C) -> (N, T, *s)``."""
    shape = tf.shape(activations)
    flat = tf.reshape(activations, tf.stack([shape[0], -1, shape[-1]]))
    maps = tf.matmul(weights, flat, transpose_b=True)
    return tf.reshape(maps, tf.concat([tf.shape(weights)[:2], shape[1:-1]], axis=0))


ONE_BLOCK_AT_A_TIME = 1
"""``parallel_iterations`` of the block loops. TensorFlow's default (10) lets the
executor start later iterations while earlier ones run whenever a block's work does
not depend on the accumulator, as here: up to 10 blocks (10 x ``batch_size`` inputs) in
flight. One at a time keeps the bound ``batch_size`` promises (peak memory flat in
``steps``, see benchmarks/bench_memory.py)."""


def sum_over_blocks(
    fn: Callable[[tf.Tensor, tf.Tensor], Any], count: Any, block: tf.Tensor, initial: Any
) -> Any:
    """``sum_b fn(start_b, size_b)`` over items ``[0, count)`` in blocks of at most
    ``block`` items, as a ``tf.while_loop`` (one compiled graph, memory of one block).

    ``fn(start, size)`` returns a structure like ``initial`` (tensors of fixed shape).
    """
    count = tf.cast(count, tf.int32)
    block = tf.maximum(tf.cast(block, tf.int32), 1)

    def body(start, acc):
        size = tf.minimum(block, count - start)
        out = fn(start, size)
        return start + size, tf.nest.map_structure(tf.add, acc, out)

    _, total = tf.while_loop(lambda start, _: start < count, body, (tf.constant(0), initial),
                             parallel_iterations=ONE_BLOCK_AT_A_TIME)
    return total


def concat_over_blocks(
    fn: Callable[[tf.Tensor, tf.Tensor], tf.Tensor], count: Any, block: tf.Tensor, axis: int = 0,
    dtype: tf.DType = tf.float32,
) -> tf.Tensor:
    """``fn(start, size)`` (of ``dtype``) over blocks of ``[0, count)``, concatenated along
    ``axis`` (e.g. Score-CAM's channel scores before a softmax across channels)."""
    count = tf.cast(count, tf.int32)
    block = tf.maximum(tf.cast(block, tf.int32), 1)
    n_blocks = (count + block - 1) // block
    parts = tf.TensorArray(dtype, size=n_blocks, infer_shape=False)

    def body(i, parts):
        start = i * block
        size = tf.minimum(block, count - start)
        value = fn(start, size)
        if axis != 0:
            value = tf.experimental.numpy.moveaxis(value, axis, 0)
        return i + 1, parts.write(i, value)

    _, parts = tf.while_loop(lambda i, _: i < n_blocks, body, (tf.constant(0), parts),
                             parallel_iterations=ONE_BLOCK_AT_A_TIME)
    out = parts.concat()
    return out if axis == 0 else tf.experimental.numpy.moveaxis(out, 0, axis)


def fold_over_blocks(
    fn: Callable[[tf.Tensor, tf.Tensor], Any], merge: Callable[[Any, Any], Any], count: Any, block: tf.Tensor
) -> Any:
    """``merge`` of ``fn(start, size)`` over blocks of ``[0, count)`` (``count >= 1``), as a
    ``tf.while_loop`` after a first block that fixes the structure: for accumulators whose
    structure is only known from a result (a wrapped method's extras) or that are not
    sums (streaming mean and variance)."""
    count = tf.cast(count, tf.int32)
    block = tf.maximum(tf.cast(block, tf.int32), 1)
    first = fn(tf.constant(0), tf.minimum(block, count))
    invariants = tf.nest.map_structure(lambda t: tf.TensorShape([None] * t.shape.rank), first)

    def body(start, acc):
        size = tf.minimum(block, count - start)
        return start + size, merge(acc, fn(start, size))

    _, total = tf.while_loop(
        lambda start, _: start < count,
        body,
        (tf.minimum(block, count), first),
        shape_invariants=(tf.TensorShape([]), invariants),
        parallel_iterations=ONE_BLOCK_AT_A_TIME,
    )
    return tf.nest.map_structure(lambda t, f: tf.ensure_shape(t, f.shape), total, first)


def outer_product(factors: Sequence[tf.Tensor]) -> tf.Tensor:
    """``out[b, i, j, ...] = f0[b, i] * f1[b, j] * ...``: ``(B, D_a)`` each -> ``(B, *D)``
    (separable masks and weights on any number of axes)."""
    rank = len(factors)
    out = None
    for a, factor in enumerate(factors):
        shape = tf.concat([tf.shape(factor)[:1], [1] * a, tf.shape(factor)[1:], [1] * (rank - a - 1)], axis=0)
        factor = tf.reshape(factor, shape)
        out = factor if out is None else out * factor
    return out

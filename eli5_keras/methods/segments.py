"""Features of black-box methods (LIME, KernelSHAP, Sobol, HSIC): the ``segments=`` option.

A *feature* is a set of input positions switched on or off together (a superpixel, a
grid cell, a token). ``segments=`` says how an input of spatial shape ``S`` (any number
of axes; token ids ``(L,)``) is cut into features:

============================  =========================================================
``segments=``                 features of input ``i``
============================  =========================================================
``None``                      a regular grid of ``grid`` cells per spatial axis
                              (``grid=None``: one feature per position), the same for
                              every input: position ``p_a`` on an axis of ``D_a``
                              positions is in cell ``floor((p_a + 0.5) * g_a / D_a)``
                              (nearest-neighbour upsampling of the grid, half-pixel
                              centres: ``tf.image.resize(method="nearest")``); cells are
                              numbered row-major.
int array ``(*S)``            the same labels for every input
int array ``(N, *S)``         labels per input (``N`` = the inputs of the call)
callable                      ``segments(x_i) -> (*S) ints`` on one input as numpy
                              (``(*S, C)``; token ids ``(L,)``)
``"quickshift"``              ``skimage.segmentation.quickshift(kernel_size=4,
                              max_dist=200, ratio=0.2)``: the ``lime`` package's default
                              (2-D images; one channel is repeated to RGB as lime does)
``"slic"``                    ``skimage.segmentation.slic`` with scikit-image's defaults
                              (``n_segments=100, compactness=10``), 2-D or 3-D
============================  =========================================================

Any labels (not necessarily consecutive, any ints) are renumbered per input to
``0 .. K_i - 1`` in increasing order of the original label (``np.unique``), so label
``k`` of a user array ``0 .. K-1`` stays feature ``k``.

Where it runs: labels are computed in numpy, per chunk, **before** the compiled graph
(:meth:`Segments.labels`; segmentation functions are numpy/scikit-image code and need
no tracing), and enter the graph as two tensors (:func:`side_signature`): ``labels``
``(n, *S)`` int32 and ``counts`` ``(n,)`` int32 (``K_i``). A chunk's features are padded
to ``K = max_i K_i``; a padded feature ``k >= K_i`` covers no position, so it is never
present in input ``i``'s masks (:func:`present` says which are real). In the graph,
:func:`feature_masks` turns binary feature vectors ``z (n, B, K)`` into masks
``(n, B, *S)`` with one gather: ``mask[i, b, p] = z[i, b, labels[i, p]]``.

Methods on features subclass :class:`SegmentedMethod` (set ``self.segments =
resolve(segments, grid)`` in ``__init__``): it implements the base's ``side_signature`` /
``side_data`` (:class:`~eli5_keras.methods.base.Method`), so the driver passes each chunk's
``(labels, counts)`` to their ``compute(context, inputs, data, block, side=...)``. For a
given input, labels depend only on the input and ``segments`` (never on the chunk), so
seeded sampling over features gives the same maps whatever ``batch_size``.
"""
from __future__ import annotations

import hashlib
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import tensorflow as tf

from .. import validation as check
from ..backend.inputs import input_spatial_rank
from .base import Context, Method, explained_input_spec

SEGMENTERS = ("quickshift", "slic")
"""Names of the scikit-image segmentations ``segments=`` accepts."""

QUICKSHIFT_OPTIONS = dict(kernel_size=4, max_dist=200, ratio=0.2)
"""The ``lime`` package's default segmentation (``lime_image.LimeImageExplainer``)."""

EXTRA = "superpixels"
"""The pip extra that installs scikit-image: ``pip install eli5-keras[superpixels]``."""

SegmentsSpec = Union[None, str, np.ndarray, Callable[[np.ndarray], np.ndarray]]


class Segments:
    """The resolved ``segments=`` option: hashable (part of an explainer's cache key),
    turns a chunk of inputs into feature labels.

    Build it with :func:`resolve`. ``kind`` is ``"grid"``, ``"array"``, ``"function"``,
    ``"quickshift"`` or ``"slic"``.
    """

    def __init__(self, kind: str, grid: Any = None, array: Optional[np.ndarray] = None,
                 function: Optional[Callable] = None, clamp: bool = False) -> None:
        self.kind = kind
        self.grid = grid
        self.clamp = clamp
        self.array = array
        self.function = function
        if array is not None:
            digest = hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest()
            self._key: tuple = (kind, array.shape, digest)
        elif function is not None:
            self._key = (kind, id(function))
        else:
            self._key = (kind, grid, clamp)

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Segments) and self._key == other._key and self.function is other.function

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        if self.kind == "grid":
            return f"Segments(grid={self.grid!r})"
        if self.kind == "array":
            return f"Segments(array of shape {self.array.shape})"
        if self.kind == "function":
            return f"Segments({getattr(self.function, '__name__', 'function')})"
        return f"Segments({self.kind!r})"

    def check(self, spatial: Sequence[Optional[int]], channels: Optional[int]) -> None:
        """Setup-time checks against an input of static spatial shape ``spatial`` (None
        where unknown) and ``channels`` (None for token ids). ValueError naming
        ``segments`` (or ``grid``) otherwise."""
        rank = len(spatial)
        if self.kind == "grid" and self.grid is not None and not self.clamp:
            grid = check.expand_per_axis("grid", self.grid, rank)
            if any(d is not None and g > d for g, d in zip(grid, spatial)):
                raise ValueError(
                    f"grid must have at most as many cells as positions on each spatial axis "
                    f"{tuple(spatial)}; got {self.grid!r}."
                )
        if self.kind == "array":
            shape = self.array.shape
            if self.array.ndim not in (rank, rank + 1):
                raise ValueError(
                    f"segments must be an int array of shape (*S) or (N, *S) with S the input's "
                    f"{rank} spatial axes {tuple(spatial)}; got shape {shape}."
                )
            tail = shape[-rank:]
            if any(d is not None and d != s for d, s in zip(spatial, tail)):
                raise ValueError(
                    f"segments must have the input's spatial shape {tuple(spatial)} on its last "
                    f"{rank} axes; got shape {shape}."
                )
        if self.kind == "quickshift" and (rank != 2 or channels not in (1, 3)):
            raise ValueError(
                f"segments='quickshift' segments 2-D images with 1 or 3 channels; the input has "
                f"spatial shape {tuple(spatial)} and {channels} channels (use 'slic', a grid or a function)."
            )
        if self.kind == "slic" and (rank not in (2, 3) or channels is None):
            raise ValueError(
                f"segments='slic' segments 2-D images and 3-D volumes with channels; the input has "
                f"spatial shape {tuple(spatial)} (use a grid or a function)."
            )
        if self.kind in SEGMENTERS:
            skimage_segmentation()

    def labels(self, x: np.ndarray, rank: int, start: int = 0, total: Optional[int] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """Feature labels of a chunk.

        Parameters
        ----------
        x : (n, *S, C) array, or (n, L) token ids
            Inputs ``start .. start + n`` of a call with ``total`` inputs.
        rank : int
            Number of spatial axes ``len(S)``.

        Returns
        -------
        labels : (n, *S) int32
            Per input ``0 .. K_i - 1``.
        counts : (n,) int32
            ``K_i``.
        """
        n = x.shape[0]
        spatial = tuple(x.shape[1 : 1 + rank])
        if self.kind == "grid":
            one = grid_labels(spatial, self.grid)
            raw = np.broadcast_to(one, (n,) + spatial)
        elif self.kind == "array":
            if self.array.ndim == rank:
                raw = np.broadcast_to(self.array, (n,) + spatial)
            else:
                if total is not None and self.array.shape[0] != total:
                    raise ValueError(
                        f"segments has labels for {self.array.shape[0]} inputs (shape {self.array.shape}) "
                        f"but {total} inputs were given."
                    )
                raw = self.array[start : start + n]
            if raw.shape[1:] != spatial:
                raise ValueError(
                    f"segments must have the input's spatial shape {spatial}; got shape {self.array.shape}."
                )
        else:
            segment = self.function if self.kind == "function" else SEGMENTATIONS[self.kind]
            raw = np.stack([_checked(segment(x[i]), spatial, i + start) for i in range(n)])
        return consecutive(raw)


def resolve(segments: SegmentsSpec = None, grid: Any = 8, clamp: bool = False) -> Segments:
    """The ``segments=`` option checked and resolved (see the module docstring).

    ``grid``: cells per spatial axis when ``segments`` is None (an int for every axis,
    a tuple per axis, or None for one feature per position); ``clamp``: an axis shorter
    than its grid gets one cell per position (for a method's default grid) instead of a
    ValueError. TypeError / ValueError naming ``segments`` or ``grid`` for anything else.
    """
    if isinstance(segments, Segments):
        return segments
    if segments is None:
        return Segments("grid", grid=None if grid is None else check.per_axis("grid", grid), clamp=clamp)
    if isinstance(segments, str):
        return Segments(check.choice("segments", segments, SEGMENTERS))
    if callable(segments):
        return Segments("function", function=segments)
    if hasattr(segments, "numpy"):
        segments = segments.numpy()
    if isinstance(segments, np.ndarray):
        if segments.dtype.kind not in "iub" or segments.ndim < 1:
            raise TypeError(
                f"segments must be an int array of labels (*S) or (N, *S); got an array of dtype "
                f"{segments.dtype} and shape {segments.shape}."
            )
        array = np.array(segments, dtype=np.int64)
        array.setflags(write=False)
        return Segments("array", array=array)
    raise TypeError(
        f"segments must be None (a grid), an int array (*S) or (N, *S), a function x -> labels, or one of "
        f"{', '.join(repr(s) for s in SEGMENTERS)}; got {type(segments).__name__}: {segments!r}."
    )


def grid_labels(spatial: Sequence[int], grid: Any) -> np.ndarray:
    """Labels ``(*S)`` of a regular grid of ``grid`` cells per axis (None: one cell per
    position): ``cell_a(p) = floor((p + 0.5) * g_a / D_a)``, numbered row-major."""
    rank = len(spatial)
    cells = tuple(spatial) if grid is None else check.expand_per_axis("grid", grid, rank)
    label = np.zeros(tuple(spatial), np.int64)
    for a, (d, g) in enumerate(zip(spatial, cells)):
        g = min(g, d)
        index = np.floor((np.arange(d) + 0.5) * g / d).astype(np.int64)
        shape = [1] * rank
        shape[a] = d
        label = label * g + index.reshape(shape)
    return label


def consecutive(raw: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Per input, labels renumbered ``0 .. K_i - 1`` (order of the original labels) and
    ``K_i``: ``(n, *S)`` ints -> ``(n, *S)`` int32, ``(n,)`` int32."""
    labels = np.empty(raw.shape, np.int32)
    counts = np.empty(raw.shape[0], np.int32)
    for i in range(raw.shape[0]):
        values, inverse = np.unique(raw[i], return_inverse=True)
        labels[i] = inverse.reshape(raw.shape[1:])
        counts[i] = len(values)
    return labels, counts


def side_signature(rank: int) -> Tuple[tf.TensorSpec, tf.TensorSpec]:
    """Graph signature of a chunk's ``(labels (n, *S) int32, counts (n,) int32)``."""
    return tf.TensorSpec((None,) * (1 + rank), tf.int32), tf.TensorSpec((None,), tf.int32)


def feature_masks(z: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Masks ``(n, B, *S)`` from binary feature vectors ``z (n, B, K)`` and ``labels
    (n, *S)``: ``mask[i, b, p] = z[i, b, labels[i, p]]`` (one gather; traceable)."""
    n = tf.shape(labels)[0]
    flat = tf.reshape(labels, tf.stack([n, -1]))
    masks = tf.gather(z, flat, axis=2, batch_dims=1)  # (n, B, P)
    return tf.reshape(masks, tf.concat([tf.shape(z)[:2], tf.shape(labels)[1:]], axis=0))


def per_feature(values: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
    """Per-feature values ``(n, T, K)`` painted onto positions ``(n, T, *S)``:
    ``map[i, t, p] = values[i, t, labels[i, p]]`` (e.g. LIME's coefficients)."""
    return feature_masks(values, labels)


def present(counts: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
    """``(n, K)`` bool: feature ``k`` is a real feature of input ``i`` (``k < K_i``)."""
    return tf.range(k)[None, :] < counts[:, None]


def feature_means(x: tf.Tensor, labels: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
    """The input with each feature's positions set to the feature's mean value per
    channel (the ``lime`` package's ``hide_color=None``): ``(n, *S, C)`` -> same shape."""
    n = tf.shape(x)[0]
    channels = tf.shape(x)[-1]
    flat_x = tf.reshape(x, tf.stack([n, -1, channels]))
    flat_l = tf.reshape(labels, tf.stack([n, -1]))
    ids = flat_l + tf.range(n)[:, None] * k  # a segment id per (input, feature)
    means = tf.math.unsorted_segment_mean(tf.reshape(flat_x, tf.stack([-1, channels])),
                                          tf.reshape(ids, [-1]), n * k)
    return tf.reshape(tf.gather(means, ids), tf.shape(x))


def skimage_segmentation() -> Any:
    """``skimage.segmentation``, or ImportError naming the extra that installs it."""
    try:
        import skimage.segmentation as segmentation
    except ImportError as e:
        raise ImportError(
            "segments='quickshift' or 'slic' needs scikit-image: pip install 'eli5-keras["
            f"{EXTRA}]' (or pass segments=None for a grid, a label array or a function)."
        ) from e
    return segmentation


def _quickshift(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image, np.float64)
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)  # lime's gray2rgb
    return skimage_segmentation().quickshift(image, **QUICKSHIFT_OPTIONS)


def _slic(image: np.ndarray) -> np.ndarray:
    return skimage_segmentation().slic(np.asarray(image, np.float64), start_label=0, channel_axis=-1)


SEGMENTATIONS = {"quickshift": _quickshift, "slic": _slic}


def _checked(labels: Any, spatial: Tuple[int, ...], i: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != spatial or labels.dtype.kind not in "iub":
        raise ValueError(
            f"segments function must return int labels of the input's spatial shape {spatial}; for input {i} "
            f"it returned dtype {labels.dtype} and shape {labels.shape}."
        )
    return labels


class SegmentedMethod(Method):
    """Base of methods on features: holds ``self.segments`` (a :class:`Segments`, set by
    the subclass's ``__init__`` with :func:`resolve`), checks it in :meth:`setup` and
    hands each chunk's ``(labels, counts)`` to ``compute(..., side=(labels, counts))``."""

    segments: Segments

    def features(self, context: Context) -> Segments:
        """The features for this model's input (default: ``self.segments``; a subclass
        may pick a default per input kind, e.g. one feature per token)."""
        return self.segments

    def setup(self, context: Context) -> None:
        spec, _ = explained_input_spec(context)
        rank = input_spatial_rank(spec)
        channels = spec.shape[-1] if context.channels_last else None
        self.features(context).check(tuple(spec.shape[1 : 1 + rank]), channels)

    def side_signature(self, context: Context) -> Tuple[tf.TensorSpec, ...]:
        spec, _ = explained_input_spec(context)
        return side_signature(input_spatial_rank(spec))

    def side_data(self, context: Context, arrays: List[Any], start: int, total: int) -> Tuple[Any, ...]:
        spec, _ = explained_input_spec(context)
        return self.features(context).labels(arrays[context.input_index], input_spatial_rank(spec), start, total)

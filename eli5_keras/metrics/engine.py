"""Metrics that perturb the model's input, on the explanation engine.

A :class:`PerturbationMetric` (deletion, insertion, MuFidelity) is written once as a
traceable ``compute`` on a chunk of inputs, like a method: it builds perturbed copies of
the explained input in blocks of at most ``block`` per input and scores them with the
same :class:`~eli5_keras.backend.probe.ModelProbe` and target callables as the methods,
the targets pinned to the clean input (:meth:`eli5_keras.targets.Target.pin`). The
driver :func:`evaluate_metric` compiles one graph per (model, metric options, kind of
target, input shape), cached per model, and picks chunks and blocks so that at most
``batch_size`` perturbed copies are in flight, as :class:`~eli5_keras.explain.Explainer`
does.

Shapes: inputs ``(N, *S, C)`` (1, 2 or 3 spatial axes), maps ``(N, *S)`` or
``(N, T, *S)`` at the input's spatial shape, scores ``(N,)`` or ``(N, T)``.
"""
from __future__ import annotations

import abc
from typing import Any, ClassVar, List, Optional, Sequence, Tuple

import keras
import numpy as np
import tensorflow as tf

from .. import validation as check
from ..backend.cache import cached, graph_function
from ..backend.inputs import input_spatial_rank, prepare_inputs
from ..backend.legacy import keras_model
from ..backend.probe import ModelProbe
from ..backend.topology import model_inputs, model_outputs
from ..explain import ensure_built, explained_input
from ..methods.base import Context, is_float_dtype
from ..methods.perturbed import forward_copies, pin_targets
from ..targets import Target, as_target
from .baselines import baseline_kind, baseline_values, full_baseline


class PerturbationMetric(abc.ABC):
    """A metric scoring maps by the model's response to perturbed inputs.

    ``per_target_work``: the perturbed copies depend on the map of each target (an
    order of features), so the work multiplies with ``T``; False when one set of copies
    serves every target (random subsets).
    """

    name: ClassVar[str]
    per_target_work: ClassVar[bool] = True
    grid: Any = None
    """None (single positions), or cells per spatial axis (an int for every axis, or a tuple)."""

    def features(self, spatial: Sequence[int]) -> "Features":
        """The features of an input of spatial shape ``spatial`` (static)."""
        grid = None if self.grid is None else check.expand_per_axis("grid", self.grid, len(spatial))
        if grid is not None and any(g > d for g, d in zip(grid, spatial)):
            raise ValueError(
                f"grid must have at most as many cells as positions on each spatial axis {tuple(spatial)}; "
                f"got {self.grid!r}."
            )
        return Features(spatial, grid)

    def options(self) -> tuple:
        """The options a compiled graph depends on (hashable)."""
        return tuple(sorted(vars(self).items()))

    @abc.abstractmethod
    def expansion(self, features: int) -> int:
        """Perturbed copies per input (and per target when ``per_target_work``)."""

    @abc.abstractmethod
    def compute(
        self,
        score: "Scorer",
        x: tf.Tensor,
        maps: tf.Tensor,
        baseline: tf.Tensor,
        features: "Features",
        block: tf.Tensor,
    ) -> tf.Tensor:
        """Traceable: scores ``(n, T)`` for a chunk of inputs ``x (n, *S, C)``, maps
        ``(n, T, *S)`` and baselines like ``x``, perturbed copies in blocks of at most
        ``block`` per input."""


class Features:
    """The features a metric removes: single positions (``grid=None``) or the cells of a
    grid with ``grid[a]`` cells along spatial axis ``a``; position ``i`` of an axis of
    length ``D`` lies in cell ``floor(i * grid[a] / D)`` (cells differ by at most one
    position). Static: built from the input's spatial shape at trace time."""

    def __init__(self, spatial: Sequence[int], grid: Optional[Tuple[int, ...]]) -> None:
        self.spatial = tuple(int(d) for d in spatial)
        self.positions = int(np.prod(self.spatial))
        if grid is None:
            self.count = self.positions
            self.ids = np.arange(self.positions, dtype=np.int32)
        else:
            cells = [np.arange(d) * g // d for d, g in zip(self.spatial, grid)]
            ids = np.zeros(self.spatial, np.int64)
            for a, (axis_cells, g) in enumerate(zip(cells, grid)):
                shape = [1] * len(self.spatial)
                shape[a] = -1
                ids = ids * g + axis_cells.reshape(shape)
            self.count = int(np.prod(grid))
            self.ids = ids.reshape(-1).astype(np.int32)
        self.pixels = grid is None

    def relevance(self, maps: tf.Tensor) -> tf.Tensor:
        """Mean of the maps ``(n, T, P)`` over each feature's positions: ``(n, T, F)``."""
        if self.pixels:
            return maps
        flat = tf.transpose(maps, [2, 0, 1])
        return tf.transpose(tf.math.unsorted_segment_mean(flat, self.ids, self.count), [1, 2, 0])

    def at_positions(self, per_feature: tf.Tensor) -> tf.Tensor:
        """Values ``(..., F)`` per feature spread onto the positions ``(..., P)``."""
        return per_feature if self.pixels else tf.gather(per_feature, self.ids, axis=-1)


class Scorer:
    """The target scores of perturbed copies of a chunk, pinned to the clean pass:
    ``clean (n, T)`` and ``__call__(copies (n * b, *S, C), b) -> (n, b, T)``; the model's
    output as it returns it (probabilities) or, with ``use_logits``, before a final
    softmax/sigmoid."""

    def __init__(self, context: Context, inputs: Sequence[tf.Tensor], data: tf.Tensor, use_logits: bool) -> None:
        self.context, self.inputs, self.use_logits = context, list(inputs), use_logits
        fwd, self.pinned = pin_targets(context, inputs, data)
        self.clean = self._pick(fwd)

    def _pick(self, fwd) -> tf.Tensor:
        return fwd.scores if self.use_logits else fwd.reported

    def __call__(self, copies: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
        out = forward_copies(
            self.context.probe, self.inputs, self.pinned, size, replaced={self.context.input_index: copies}
        )
        n = tf.shape(self.clean)[0]
        return tf.reshape(self._pick(out), tf.stack([n, size, tf.shape(self.clean)[1]]))


def expand_copies(x: tf.Tensor, copies: tf.Tensor) -> tf.Tensor:
    """``(n, b, *S, C)`` copies as one batch ``(n * b, *S, C)``, example-major."""
    shape = tf.shape(copies)
    return tf.reshape(copies, tf.concat([[shape[0] * shape[1]], tf.shape(x)[1:]], axis=0))


def metric_maps(maps: Any, n: int, spatial: Tuple[int, ...]) -> Tuple[np.ndarray, bool]:
    """``maps`` as float32 ``(N, T, *S)`` and whether they came without a target axis."""
    if hasattr(maps, "numpy"):
        maps = maps.numpy()
    array = np.asarray(maps)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"maps must be a numeric array; got dtype {array.dtype}.")
    single = array.ndim == 1 + len(spatial)
    if single:
        array = array[:, None]
    if array.ndim != 2 + len(spatial) or array.shape[0] != n or tuple(array.shape[2:]) != tuple(spatial):
        raise ValueError(
            f"maps must have shape (N, *S) or (N, T, *S) with N = {n} inputs and S = {tuple(spatial)} "
            f"(the input's spatial shape); got {np.shape(maps)}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("maps hold NaN or infinite values.")
    return array.astype(np.float32, copy=False), single


def metric_inputs(model: keras.Model, inputs: Any, input_index: Optional[int]) -> Tuple[List[np.ndarray], int]:
    """The model checked and built, ``inputs`` as one array per model input, and the
    index of the explained one (``input_index``, default the first with spatial axes)."""
    model = keras_model(model)
    ensure_built(model, inputs)
    return prepare_inputs(model, inputs), explained_input(model, None, input_index)


def evaluate_metric(
    metric: PerturbationMetric,
    model: keras.Model,
    inputs: Any,
    maps: Any,
    targets: Any,
    *,
    baseline: Any,
    batch_size: int,
    use_logits: bool,
    output_index: int,
    input_index: Optional[int],
) -> np.ndarray:
    """Run ``metric`` on ``maps`` of ``inputs``: scores ``(N,)`` for maps ``(N, *S)``,
    ``(N, T)`` for maps ``(N, T, *S)`` (``targets`` must then give ``T`` scores per input,
    e.g. ``targets=result.targets`` of an :class:`~eli5_keras.result.ExplanationBatch`)."""
    batch_size = check.integer("batch_size", batch_size, 1)
    use_logits = check.boolean("use_logits", use_logits)
    kind = baseline_kind(baseline)
    arrays, index = metric_inputs(model, inputs, input_index)
    spec = model_inputs(model)[index]
    dtype = keras.backend.standardize_dtype(spec.dtype)
    rank = input_spatial_rank(spec)
    if not is_float_dtype(dtype) or len(spec.shape) != rank + 2:
        raise ValueError(
            f"{metric.name} replaces parts of the input with a baseline, so it needs a float input "
            f"(N, *S, C); input {index} has shape {tuple(spec.shape)} and dtype {dtype}."
        )
    x = arrays[index]
    n, spatial = len(x), tuple(x.shape[1 : 1 + rank])
    maps, single = metric_maps(maps, n, spatial)
    target = as_target(targets, None, output_index).bind([tuple(o.shape) for o in model_outputs(model)], n)
    data = target.encode(n)
    if maps.shape[1] != data.shape[1]:
        raise ValueError(
            f"maps have {maps.shape[1]} map(s) per input but targets give {data.shape[1]} score(s) per input; "
            "pass maps (N, *S) with one target per input, or maps (N, T, *S) with T targets "
            "(e.g. targets=result.targets)."
        )
    kind = full_baseline(kind, x)
    features = metric.features(spatial)
    fn = compiled(metric, model, target, index, use_logits, arrays, data, maps)
    # copies per input; a chunk of inputs holds at most batch_size of them, or one
    # input goes at a time in blocks of batch_size copies
    per_input = metric.expansion(features.count) * (maps.shape[1] if metric.per_target_work else 1)
    chunk = max(1, batch_size // per_input)
    block = tf.constant(min(batch_size, per_input), tf.int32)
    scores = np.empty((n, maps.shape[1]), np.float32)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        part = x[start:stop]
        base = kind[start:stop] if isinstance(kind, np.ndarray) else kind
        values = baseline_values(base, part, rank)
        out = fn(
            [tf.constant(a[start:stop]) for a in arrays],
            tf.constant(data[start:stop]),
            tf.constant(maps[start:stop]),
            tf.constant(values),
            block,
        )
        scores[start:stop] = out.numpy()
    return scores[:, 0] if single else scores


def compiled(
    metric: PerturbationMetric,
    model: keras.Model,
    target: Target,
    index: int,
    use_logits: bool,
    arrays: Sequence[np.ndarray],
    data: np.ndarray,
    maps: np.ndarray,
):
    """The compiled graph ``(inputs, data, maps, baseline, block) -> scores (n, T)``,
    one per (model, metric and options, kind of target, input shapes), cached per model."""
    shapes = tuple(a.shape[1:] for a in arrays)
    key = ("metric", metric.name, metric.options(), target.key(), index, use_logits, shapes, data.shape[2:])

    def build():
        probe = ModelProbe(model, target, use_logits=True)
        context = Context(probe, None, index)
        features = metric.features(arrays[index].shape[1:-1])
        signature = [
            [tf.TensorSpec((None,) + a.shape[1:], a.dtype) for a in arrays],
            tf.TensorSpec((None,) + data.shape[1:], data.dtype),
            tf.TensorSpec((None,) + maps.shape[1:], tf.float32),
            tf.TensorSpec((None,) + arrays[index].shape[1:], arrays[index].dtype),
            tf.TensorSpec((), tf.int32),
        ]

        def graph(inputs, data, maps, baseline, block):
            scorer = Scorer(context, inputs, data, use_logits)
            return metric.compute(scorer, inputs[index], maps, baseline, features, block)

        return graph_function(graph, signature)

    return cached(model, key, build)

"""Shared base of the global-sensitivity attribution methods (Sobol: Fel et al. 2021;
HSIC: Novello et al. 2022), as Xplique's ``GSABaseAttributionMethod``.

The input's spatial axes are cut into a grid of ``g_0 x g_1 (x g_2)`` cells; a design
point ``m in [0, 1]^d`` (``d = prod g``, cells in row-major order) is upsampled to a mask
``M`` on the input by nearest neighbour (each sample takes its cell's value, as
``tf.image.resize(..., "nearest")``), the input is perturbed by ``M``
(:mod:`.gsa_perturbations`) and the model scores it. A subclass says which points the
design is made from (:meth:`GSAMethod.points`, a constant of the graph), how many design
rows ``P`` they give (:meth:`GSAMethod.count`) and how to build a block of rows from them
(:meth:`GSAMethod.rows`: Sobol's ``N (d + 1)`` rows come from ``N x 2d`` points, so the
constant stays ``(d + 1) / 2`` times smaller than the design), and how the scores
``Y (n, T, P)`` become one index per cell (:meth:`GSAMethod.indices`); the base runs the ``P`` perturbed
copies of each input as compiled blocks of at most ``batch_size`` copies
(:func:`~eli5_keras.methods.base.concat_over_blocks`) and resizes the ``(n, T, *g)``
indices onto the input linearly (half-pixel centres, rank-generic; Xplique resizes
2-D maps bicubically), or returns them as they are with ``upsample=False`` (maps
``(N, T, *g)``: the compat facade applies Xplique's own resize to them).

``segments=`` (:mod:`.segments`, shared with the other black-box methods) replaces the
grid by features: a label array, a segmentation function, ``"slic"``, ``"quickshift"``.
Feature ``k``'s coordinate of a design point is then the mask value on all of its
positions (``M[p] = m[label(p)]``, :func:`~.segments.feature_masks`), and each
feature's index is painted onto its positions (:func:`~.segments.per_feature`; no
resize). The number of features ``K`` is known only once an input is segmented, so
inputs are explained one at a time there, each with the design of its own ``K``
(built outside the graph by ``tf.numpy_function``): an input's map depends on its
features, the options and the seed only, whatever ``batch_size``.

``Y`` is ``fwd.reported``: the model's output as it returns it (probabilities behind a
softmax/sigmoid, the raw value of a regression head), whatever ``use_logits`` says, as
Xplique's default operator ``f(x)[y]``. Targets are pinned to the clean input; one pass
scores every target. Any number of spatial axes; masks are shared by the channels
(Xplique's ``nb_channels=1``; per-channel masks are not offered).
"""
from __future__ import annotations

import abc
from typing import Tuple, Union

import numpy as np
import tensorflow as tf

from ..backend.inputs import batch_spatial_size, input_spatial_rank
from ..utils.resize import resize_linear
from .. import validation as check
from .base import Context, MethodOutput, concat_over_blocks
from .gsa_design import SAMPLERS
from .gsa_perturbations import PERTURBATIONS, baseline, cell_indices, perturb, upsample_nearest
from .perturbed import UNKNOWN_CHANNELS, forward_copies, pin_targets, require_float_input
from .segments import SegmentedMethod, SegmentsSpec, feature_masks, per_feature, resolve

DEFAULT_GRID = 8


class GSAMethod(SegmentedMethod):
    """Attribution from a design of grid masks and an estimator of their effect on the target.

    Parameters
    ----------
    grid : int or tuple of ints
        Cells per spatial axis (Xplique's ``grid_size``).
    designs : int
        Design size (Xplique's ``nb_design``).
    sampler : {"sobol", "scrambled_sobol", "lhs"}
        How the design is drawn (:mod:`.gsa_design`).
    perturbation : {"inpainting", "blurring", "amplitude"}
        What a mask does to the input (:mod:`.gsa_perturbations`).
    seed : int
        Seed of the random samplers (``"scrambled_sobol"``, ``"lhs"``; ``"sobol"`` is deterministic).
    segments : None, int array, callable, "slic" or "quickshift"
        Features in place of the grid (:func:`~.segments.resolve`); None: the grid.
    upsample : bool
        Resize the grid's indices onto the input (True) or return the grid-level indices
        (False; the grid only, not with ``segments``).

    Output: maps ``(N, T, *S)``: the ``(N, T, *grid)`` indices resized linearly onto the
    input (``(N, T, *grid)`` as they are with ``upsample=False``); with ``segments``, each
    feature's index on its positions.
    """

    uses_layer = False
    signed = False
    per_target_work = False

    def __init__(
        self,
        grid: Union[int, Tuple[int, ...]],
        designs: int,
        sampler: str,
        perturbation: str,
        seed: int,
        segments: SegmentsSpec = None,
        upsample: bool = True,
    ) -> None:
        self.grid = check.per_axis("grid", grid)
        self.segments = resolve(segments, self.grid)
        self.upsample = check.boolean("upsample", upsample)
        if not self.upsample and not self.on_grid():
            raise ValueError(
                "upsample=False returns the grid's indices, so it needs segments=None; "
                f"got segments of kind {self.segments.kind!r}."
            )
        self.designs = check.integer("designs", designs, 2)
        self.sampler = check.choice("sampler", sampler, SAMPLERS)
        self.perturbation = check.choice("perturbation", perturbation, PERTURBATIONS)
        self.seed = check.integer("seed", seed, 0)

    @abc.abstractmethod
    def points(self, dimension: int) -> np.ndarray:
        """What the design of ``dimension`` coordinates is built from (float32, 2-D), a
        function of the options only; ValueError for an impossible design."""

    @abc.abstractmethod
    def count(self, dimension: int) -> int:
        """Rows ``P`` of the design of ``dimension`` coordinates."""

    @abc.abstractmethod
    def rows(self, points: tf.Tensor, start: tf.Tensor, size: tf.Tensor) -> tf.Tensor:
        """Design rows ``start .. start + size`` ``(size, d)`` in ``[0, 1]`` from ``points``."""

    @abc.abstractmethod
    def indices(self, scores: tf.Tensor, points: tf.Tensor, block: tf.Tensor) -> tf.Tensor:
        """One index per cell ``(n, T, d)`` from the scores ``(n, T, P)`` of the design rows."""

    def on_grid(self) -> bool:
        """Features are the grid cells (``segments=None``)."""
        return self.segments.kind == "grid"

    def setup(self, context: Context) -> None:
        spec = require_float_input(context, self.name, "perturbs the input with continuous masks")
        if self.on_grid():
            grid = check.expand_per_axis("grid", self.grid, input_spatial_rank(spec))
            self.points(int(np.prod(grid)))  # an impossible design fails here, before any work
        else:
            super().setup(context)

    def expansion(self, context: Context) -> int:
        if not self.on_grid():
            return UNKNOWN_CHANNELS  # K is known per input: one input at a time, blocks of batch_size
        spec = require_float_input(context, self.name, "perturbs the input with continuous masks")
        grid = check.expand_per_axis("grid", self.grid, input_spatial_rank(spec))
        return self.count(int(np.prod(grid)))

    def side_signature(self, context: Context) -> Tuple[tf.TensorSpec, ...]:
        return () if self.on_grid() else super().side_signature(context)

    def side_data(self, context, arrays, start, total):
        if self.on_grid():
            return ()
        labels, counts = super().side_data(context, arrays, start, total)
        for i, k in enumerate(counts):
            try:
                self.points(int(k))
            except ValueError as e:
                raise ValueError(f"segments gives input {start + i} {int(k)} features: {e}") from None
        return labels, counts

    def compute(self, context, inputs, data, block, side=None):
        x = inputs[context.input_index]
        rank = x.shape.rank - 2
        sizes = batch_spatial_size(x, rank)
        fwd, pinned = pin_targets(context, inputs, data)
        n, t = tf.shape(x)[0], tf.shape(fwd.scores)[1]
        base = baseline(self.perturbation, x, rank)
        if side is None:  # the grid: Xplique's cells, nearest-upsampled
            grid = check.expand_per_axis("grid", self.grid, rank)
            dimension = int(np.prod(grid))
            points = tf.constant(self.points(dimension))
            count = self.count(dimension)
            cells = cell_indices(sizes, grid)

            def masks_of(points):  # (size, d) -> (1, size, *S)
                points = tf.reshape(points, tf.concat([tf.shape(points)[:1], grid], axis=0))
                return upsample_nearest(points, cells, first_axis=1)[None]
        else:  # features: one input per chunk, K = its number of features
            labels, counts = side
            features = tf.reduce_max(counts)
            points = tf.numpy_function(lambda k: self.points(int(k)), [features], tf.float32)
            points = tf.ensure_shape(points, (None, None))
            count = tf.numpy_function(lambda k: np.int32(self.count(int(k))), [features], tf.int32)

            def masks_of(points):  # (size, K) -> (n, size, *S)
                return feature_masks(tf.repeat(points[None], n, axis=0), labels)

        def block_scores(start, size):
            masks = tf.cast(masks_of(self.rows(points, start, size)), x.dtype)
            copies = perturb(self.perturbation, x, masks, base)
            copies = tf.reshape(copies, tf.concat([[n * size], tf.shape(x)[1:]], axis=0))
            out = forward_copies(context.probe, inputs, pinned, size, replaced={context.input_index: copies})
            return tf.cast(tf.reshape(out.reported, tf.stack([n, size, t])), tf.float32)  # (n, size, T)

        scores = concat_over_blocks(block_scores, count, block, axis=1)  # (n, P, T)
        values = self.indices(tf.transpose(scores, [0, 2, 1]), points, block)  # (n, T, d)
        if side is not None:
            return MethodOutput(per_feature(values, side[0]), fwd.labels, fwd.reported)
        maps = tf.reshape(values, tf.concat([tf.stack([n, t]), grid], axis=0))
        if self.upsample:
            maps = resize_linear(maps, sizes, first_axis=2)
        return MethodOutput(maps, fwd.labels, fwd.reported)

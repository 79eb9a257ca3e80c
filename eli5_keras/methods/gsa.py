"""Shared base of the global-sensitivity attribution methods (Sobol: Fel et al. 2021;
HSIC: Novello et al. 2022), as Xplique's ``GSABaseAttributionMethod``.

The input's spatial axes are cut into a grid of ``g_0 x g_1 (x g_2)`` cells; a design
point ``m in [0, 1]^d`` (``d = prod g``, cells in row-major order) is upsampled to a mask
``M`` on the input by nearest neighbour (each sample takes its cell's value, as
``tf.image.resize(..., "nearest")``), the input is perturbed by ``M``
(:mod:`.gsa_perturbations`) and the model scores it. A subclass says which design
(:meth:`GSAMethod.design`) and how the scores ``Y (n, T, P)`` of its ``P`` points become
one index per cell (:meth:`GSAMethod.indices`); the base runs the ``P`` perturbed
copies of each input as compiled blocks of at most ``batch_size`` copies
(:func:`~eli5_keras.methods.base.concat_over_blocks`) and resizes the ``(n, T, *g)``
indices onto the input linearly (half-pixel centres, rank-generic; Xplique resizes
2-D maps bicubically).

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
from .base import Context, Method, MethodOutput, concat_over_blocks
from .gsa_design import SAMPLERS
from .gsa_perturbations import PERTURBATIONS, baseline, cell_indices, perturb, upsample_nearest
from .perturbed import forward_copies, pin_targets, require_float_input

DEFAULT_GRID = 8


class GSAMethod(Method):
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
    ) -> None:
        self.grid = check.per_axis("grid", grid)
        self.designs = check.integer("designs", designs, 2)
        self.sampler = check.choice("sampler", sampler, SAMPLERS)
        self.perturbation = check.choice("perturbation", perturbation, PERTURBATIONS)
        self.seed = check.integer("seed", seed, 0)

    @abc.abstractmethod
    def design(self, dimension: int) -> np.ndarray:
        """The design ``(P, dimension)`` in ``[0, 1]``, a function of the options only."""

    @abc.abstractmethod
    def indices(self, scores: tf.Tensor, design: tf.Tensor, block: tf.Tensor) -> tf.Tensor:
        """One index per cell ``(n, T, d)`` from the scores ``(n, T, P)`` of the design ``(P, d)``."""

    def setup(self, context: Context) -> None:
        spec = require_float_input(context, self.name, "perturbs the input with continuous masks")
        grid = check.expand_per_axis("grid", self.grid, input_spatial_rank(spec))
        self.design(int(np.prod(grid)))  # an impossible design fails here, before any work

    def expansion(self, context: Context) -> int:
        spec = require_float_input(context, self.name, "perturbs the input with continuous masks")
        grid = check.expand_per_axis("grid", self.grid, input_spatial_rank(spec))
        return int(self.design(int(np.prod(grid))).shape[0])

    def compute(self, context, inputs, data, block):
        x = inputs[context.input_index]
        rank = x.shape.rank - 2
        sizes = batch_spatial_size(x, rank)
        grid = check.expand_per_axis("grid", self.grid, rank)
        design = tf.constant(self.design(int(np.prod(grid))))
        cells = cell_indices(sizes, grid)
        fwd, pinned = pin_targets(context, inputs, data)
        n, t = tf.shape(x)[0], tf.shape(fwd.scores)[1]
        base = baseline(self.perturbation, x, rank)

        def block_scores(start, size):
            points = tf.reshape(design[start : start + size], tf.concat([[size], grid], axis=0))
            masks = tf.cast(upsample_nearest(points, cells, first_axis=1), x.dtype)
            copies = perturb(self.perturbation, x, masks, base)
            copies = tf.reshape(copies, tf.concat([[n * size], tf.shape(x)[1:]], axis=0))
            out = forward_copies(context.probe, inputs, pinned, size, replaced={context.input_index: copies})
            return tf.cast(tf.reshape(out.reported, tf.stack([n, size, t])), tf.float32)  # (n, size, T)

        scores = concat_over_blocks(block_scores, design.shape[0], block, axis=1)  # (n, P, T)
        values = self.indices(tf.transpose(scores, [0, 2, 1]), design, block)  # (n, T, d)
        maps = tf.reshape(values, tf.concat([tf.stack([n, t]), grid], axis=0))
        return MethodOutput(resize_linear(maps, sizes, first_axis=2), fwd.labels, fwd.reported)

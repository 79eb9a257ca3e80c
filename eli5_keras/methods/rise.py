"""RISE: Randomized Input Sampling for Explanation (Petsiuk et al., 2018,
https://arxiv.org/abs/1806.07421; the authors' code ``eclique/RISE``).

``N`` random masks ``M_i`` keep part of the input; a pixel's saliency is the expected
target probability over the masks that keep it:

    grid_i  ~ Bernoulli(p1) on an s x s (x s) grid
    cell_a  = ceil(D_a / s_a)
    M_i     = crop_{shift_i}( upsample_linear(grid_i, (s_a + 1) * cell_a) ),  shift_i,a ~ U{0..cell_a-1}
    sal[n, t] = sum_i P_i[n, t] * M_i / (N * p1),    P_i = target probability on x ⊙ M_i

``P`` is ``fwd.reported``: the model's output as it returns it (softmax/sigmoid
probabilities; the raw value for a regression head), whatever ``use_logits`` says, as
in the paper. Each mask has its own random shift (the authors' code; Xplique crops a
whole batch of masks at one shared offset, which the paper does not do). Masks are
upsampled with the rank-generic linear resize of :mod:`eli5_keras.utils.resize`
(half-pixel centres, edge clamping; the authors' ``skimage.transform.resize(order=1,
mode='reflect')`` mirrors at the border instead, which changes samples within half a
grid cell of the upsampled border only). Any number of spatial axes.

Flags: ``mask_value`` fills the hidden part, ``x * M + (1 - M) * mask_value``
(Xplique's ``mask_value``; 0 is the paper's ``x ⊙ M``); ``mask_sum=True`` divides by the
per-pixel mask sum ``sum_i M_i + EPSILON`` instead of ``N * p1`` (Xplique; same
expectation).

Randomness is stateless and seeded: the grids and shifts of all ``N`` masks are drawn
from ``seed`` alone, so the same seed gives the same maps whatever the batch size
or chunking. Defaults: ``masks=4000`` (Xplique's default; the authors' script uses
6000), ``grid=8`` (the authors' script), ``p1=0.5`` (the paper). One forward pass per
mask scores every target; masks are built in the graph block by block (at most
``batch_size`` masked copies in flight).
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import tensorflow as tf

from ..backend.inputs import batch_spatial_size, input_spatial_rank
from ..constants import EPSILON
from ..utils.resize import apply_axis_matrices, interpolation_matrix
from .. import validation as check
from .base import Context, Method, MethodOutput, sum_over_blocks
from .perturbed import forward_copies, pin_targets, require_float_input

DEFAULT_MASKS = 4000
DEFAULT_GRID = 8
DEFAULT_P1 = 0.5


class RISE(Method):
    """Saliency as the target probability averaged over random masks keeping each pixel.

    Parameters
    ----------
    masks : int, default 4000
        Number of random masks ``N``.
    grid : int or tuple of ints, default 8
        Cells of the random grid per spatial axis (``s``).
    p1 : float in (0, 1], default 0.5
        Probability that a grid cell is kept.
    seed : int, default 0
        Seed of the masks (same seed, same maps).
    mask_value : float, default 0.0
        Value of the hidden part of the input.
    mask_sum : bool, default False
        Divide by the per-pixel mask sum (Xplique) instead of ``N * p1`` (paper).

    Output: maps ``(N, T, *S)`` at the input's spatial shape.
    """

    name = "rise"
    title = "RISE"
    summary = "target probability averaged over random masks that keep each pixel"
    uses_layer = False
    signed = False
    per_target_work = False

    def __init__(
        self,
        masks: int = DEFAULT_MASKS,
        grid: Union[int, Tuple[int, ...]] = DEFAULT_GRID,
        p1: float = DEFAULT_P1,
        seed: int = 0,
        mask_value: float = 0.0,
        mask_sum: bool = False,
    ) -> None:
        self.masks = check.integer("masks", masks, 1)
        self.grid = check.per_axis("grid", grid)
        self.p1 = check.real("p1", p1, 0.0, 1.0, open_low=True)
        self.seed = check.integer("seed", seed, 0)
        self.mask_value = check.real("mask_value", mask_value)
        self.mask_sum = check.boolean("mask_sum", mask_sum)

    def setup(self, context: Context) -> None:
        spec = require_float_input(context, "rise", "masks the input continuously (x * M)")
        check.expand_per_axis("grid", self.grid, input_spatial_rank(spec))

    def expansion(self, context: Context) -> int:
        return self.masks

    def compute(self, context, inputs, data, block):
        x = inputs[context.input_index]
        rank = x.shape.rank - 2
        sizes = batch_spatial_size(x, rank)
        grid = check.expand_per_axis("grid", self.grid, rank)
        grids, shifts = mask_parameters(self.masks, sizes, grid, self.p1, self.seed)
        fwd, pinned = pin_targets(context, inputs, data)
        n, t = tf.shape(x)[0], tf.shape(fwd.scores)[1]
        value = tf.cast(self.mask_value, x.dtype)

        initial = (
            tf.zeros(tf.concat([tf.stack([n, t]), tf.stack(sizes)], axis=0)),
            tf.zeros(tf.stack(sizes)),
        )

        def masked_scores(start, size):
            masks = upsampled_masks(grids[start : start + size], shifts[start : start + size], sizes)
            keep = masks[None, ..., None]
            masked = x[:, None] * keep + (1.0 - keep) * value  # (n, size, *S, C)
            masked = tf.reshape(masked, tf.concat([[n * size], tf.shape(x)[1:]], axis=0))
            out = forward_copies(context.probe, inputs, pinned, size, replaced={context.input_index: masked})
            probabilities = tf.reshape(out.reported, tf.stack([n, size, t]))
            saliency = tf.tensordot(probabilities, masks, axes=[[1], [0]])
            coverage = tf.reduce_sum(masks, axis=0)
            return tf.ensure_shape(saliency, initial[0].shape), tf.ensure_shape(coverage, initial[1].shape)

        saliency, coverage = sum_over_blocks(masked_scores, self.masks, block, initial)
        if self.mask_sum:
            saliency = saliency / (coverage[None, None] + EPSILON)
        else:
            saliency = saliency / (self.masks * self.p1)
        return MethodOutput(saliency, fwd.labels, fwd.reported)


def mask_parameters(
    count: int, sizes: Sequence, grid: Sequence[int], p1: float, seed: int
) -> Tuple[tf.Tensor, tf.Tensor]:
    """The random part of ``count`` RISE masks for an input of spatial ``sizes``:
    binary grids ``(count, *grid)`` float32 (1 with probability ``p1``) and crop
    shifts ``(count, rank)`` int32, ``shift[i, a]`` uniform in ``[0, ceil(D_a / s_a))``.
    Stateless: a function of ``seed`` (and the sizes) only."""
    grids = tf.random.stateless_uniform([count, *grid], seed=tf.constant([seed, 0], tf.int64))
    grids = tf.cast(grids < p1, tf.float32)
    cells = tf.stack([cell_size(d, s) for d, s in zip(sizes, grid)])
    uniform = tf.random.stateless_uniform([count, len(grid)], seed=tf.constant([seed, 1], tf.int64))
    shifts = tf.minimum(tf.cast(tf.floor(uniform * tf.cast(cells, tf.float32)), tf.int32), cells - 1)
    return grids, shifts


def upsampled_masks(grids: tf.Tensor, shifts: tf.Tensor, sizes: Sequence) -> tf.Tensor:
    """Masks ``(B, *sizes)``: each grid ``(s_0, s_1, ...)`` linearly upsampled to
    ``(s_a + 1) * cell_a`` per axis and cropped to ``sizes`` at its own ``shifts[b]``."""
    grids = tf.convert_to_tensor(grids, tf.float32)
    shifts = tf.convert_to_tensor(shifts, tf.int32)
    matrices = []
    for a, size in enumerate(sizes):
        cells = grids.shape[1 + a]
        upsample = interpolation_matrix(cells, (cells + 1) * cell_size(size, cells))
        rows = shifts[:, a : a + 1] + tf.range(size)[None, :]
        matrices.append(tf.gather(upsample, rows))  # (B, D_a, s_a)
    return apply_axis_matrices(grids, matrices, first_axis=1, batch_axis=0)


def cell_size(size, cells: int):
    """``ceil(size / cells)``."""
    return (size + cells - 1) // cells

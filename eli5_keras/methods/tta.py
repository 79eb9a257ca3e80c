"""Test-time augmentation (TTA) of any method: explain flipped and scaled copies of the
input, map each map back onto the input's frame, average (keras-explainable's
``methods.meta.tta``; the multi-scale and flip inference of CAMs in weakly supervised
segmentation, e.g. Ahn & Kwak, 2018, https://arxiv.org/abs/1803.10464).

Augmentations are every scale of ``scales`` combined with every subset of the flips
of ``flips`` (spatial axes; ``flips=(-1,)`` is a horizontal flip of an image, a time
reversal of a signal): ``len(scales) * 2 ** len(flips)`` copies. For augmentation
``a`` with per-axis linear maps ``T_a`` (input -> augmented input) and ``B_a`` (the map
on the augmented input's grid -> the map on the clean input's grid):

    E_a  = base(T_a x)                    raw map of the wrapped method
    L    = sum_a B_a E_a / sum_a B_a 1    averaged where each augmentation sees the pixel

A flip is its own inverse, so flips map back exactly. Scales follow the model:

* ``scaling="resize"`` (default for a model whose explained input has free spatial
  sizes): the input is resized to ``round(s * D)`` per axis (linear, half-pixel
  centres) and the map resized back onto the clean grid (keras-explainable).
* ``scaling="zoom"`` (default for a fixed-size input, which cannot take another size):
  the content is zoomed by ``s`` about the centre at the same size: ``s > 1`` crops
  the centre (the border leaves the view), ``s < 1`` shrinks the content and pads
  with zeros. The map is zoomed back by ``1 / s``; pixels outside the view of an
  augmentation get weight 0 there (``B_a 1``), so they are averaged over the
  augmentations that saw them.

The clean grid is the input's spatial shape for methods on the input (and for layer
methods whose maps are at the input, Guided Grad-CAM), the explained layer's grid on
the clean input for CAM methods (whose maps the pipeline then resizes onto the input).
``grid="input"`` maps every augmentation's map straight onto the input's spatial shape
instead (``B_a`` resizes from the augmented layer grid to the input:
keras-explainable's ``meta.tta``, which resizes each CAM onto the input before
averaging), and the maps are then at the input's resolution.
``rounding="floor"`` sizes a resized copy ``floor(s * D)`` (keras-explainable's
``int``) instead of ``round(s * D)``; either is at least 1.
Raw maps are combined before the pipeline's ReLU / normalisation; the base's extras
are averaged. Targets are resolved once on the clean input.
Defaults: ``base="gradcam"``, ``flips=(-1,)``, ``scales=(0.75, 1.0, 1.25)``
(keras-explainable: ``hflip=True``, ``scales=[0.5, 1.5, 2.0]`` plus the clean input).
"""
from __future__ import annotations

import itertools
from typing import Any, List, Mapping, Optional, Sequence, Tuple, Union

import tensorflow as tf

from ..backend.inputs import batch_spatial_size, input_spatial_rank
from ..utils.resize import apply_axis_matrices, interpolation_matrix
from .. import validation as check
from .base import Context, Method, MethodOutput, explained_input_spec, fold_over_blocks, outer_product
from .perturbed import pin_targets, require_float_input
from .wrapper import Wrapper

DEFAULT_FLIPS = (-1,)
DEFAULT_SCALES = (0.75, 1.0, 1.25)

Augmentation = Tuple[float, Tuple[bool, ...]]
"""(scale, flipped per spatial axis)."""


class TTA(Wrapper):
    """The base method averaged over flipped and scaled copies of the input.

    Parameters
    ----------
    base : str or Method, default "gradcam"
        The wrapped method: a name (options in ``base_options``) or an instance.
    flips : tuple of ints, default (-1,)
        Spatial axes to flip (0 is the first spatial axis, negative counts from the
        last); every subset of them is applied. ``()``: no flips.
    scales : tuple of floats, default (0.75, 1.0, 1.25)
        Scale factors (> 0).
    scaling : {"auto", "resize", "zoom"}, default "auto"
        How a scale is applied: resize the input (models with free spatial sizes) or
        zoom its content at a fixed size; "auto" picks by the model's input.
    base_options : dict, optional
        Options of the base method when ``base`` is a name.
    grid : {"base", "input"}, default "base"
        Where the maps are averaged: the base method's grid for the clean input, or
        the input's spatial shape (each augmentation's map resized onto it).
    rounding : {"round", "floor"}, default "round"
        How ``scaling="resize"`` sizes a copy: ``round(s * D)`` or ``floor(s * D)``.

    Output: maps ``(N, T, *s)`` on the base method's grid for the clean input (the
    input's spatial shape with ``grid="input"``).
    """

    name = "tta"
    title = "TTA"
    summary = "a method's maps averaged over flipped and scaled copies of the input"

    def __init__(
        self,
        base: Union[str, Method] = "gradcam",
        flips: Sequence[int] = DEFAULT_FLIPS,
        scales: Sequence[float] = DEFAULT_SCALES,
        scaling: str = "auto",
        base_options: Optional[Mapping[str, Any]] = None,
        grid: str = "base",
        rounding: str = "round",
    ) -> None:
        super().__init__(base, base_options)
        self.flips = check.int_tuple("flips", flips)
        self.scales = check.float_tuple("scales", scales)
        self.scaling = check.choice("scaling", scaling, ("auto", "resize", "zoom"))
        self.grid = check.choice("grid", grid, ("base", "input"))
        self.rounding = check.choice("rounding", rounding, ("round", "floor"))
        if self.grid == "input":
            self.maps_at_input = True

    def copies(self, context: Context) -> int:
        return len(self.scales) * 2 ** len(self.flips)

    def setup(self, context: Context) -> None:
        spec = require_float_input(context, "tta", "flips and rescales the input")
        self._flip_axes(input_spatial_rank(spec))
        self._zoom(spec)
        super().setup(context)

    def _flip_axes(self, rank: int) -> Tuple[int, ...]:
        bad = [a for a in self.flips if not -rank <= a < rank]
        if bad:
            raise ValueError(f"flips must be spatial axes in [{-rank}, {rank}); got {self.flips!r}.")
        axes = tuple(a % rank for a in self.flips)
        if len(set(axes)) != len(axes):
            raise ValueError(f"flips names an axis twice; got {self.flips!r}.")
        return axes

    def _zoom(self, spec: Any) -> bool:
        """Scale by zooming at a fixed size (True) or by resizing (False)."""
        free = all(d is None for d in spec.shape[1:-1])
        if self.scaling == "resize" and not free:
            raise ValueError(
                f"scaling='resize' feeds inputs of another size, but the model's input has the fixed shape "
                f"{tuple(spec.shape)}; use scaling='zoom' (or 'auto')."
            )
        return self.scaling == "zoom" or (self.scaling == "auto" and not free)

    def augmentations(self, rank: int) -> List[Augmentation]:
        """Every (scale, flip subset), scale-major."""
        axes = self._flip_axes(rank)
        out = []
        for scale in self.scales:
            for chosen in itertools.product((False, True), repeat=len(axes)):
                flipped = [False] * rank
                for axis, flip in zip(axes, chosen):
                    flipped[axis] = flip
                out.append((scale, tuple(flipped)))
        return out

    def compute(self, context, inputs, data, block):
        x = inputs[context.input_index]
        rank = x.shape.rank - 2
        zoom = self._zoom(explained_input_spec(context)[0])
        taps = [context.path] if context.path is not None and not self.maps_at_input else []
        fwd, pinned = pin_targets(context, inputs, data, taps)
        clean = fwd.tapped[0] if taps else x
        grid = batch_spatial_size(clean, rank)
        sizes = batch_spatial_size(x, rank)
        augmentations = self.augmentations(rank)
        groups = [augmentations] if zoom else [[a for a in augmentations if a[0] == s] for s in self.scales]
        copies, inner = self.split_block(context, block)
        total = None
        for group in groups:
            part = fold_over_blocks(
                lambda start, size, group=group: self._augmented(
                    context, inputs, pinned, group, zoom, sizes, grid, start, size, inner
                ),
                _add,
                len(group),
                copies,
            )
            total = part if total is None else _add(total, part)
        maps, weights, extras = total
        maps = tf.math.divide_no_nan(maps, weights[None, None])
        count = float(len(augmentations))
        return MethodOutput(maps, fwd.labels, fwd.reported, {k: v / count for k, v in extras.items()})

    def _augmented(self, context, inputs, pinned, group, zoom, sizes, grid, start, size, inner):
        """Sums over augmentations ``[start, start + size)`` of ``group``: maps mapped back
        ``(n, T, *grid)``, their weights ``(*grid)`` and the base's extras."""
        x = inputs[context.input_index]
        n = tf.shape(x)[0]
        if zoom:
            shapes = sizes
        else:
            scale = tf.constant(group[0][0], tf.float32)
            rounded = tf.round if self.rounding == "round" else tf.floor
            shapes = [tf.maximum(tf.cast(rounded(scale * tf.cast(d, tf.float32)), tf.int32), 1) for d in sizes]
        forward = axis_matrices(group, sizes, shapes, zoom, False, start, size)
        tiled = tf.repeat(x[:, None], size, axis=1)
        augmented = apply_axis_matrices(tiled, forward, first_axis=2, batch_axis=1)
        augmented = tf.reshape(augmented, tf.concat([[n * size], tf.shape(augmented)[2:]], axis=0))
        if zoom:  # same size: keep the static shape a fixed-size model may need (KerasHub's MiT)
            augmented = tf.ensure_shape(augmented, [None] + x.shape[1:].as_list())
        out = self.run_base(context, inputs, pinned, augmented, size, inner)
        on_grid = [tf.shape(out.maps)[3 + a] for a in range(len(sizes))]
        back = axis_matrices(group, on_grid, grid, zoom, True, start, size)
        maps = tf.reduce_sum(apply_axis_matrices(out.maps, back, first_axis=3, batch_axis=1), axis=1)
        weights = tf.reduce_sum(outer_product([tf.reduce_sum(b, axis=2) for b in back]), axis=0)
        extras = {k: tf.reduce_sum(v, axis=1) for k, v in out.extras.items()}
        return maps, weights, extras


def _add(a, b):
    return tf.nest.map_structure(tf.add, a, b)


def axis_matrices(
    group: Sequence[Augmentation], in_sizes: Sequence, out_sizes: Sequence, zoom: bool, back: bool, start, size
) -> List[tf.Tensor]:
    """Per spatial axis, the ``(size, out, in)`` matrices of augmentations ``[start, start
    + size)`` of ``group``: forward ``P_flip @ Z(s)`` (input -> augmented input), back
    ``Z(1 / s) @ P_flip`` (augmented map -> clean grid); ``Z`` zooms by its factor when
    ``zoom``, else only resizes between the sizes."""
    matrices = []
    for a, (d_in, d_out) in enumerate(zip(in_sizes, out_sizes)):
        stack = []
        for scale, flips in group:
            factor = (1.0 / scale if back else scale) if zoom else 1.0
            matrix = interpolation_matrix(d_in, d_out, zoom=factor)
            stack.append(tf.reverse(matrix, [1 if back else 0]) if flips[a] else matrix)
        matrices.append(tf.stack(stack)[start : start + size])
    return matrices


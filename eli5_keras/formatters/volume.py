"""Volumes (3-D inputs, rank-3 maps): a slice montage as one image, or an animated GIF.

A volume explanation carries ``expl.input`` of shape ``(D, H, W)`` or ``(D, H, W, C)``
and, per target, a map of shape ``(d, h, w)`` (resized linearly onto the input's grid
when the two differ). Slices are cut along ``axis``; by default the montage shows the
slices with most heat (largest sum of the drawn map over the slice; of ``|map|`` for a
signed map), in increasing order. Each slice is drawn as eli5 draws a 2-D image: the
coloured map over the slice, opacity capped at ``alpha_limit``.

The input is scaled to bytes with one ``[min, max]`` for the whole volume, so slices
stay comparable. Small slices are enlarged by an integer factor (nearest neighbour
for the input, ``resampling_filter`` for the map) to at least :data:`MIN_TILE` pixels.
"""
from __future__ import annotations

import io
import math
import numbers
from pathlib import Path
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw

from .. import validation as check
from ..utils.images import scaled_to_bytes
from ..utils.resize import resize_array
from .colormaps import DEFAULT_COLORMAP, Colormap, ColorScale
from .overlay import explained_input, overlay_map, target_map

__all__ = ["format_volume", "format_volume_as_gif", "montage_boxes", "select_slices", "DEFAULT_SLICES"]

DEFAULT_SLICES = 8
"""Slices in a montage when ``slices`` is not given."""
COLUMNS = 4
"""Tiles per montage row."""
MIN_TILE = 64
"""Smallest tile side in pixels; smaller slices are enlarged by an integer factor."""
LABEL_HEIGHT = 14
"""Height of the strip above each tile that names its slice."""
GAP = 2
"""Pixels between tiles."""
_BACKGROUND = (255, 255, 255, 255)
_TEXT = (40, 40, 40, 255)

SliceSpec = Union[None, int, Sequence[int]]


def format_volume(
    expl: Any,
    resampling_filter: Union[int, Image.Resampling] = Image.LANCZOS,
    colormap: Union[Colormap, str, None] = DEFAULT_COLORMAP,
    alpha_limit: Optional[float] = 0.65,
    *,
    target: int = 0,
    signed: Union[bool, str] = False,
    axis: Optional[int] = None,
    slices: SliceSpec = None,
) -> Image.Image:
    """A montage of volume slices with the target's map over each.

    Parameters
    ----------
    expl : Explanation
        ``expl.input`` of shape ``(D, H, W)`` or ``(D, H, W, C)``; the target's
        ``heatmap`` of shape ``(d, h, w)`` in [0, 1] (and ``raw_heatmap`` for signed).
    resampling_filter, colormap, alpha_limit, target, signed
        As for :func:`~eli5_keras.formatters.image.format_as_image`.
    axis : int, optional
        Spatial axis to slice along: 0, 1 or 2 (negative counts from the end).
        Default 0.
    slices : int or sequence of int, optional
        A count ``k``: the ``k`` slices with most heat. A sequence: those slice
        indices, in that order. Default: the :data:`DEFAULT_SLICES` slices with most
        heat (all slices when there are fewer).

    Returns
    -------
    PIL.Image.Image
        RGBA montage: :data:`COLUMNS` tiles per row, each tile with a label strip
        ``"slice i"`` above it (tile positions: :func:`montage_boxes`).

    Raises
    ------
    ValueError
        ``expl.input`` or the map has the wrong rank; ``axis`` or ``slices`` out of
        range; heatmap outside [0, 1].
    TypeError
        ``axis`` or ``slices`` of a wrong type.
    """
    volume, values, scale = _prepare(expl, target, colormap, signed)
    axis = _check_axis(axis)
    indices = select_slices(_heat(values, scale), axis, DEFAULT_SLICES if slices is None else slices)
    tiles = [_tile(volume, values, scale, axis, i, alpha_limit, resampling_filter) for i in indices]
    return _montage(tiles, [f"slice {i}" for i in indices])


def format_volume_as_gif(
    expl: Any,
    resampling_filter: Union[int, Image.Resampling] = Image.LANCZOS,
    colormap: Union[Colormap, str, None] = DEFAULT_COLORMAP,
    alpha_limit: Optional[float] = 0.65,
    *,
    target: int = 0,
    signed: Union[bool, str] = False,
    axis: Optional[int] = None,
    slices: SliceSpec = None,
    duration: int = 150,
    path: Union[None, str, Path] = None,
) -> bytes:
    """An animated GIF that steps through the volume's slices, the map over each.

    Parameters
    ----------
    expl, resampling_filter, colormap, alpha_limit, target, signed, axis
        As for :func:`format_volume`.
    slices : int or sequence of int, optional
        Frames, as for :func:`format_volume`; default every slice along ``axis`` in order.
    duration : int
        Milliseconds per frame (positive). Default 150.
    path : str or pathlib.Path, optional
        Also write the GIF there.

    Returns
    -------
    bytes
        The GIF file (loops forever); frames are labelled ``"slice i"``.
    """
    duration = check.integer("duration", duration, 1)  # milliseconds
    volume, values, scale = _prepare(expl, target, colormap, signed)
    axis = _check_axis(axis)
    count = values.shape[axis]
    indices = list(range(count)) if slices is None else select_slices(_heat(values, scale), axis, slices)
    frames = [
        _montage([_tile(volume, values, scale, axis, i, alpha_limit, resampling_filter)], [f"slice {i}"]).convert("RGB")
        for i in indices
    ]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=int(duration), loop=0)
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def select_slices(heat: np.ndarray, axis: int = 0, slices: Union[int, Sequence[int]] = DEFAULT_SLICES) -> List[int]:
    """Indices of the slices to show along ``axis`` of a map ``heat`` of shape ``(D, H, W)``.

    Parameters
    ----------
    heat : numpy.ndarray, shape (D, H, W)
        Non-negative heat (the drawn map, or ``|map|`` for a signed one).
    axis : int
        0, 1 or 2.
    slices : int or sequence of int
        A count ``k``: the ``k`` slices with the largest total heat (ties: lower index
        first), returned in increasing order; ``k`` larger than the number of slices
        gives all of them. A sequence: those indices (negative count from the end).

    Returns
    -------
    list of int
    """
    count = heat.shape[axis]
    if isinstance(slices, numbers.Integral) and not isinstance(slices, bool):
        if slices < 1:
            raise ValueError(f"slices must be a positive count or a sequence of slice indices; got {slices}.")
        totals = np.moveaxis(heat, axis, 0).reshape(count, -1).sum(axis=1)
        return sorted(int(i) for i in np.argsort(-totals, kind="stable")[: int(slices)])
    if isinstance(slices, (str, bytes)) or not isinstance(slices, Sequence) or len(slices) == 0:
        raise TypeError(
            f"slices must be a positive int or a non-empty sequence of ints; got {type(slices).__name__}: "
            f"{slices!r:.100}."
        )
    chosen = []
    for i, index in enumerate(slices):
        index = check.integer(f"slices[{i}]", index)
        if not -count <= index < count:
            raise ValueError(f"slice index {index} is out of range for {count} slices along axis {axis}.")
        chosen.append(int(index) % count)
    return chosen


def montage_boxes(count: int, tile_size: Tuple[int, int]) -> List[Tuple[int, int, int, int]]:
    """``(left, top, right, bottom)`` of each of ``count`` tiles of size ``(w, h)`` in a montage.

    Tile ``k`` sits in row ``k // COLUMNS`` and column ``k % COLUMNS``, below its
    label strip of :data:`LABEL_HEIGHT` pixels, with :data:`GAP` pixels between tiles.
    """
    width, height = tile_size
    boxes = []
    for k in range(count):
        row, column = divmod(k, COLUMNS)
        left = column * (width + GAP)
        top = row * (height + LABEL_HEIGHT + GAP) + LABEL_HEIGHT
        boxes.append((left, top, left + width, top + height))
    return boxes


# --------------------------------------------------------------------------
# Preparation and drawing
# --------------------------------------------------------------------------


def _prepare(expl: Any, target: int, colormap: Any, signed: Union[bool, str]) -> Tuple[np.ndarray, np.ndarray, ColorScale]:
    """The volume as bytes ``(D, H, W[, C'])``, the map on its grid ``(D, H, W)``, the scale."""
    values, scale = target_map(expl, target, colormap, signed, 3, "a volume montage")
    volume = explained_input(expl, (3, 4), "a volume of shape (D, H, W) or (D, H, W, C)", values.shape)
    if volume.ndim == 4 and volume.shape[-1] not in (1, 3, 4):
        volume = volume.mean(axis=-1)  # no colour meaning: show the channel mean
    return scaled_to_bytes(volume), resize_array(values, volume.shape[:3]), scale


def _check_axis(axis: Optional[int]) -> int:
    if axis is None:
        return 0
    axis = check.integer("axis", axis)
    if not -3 <= axis < 3:
        raise ValueError(f"axis must be 0, 1 or 2 (or -3 to -1) for a volume; got {axis}.")
    return int(axis) % 3


def _heat(values: np.ndarray, scale: ColorScale) -> np.ndarray:
    return np.abs(values) if scale.signed else values


def _section_image(section: np.ndarray) -> Image.Image:
    """A slice of the byte volume ``(h, w)`` or ``(h, w, C)`` as an RGBA image."""
    if section.ndim == 3 and section.shape[-1] == 1:
        section = section[..., 0]
    return Image.fromarray(np.ascontiguousarray(section)).convert("RGBA")


def _tile(
    volume: np.ndarray,
    values: np.ndarray,
    scale: ColorScale,
    axis: int,
    index: int,
    alpha_limit: Optional[float],
    resampling_filter: Union[int, Image.Resampling],
) -> Image.Image:
    image = _section_image(np.take(volume, index, axis=axis))
    factor = max(1, math.ceil(MIN_TILE / min(image.size)))
    image = image.resize((image.width * factor, image.height * factor), Image.NEAREST)
    return overlay_map(image, np.take(values, index, axis=axis), scale, alpha_limit, resampling_filter)


def _montage(tiles: List[Image.Image], labels: List[str]) -> Image.Image:
    size = tiles[0].size
    boxes = montage_boxes(len(tiles), size)
    columns = min(len(tiles), COLUMNS)
    width = columns * size[0] + (columns - 1) * GAP
    height = boxes[-1][3]
    canvas = Image.new("RGBA", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for tile, label, (left, top, _, _) in zip(tiles, labels, boxes):
        canvas.paste(tile, (left, top))
        draw.text((left + 2, top - LABEL_HEIGHT + 1), label, fill=_TEXT)
    return canvas

"""Render an explanation as an image: a heatmap overlaid on the explained input.

This is eli5's ``eli5.formatters.image`` (same functions, arguments, results
and error types). Additions over eli5:

- ``format_as_image`` takes a keyword-only ``target`` to pick which
  :class:`~eli5_keras.base.TargetExplanation` to draw when there are several
  (eli5 only accepted exactly one);
- ``colormap`` may be a matplotlib colormap name such as ``'jet'``;
- ``signed=True`` (or ``'auto'``) draws a raw signed map on a diverging colormap
  centred at 0 (see :mod:`~eli5_keras.formatters.colormaps`);
- explanations of volumes (rank-3 maps) become a slice montage and explanations of
  1-D signals (rank-1 maps) a line plot with the map as a coloured band, drawn from
  ``expl.input``; 2-D image explanations are drawn exactly as eli5 draws them;
- heatmaps containing NaN or infinity are rejected with a ``ValueError``;
- integer and boolean heatmaps are colourised as the floats they stand for
  (matplotlib would read integers as lookup-table indices);
- a target marked ``empty`` (a constant map, see
  :attr:`~eli5_keras.base.TargetExplanation.empty`) gets "empty map" written across
  the top of its picture; every other picture is eli5's, pixel for pixel.

Heatmaps are ``numpy.ndarray`` values in ``[0, 1]``. A greyscale heatmap has
shape ``(h, w)``; a colourised one has shape ``(h, w, 4)`` (RGBA floats).
"""
from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
from PIL import Image

from .colormaps import DEFAULT_COLORMAP, Colormap
from .kinds import map_rank
from .overlay import (
    as_rgba,
    expand_heatmap,
    heatmap_to_image,
    map_values,
    mark_empty,
    overlay_map,
    require_pil_image,
    select_target,
)
from .signal import format_signal
from .volume import format_volume

# eli5's private helpers keep their eli5 names here (its tests and user code import them).
from .colormaps import colorize as _colorize  # noqa: F401
from .overlay import cap_alpha as _cap_alpha  # noqa: F401
from .overlay import composite as _overlay_heatmap  # noqa: F401
from .overlay import update_alpha as _update_alpha  # noqa: F401
from .overlay import validate_heatmap as _validate_heatmap  # noqa: F401

__all__ = ["format_as_image", "heatmap_to_image", "expand_heatmap"]


def format_as_image(
    expl: Any,
    resampling_filter: Union[int, Image.Resampling] = Image.LANCZOS,
    colormap: Union[Colormap, str] = DEFAULT_COLORMAP,
    alpha_limit: Optional[float] = 0.65,
    *,
    target: int = 0,
    signed: Union[bool, str] = False,
    axis: Optional[int] = None,
    slices: Union[None, int, Sequence[int]] = None,
    note_empty: bool = True,
) -> Image.Image:
    """Overlay the heatmap of an explanation on top of its image.

    The heatmap is colourised first and resized second, so the colours come
    from the heatmap's own values rather than from resampling artefacts.
    The rank of the heatmap picks the drawing: rank 2 over ``expl.image``
    (eli5's), rank 3 a slice montage of ``expl.input`` (see
    :func:`~eli5_keras.formatters.volume.format_volume`), rank 1 a line plot of
    ``expl.input`` with the map as a coloured band (see
    :func:`~eli5_keras.formatters.signal.format_signal`).

    Parameters
    ----------
    expl : Explanation
        An explanation whose ``image`` is a ``PIL.Image.Image`` of size
        ``(W, H)`` and whose ``targets`` hold
        :class:`~eli5_keras.base.TargetExplanation` objects with a ``heatmap``
        of shape ``(h, w)``, values in ``[0, 1]``. For volumes and signals:
        ``heatmap`` of shape ``(d, h, w)`` or ``(l,)`` and ``expl.input`` of
        shape ``(D, H, W[, C])`` or ``(L[, C])``.
    resampling_filter : int or PIL.Image.Resampling, optional
        Filter used to resize the heatmap from ``(h, w)`` to ``(H, W)``,
        for example ``PIL.Image.NEAREST`` or ``PIL.Image.BOX``.
        Default is ``PIL.Image.LANCZOS``.
    colormap : callable or str, optional
        Maps an array of shape ``(h, w)`` with values in ``[0, 1]`` to RGBA
        floats of shape ``(h, w, 4)`` in ``[0, 1]``, as matplotlib colormaps
        do. A string is looked up in ``matplotlib.colormaps``.
        Default is ``matplotlib.cm.viridis`` (``'RdBu_r'`` for a signed map).
    alpha_limit : float, optional
        Upper bound, in ``[0, 1]``, on the heatmap's opacity. The opacity of
        each heatmap cell is its value, capped at ``alpha_limit``; ``None``
        leaves it uncapped. Default is ``0.65``.
    target : int, optional
        Index into ``expl.targets`` of the target whose heatmap is drawn
        (negative values count from the end). Default is ``0``.
    signed : bool or 'auto', optional
        True draws the target's ``raw_heatmap`` (any sign) with limits
        ``±max|raw|`` so that 0 sits at the colormap's centre, opacity ``|raw| /
        max|raw|``; 'auto' does so for explanations marked ``signed`` that keep raw
        maps. Default False (eli5's drawing of ``heatmap``).
    axis, slices : optional
        Volumes only: the sliced axis (default 0) and the slices shown (a count of
        slices with most heat, default 8, or explicit indices).
    note_empty : bool, optional
        Write "empty map" across the top of the picture when the target is marked
        ``empty`` (its map is constant, so it shows nothing). Default True.

    Returns
    -------
    PIL.Image.Image
        An RGBA image of size ``(W, H)``: ``expl.image`` with the heatmap
        composited on top, or ``expl.image`` converted to RGBA if the
        explanation has no targets. A montage or a plot for volumes and signals.

    Raises
    ------
    TypeError
        If ``expl.image`` is not a PIL image, ``target`` is not an integer,
        or the heatmap is not a numpy array.
    IndexError
        If ``target`` is out of range for ``expl.targets``.
    ValueError
        If the heatmap is not of rank 2 (or 1 or 3 with ``expl.input``) or has
        values outside ``[0, 1]``, ``colormap`` is an unknown name,
        ``alpha_limit`` is outside ``[0, 1]``, or ``axis``/``slices`` are given
        for a map that is not a volume.
    """
    picture = _draw(expl, resampling_filter, colormap, alpha_limit, target, signed, axis, slices)
    if note_empty and expl.targets and getattr(select_target(expl.targets, target), "empty", False):
        return mark_empty(picture)
    return picture


def _draw(
    expl: Any,
    resampling_filter: Union[int, Image.Resampling],
    colormap: Union[Colormap, str],
    alpha_limit: Optional[float],
    target: int,
    signed: Union[bool, str],
    axis: Optional[int],
    slices: Union[None, int, Sequence[int]],
) -> Image.Image:
    """The picture of :func:`format_as_image`, before any note."""
    heatmap = select_target(expl.targets, target).heatmap if expl.targets else None
    rank = map_rank(heatmap) if expl.targets else 2
    if rank in (1, 3):
        _require_input(expl, heatmap)
        options = dict(target=target, signed=signed)
        if rank == 3:
            return format_volume(expl, resampling_filter, colormap, alpha_limit, axis=axis, slices=slices, **options)
        _reject_volume_options(axis, slices, rank)
        return format_signal(expl, resampling_filter, colormap, alpha_limit, **options)
    _reject_volume_options(axis, slices, rank)

    image = as_rgba(require_pil_image(expl.image, "expl.image"))
    if 0 in image.size:
        raise ValueError(f"expl.image must be at least 1x1 pixels to draw on; got size {image.size}")
    if not expl.targets:
        return image
    # The map's values become the opacity of the colourised map.
    values, scale = map_values(expl, select_target(expl.targets, target), colormap, signed)
    _require_rank_2(values)
    return overlay_map(image, values, scale, alpha_limit, resampling_filter)


def _require_input(expl: Any, heatmap: np.ndarray) -> None:
    """A rank-1 or rank-3 map is drawn over ``expl.input``: it must be there."""
    if getattr(expl, "input", None) is None:
        rank = heatmap.ndim
        what = "a volume" if rank == 3 else "a 1-D signal"
        raise ValueError(
            f"heatmap has rank {rank}, shape {heatmap.shape}: {what}. format_as_image draws a heatmap of "
            "rank 2 over expl.image; volumes (rank 3) and signals (rank 1) are drawn over "
            "expl.input, the explained input array, which this explanation does not have (None)."
        )


def _reject_volume_options(axis: Any, slices: Any, rank: int) -> None:
    if axis is not None or slices is not None:
        name = "axis" if axis is not None else "slices"
        raise ValueError(
            f"{name} applies to volume explanations (heatmaps of rank 3); this heatmap has rank {rank}."
        )


def _require_rank_2(heatmap: np.ndarray) -> None:
    """Raise a ValueError unless ``heatmap`` has shape ``(h, w)``."""
    if heatmap.ndim != 2:
        raise ValueError(
            f"heatmap must have rank 2, shape (height, width), for image "
            f"formatting; got rank {heatmap.ndim}, shape {heatmap.shape}"
        )

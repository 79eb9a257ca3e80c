"""Drawing one 2-D map over one image: eli5's primitives, shared by every formatter.

eli5's semantics, kept exactly: a map is colourised first and resized second (so the
colours come from the map's own values), each cell's opacity is its value capped at
``alpha_limit``, and the result is alpha-composited over the image. Volumes (per slice)
and signals (per sample column) are drawn with the same functions.
"""
from __future__ import annotations

import numbers
from typing import Any, Optional, Tuple, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..result import unit_range

from .colormaps import (
    DEFAULT_COLORMAP,
    DIVERGING_COLORMAP,
    Colormap,
    ColorScale,
    colorize,
    resolve_colormap,
    resolve_signed,
)

__all__ = [
    "as_rgba",
    "cap_alpha",
    "composite",
    "expand_heatmap",
    "explained_input",
    "heatmap_to_image",
    "map_values",
    "mark_empty",
    "overlay_map",
    "require_pil_image",
    "select_target",
    "target_map",
    "update_alpha",
    "validate_heatmap",
]

EMPTY_MAP_LABEL = "empty map"
"""Written across the picture of an empty map (``TargetExplanation.empty``)."""

# The number of channels of an ``(h, w, c)`` heatmap -> PIL image mode.
_MODE_BY_CHANNELS = {3: "RGB", 4: "RGBA"}


def overlay_map(
    image: Image.Image,
    values: np.ndarray,
    scale: ColorScale,
    alpha_limit: Optional[float],
    resampling_filter: Union[int, Image.Resampling],
) -> Image.Image:
    """Composite a coloured map over an image.

    Parameters
    ----------
    image : PIL.Image.Image, mode 'RGBA', size (W, H)
    values : numpy.ndarray, shape (h, w)
        Map values on ``scale`` (a [0, 1] heatmap, or a raw signed map).
    scale : ColorScale
        Colour ``scale.colormap(scale.unit(v))``, opacity ``scale.opacity(v)``.
    alpha_limit : float or None
        Cap on the opacity (see :func:`cap_alpha`).
    resampling_filter : int or PIL.Image.Resampling
        Filter that resizes the coloured map from ``(h, w)`` to ``(H, W)``.

    Returns
    -------
    PIL.Image.Image
        RGBA, size (W, H).
    """
    rgba = colorize(scale.unit(values), scale.colormap)
    update_alpha(rgba, starting_array=scale.opacity(values), alpha_limit=alpha_limit)
    return composite(expand_heatmap(rgba, image, resampling_filter=resampling_filter), image)


def mark_empty(picture: Image.Image) -> Image.Image:
    """``picture`` (RGBA) with :data:`EMPTY_MAP_LABEL` written in white on a dark band
    across its top, so that an empty map never passes for a map that found nothing
    worth colouring. The label's size follows the picture's width (clipped when the
    picture is narrower than the text)."""
    note = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(note)
    font = ImageFont.load_default(size=max(8, picture.width // 12))
    margin = max(1, picture.width // 64)
    bottom = draw.textbbox((margin, margin), EMPTY_MAP_LABEL, font=font)[3]
    draw.rectangle((0, 0, picture.width, bottom + margin), fill=(0, 0, 0, 170))
    draw.text((margin, margin), EMPTY_MAP_LABEL, font=font, fill=(255, 255, 255, 255))
    return Image.alpha_composite(as_rgba(picture), note)


def map_values(
    expl: Any,
    target: Any,
    colormap: Optional[Union[Colormap, str]],
    signed: Union[bool, str],
) -> Tuple[np.ndarray, ColorScale]:
    """The map to draw for one target, and its colour scale.

    Parameters
    ----------
    expl : Explanation
    target : TargetExplanation
    colormap : callable, str or None
        None picks :data:`~eli5_keras.formatters.colormaps.DEFAULT_COLORMAP` for
        heatmaps and :data:`~eli5_keras.formatters.colormaps.DIVERGING_COLORMAP`
        for signed maps; so does eli5's default (the viridis object) on a signed map.
    signed : bool or 'auto'
        See :func:`~eli5_keras.formatters.colormaps.resolve_signed`.

    Returns
    -------
    values : numpy.ndarray, shape S
        ``target.heatmap`` (checked to be in [0, 1]) or ``target.raw_heatmap``
        (checked to be finite, any sign).
    scale : ColorScale
        ``[0, 1]`` sequential, or ``±max|raw|`` signed.
    """
    if resolve_signed(signed, expl, target):
        raw = target.raw_heatmap
        if not isinstance(raw, np.ndarray) or raw.dtype.kind not in "biuf" or raw.size == 0:
            raise TypeError(
                f"raw_heatmap must be a non-empty numpy array of real numbers, "
                f"got {type(raw).__name__}: {raw!r:.100}"
            )
        if not np.all(np.isfinite(raw)):
            raise ValueError("raw_heatmap must hold finite values, got NaN or infinite values")
        if colormap is None or colormap is DEFAULT_COLORMAP:
            colormap = DIVERGING_COLORMAP
        return raw, ColorScale.symmetric(raw, resolve_colormap(colormap))
    heatmap = drawable_heatmap(target)
    validate_heatmap(heatmap)
    return heatmap, ColorScale(resolve_colormap(DEFAULT_COLORMAP if colormap is None else colormap))


def drawable_heatmap(target: Any) -> Any:
    """``target.heatmap`` for a [0, 1] scale: as it is, or its
    :func:`~eli5_keras.result.unit_range` shift when it is the signed map itself (eli5's
    text branch with ``relu=False`` keeps the signed map in ``heatmap`` and
    ``raw_heatmap`` alike: drawn unsigned, it gets the same shift as an image's)."""
    heatmap = target.heatmap
    raw = getattr(target, "raw_heatmap", None)
    if (
        isinstance(heatmap, np.ndarray) and isinstance(raw, np.ndarray) and heatmap.dtype.kind in "biuf"
        and heatmap.size and raw.shape == heatmap.shape and np.all(np.isfinite(heatmap))
        and heatmap.min() < 0 and np.array_equal(heatmap, raw)
    ):
        return unit_range(heatmap)
    return heatmap


def target_map(
    expl: Any,
    target: int,
    colormap: Optional[Union[Colormap, str]],
    signed: Union[bool, str],
    rank: int,
    drawing: str,
) -> Tuple[np.ndarray, ColorScale]:
    """:func:`map_values` of ``expl.targets[target]``, checked to have ``rank`` axes.

    ``drawing`` says what is drawn, for messages (e.g. ``"a volume montage"``).
    """
    if not expl.targets:
        raise ValueError(f"expl has no targets: {drawing} needs a target with a heatmap.")
    values, scale = map_values(expl, select_target(expl.targets, target), colormap, signed)
    if values.ndim != rank:
        raise ValueError(
            f"heatmap must have rank {rank} for {drawing}; got rank {values.ndim}, shape {values.shape}."
        )
    return values, scale


def explained_input(expl: Any, ranks: Tuple[int, ...], expected: str, heatmap_shape: Tuple[int, ...]) -> np.ndarray:
    """``expl.input`` as an array of one of ``ranks``, non-empty, real and finite.

    Raises
    ------
    ValueError
        Naming ``expl.input``, the ``expected`` shape (in words) and the one got.
    """
    array = np.asarray(expl.input)
    if array.ndim not in ranks or array.dtype.kind not in "biuf" or array.size == 0:
        raise ValueError(
            f"expl.input must be {expected} for a heatmap of shape {heatmap_shape}; "
            f"got shape {array.shape}, dtype {array.dtype}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError("expl.input must hold finite values, got NaN or infinite values.")
    return array


def require_pil_image(image: Any, name: str) -> Image.Image:
    """Return ``image`` if it is a PIL image, else raise a TypeError naming ``name``."""
    if not isinstance(image, Image.Image):
        raise TypeError(
            f"{name} must be a PIL.Image.Image instance, "
            f"got {type(image).__name__}: {image!r:.200}"
        )
    return image


def as_rgba(image: Image.Image) -> Image.Image:
    """Return ``image`` in mode ``'RGBA'`` (the same object if it already is)."""
    return image if image.mode == "RGBA" else image.convert("RGBA")


def select_target(targets: Any, target: int) -> Any:
    """Return ``targets[target]``, with clear errors for a bad index."""
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(
            f"target must be an integer index into expl.targets, "
            f"got {type(target).__name__}: {target!r}"
        )
    count = len(targets)
    if not -count <= target < count:
        raise IndexError(
            f"target={target} is out of range: there is no target {target} in an explanation of {count} "
            f"target{'s' if count != 1 else ''} (valid indices are "
            f"{-count} to {count - 1})"
        )
    return targets[int(target)]


def validate_heatmap(heatmap: Any) -> None:
    """Check that ``heatmap`` is a numpy array of finite values in ``[0, 1]``.

    Parameters
    ----------
    heatmap : numpy.ndarray
        Array of any shape.

    Raises
    ------
    TypeError
        If ``heatmap`` is not a numpy array or not numeric.
    ValueError
        If ``heatmap`` is empty, contains NaN or infinity, or has values
        below 0 or above 1.
    """
    if not isinstance(heatmap, np.ndarray):
        raise TypeError(
            f"heatmap must be a numpy.ndarray, "
            f"got {type(heatmap).__name__}: {heatmap!r:.200}"
        )
    if heatmap.dtype.kind not in "biuf":
        raise TypeError(f"heatmap must hold real numbers, got dtype {heatmap.dtype}")
    if heatmap.size == 0:
        raise ValueError(f"heatmap must not be empty, got shape {heatmap.shape}")
    if not np.all(np.isfinite(heatmap)):
        raise ValueError(
            "heatmap must hold floats in the range [0, 1], got NaN or infinite values"
        )
    lowest, highest = np.min(heatmap), np.max(heatmap)
    if lowest < 0 or highest > 1:
        raise ValueError(
            f"heatmap must hold floats in the range [0, 1], "
            f"got values from {lowest} to {highest}"
        )


def heatmap_mode(shape: tuple) -> str:
    """Return the PIL mode for a heatmap of shape ``(h, w)`` or ``(h, w, c)``."""
    if len(shape) == 2:
        return "L"
    if len(shape) == 3:
        channels = shape[2]
        if channels not in _MODE_BY_CHANNELS:
            raise ValueError(
                f"heatmap of rank 3 must have 3 (RGB) or 4 (RGBA) channels in its "
                f"last axis, got {channels} channels (shape {shape})"
            )
        return _MODE_BY_CHANNELS[channels]
    raise ValueError(
        f"heatmap must have rank 2 (h, w) or rank 3 (h, w, channels), "
        f"got rank {len(shape)} (shape {shape})"
    )

def heatmap_to_image(heatmap: np.ndarray) -> Image.Image:
    """Convert a heatmap array into a PIL image.

    Values are multiplied by 255 and truncated to ``uint8``.

    Parameters
    ----------
    heatmap : numpy.ndarray
        Values in ``[0, 1]``, of shape ``(h, w)`` (greyscale),
        ``(h, w, 3)`` (RGB) or ``(h, w, 4)`` (RGBA).

    Returns
    -------
    PIL.Image.Image
        Image of size ``(w, h)`` and mode ``'L'``, ``'RGB'`` or ``'RGBA'``
        respectively.

    Raises
    ------
    TypeError
        If ``heatmap`` is not a numpy array.
    ValueError
        If ``heatmap`` has values outside ``[0, 1]``, or a shape other than
        the three above.
    """
    validate_heatmap(heatmap)
    heatmap_mode(heatmap.shape)  # reject bad shapes before converting
    pixels = (heatmap * 255).astype(np.uint8)
    return Image.fromarray(pixels)

def expand_heatmap(
    heatmap: np.ndarray,
    image: Image.Image,
    resampling_filter: Union[int, Image.Resampling] = Image.LANCZOS,
) -> Image.Image:
    """Resize a heatmap to the size of an image.

    Parameters
    ----------
    heatmap : numpy.ndarray
        Values in ``[0, 1]``, of shape ``(h, w)``, ``(h, w, 3)`` or
        ``(h, w, 4)``.
    image : PIL.Image.Image
        Image of size ``(W, H)`` whose size the heatmap is resized to.
    resampling_filter : int or PIL.Image.Resampling, optional
        Filter passed to ``PIL.Image.Image.resize``.
        Default is ``PIL.Image.LANCZOS``.

    Returns
    -------
    PIL.Image.Image
        The heatmap as an image (see :func:`heatmap_to_image`) of size
        ``(W, H)``.

    Raises
    ------
    TypeError
        If ``image`` is not a PIL image or ``heatmap`` is not a numpy array.
    ValueError
        If ``heatmap`` is invalid (see :func:`heatmap_to_image`).
    """
    require_pil_image(image, "image")
    heatmap_image = heatmap_to_image(heatmap)
    return heatmap_image.resize((image.width, image.height), resample=resampling_filter)

def update_alpha(
    image_array: np.ndarray,
    starting_array: Optional[np.ndarray] = None,
    alpha_limit: Optional[float] = None,
) -> None:
    """Set the alpha channel of an RGBA array, in place.

    Parameters
    ----------
    image_array : numpy.ndarray
        RGBA floats, shape ``(h, w, 4)``. Its channel ``[..., 3]`` is replaced.
    starting_array : numpy.ndarray, optional
        New alpha values, shape ``(h, w)``. Default is the current alpha
        channel of ``image_array``.
    alpha_limit : float, optional
        Cap applied to the alpha values (see :func:`cap_alpha`).
    """
    alpha = image_array[..., 3] if starting_array is None else starting_array
    image_array[..., 3] = cap_alpha(alpha, alpha_limit)


def cap_alpha(alpha_arr: np.ndarray, alpha_limit: Optional[float]) -> np.ndarray:
    """Cap alpha values at ``alpha_limit``.

    Parameters
    ----------
    alpha_arr : numpy.ndarray
        Alpha values, any shape ``S``.
    alpha_limit : int or float, optional
        Upper bound in ``[0, 1]``. ``None`` returns ``alpha_arr`` unchanged.

    Returns
    -------
    numpy.ndarray
        ``numpy.minimum(alpha_arr, alpha_limit)``, shape ``S``.

    Raises
    ------
    TypeError
        If ``alpha_limit`` is not ``None``, an int or a float (booleans are
        rejected).
    ValueError
        If ``alpha_limit`` is outside ``[0, 1]``.
    """
    if alpha_limit is None:
        return alpha_arr
    if isinstance(alpha_limit, bool) or not isinstance(alpha_limit, numbers.Real):
        raise TypeError(
            f"alpha_limit must be None, an int or a float, "
            f"got {type(alpha_limit).__name__}: {alpha_limit!r:.200}"
        )
    if not 0 <= alpha_limit <= 1:
        raise ValueError(f"alpha_limit must be between 0 and 1 inclusive, got {alpha_limit}")
    return np.minimum(alpha_arr, alpha_limit)


def composite(heatmap: Image.Image, image: Image.Image) -> Image.Image:
    """Composite ``heatmap`` over ``image``; both RGBA images of the same size."""
    return Image.alpha_composite(image, heatmap)

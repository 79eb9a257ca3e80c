"""Render an image explanation as a heatmap overlaid on the explained image.

This is eli5's ``eli5.formatters.image`` (same functions, arguments, results
and error types). Additions over eli5:

- ``format_as_image`` takes a keyword-only ``target`` to pick which
  :class:`~eli5_keras.base.TargetExplanation` to draw when there are several
  (eli5 only accepted exactly one);
- ``colormap`` may be a matplotlib colormap name such as ``'jet'``;
- heatmaps containing NaN or infinity are rejected with a ``ValueError``;
- integer and boolean heatmaps are colourised as the floats they stand for
  (matplotlib would read integers as lookup-table indices).

Heatmaps are ``numpy.ndarray`` values in ``[0, 1]``. A greyscale heatmap has
shape ``(h, w)``; a colourised one has shape ``(h, w, 4)`` (RGBA floats).
"""
from __future__ import annotations

import numbers
from typing import Any, Callable, Optional, Union

import matplotlib
import matplotlib.cm
import numpy as np
from PIL import Image

__all__ = ["format_as_image", "heatmap_to_image", "expand_heatmap"]

Colormap = Callable[[np.ndarray], np.ndarray]

# The number of channels of an ``(h, w, c)`` heatmap -> PIL image mode.
_MODE_BY_CHANNELS = {3: "RGB", 4: "RGBA"}


def format_as_image(
    expl: Any,
    resampling_filter: Union[int, Image.Resampling] = Image.LANCZOS,
    colormap: Union[Colormap, str] = matplotlib.cm.viridis,
    alpha_limit: Optional[float] = 0.65,
    *,
    target: int = 0,
) -> Image.Image:
    """Overlay the heatmap of an explanation on top of its image.

    The heatmap is colourised first and resized second, so the colours come
    from the heatmap's own values rather than from resampling artefacts.

    Parameters
    ----------
    expl : Explanation
        An explanation whose ``image`` is a ``PIL.Image.Image`` of size
        ``(W, H)`` and whose ``targets`` hold
        :class:`~eli5_keras.base.TargetExplanation` objects with a ``heatmap``
        of shape ``(h, w)``, values in ``[0, 1]``.
    resampling_filter : int or PIL.Image.Resampling, optional
        Filter used to resize the heatmap from ``(h, w)`` to ``(H, W)``,
        for example ``PIL.Image.NEAREST`` or ``PIL.Image.BOX``.
        Default is ``PIL.Image.LANCZOS``.
    colormap : callable or str, optional
        Maps an array of shape ``(h, w)`` with values in ``[0, 1]`` to RGBA
        floats of shape ``(h, w, 4)`` in ``[0, 1]``, as matplotlib colormaps
        do. A string is looked up in ``matplotlib.colormaps``.
        Default is ``matplotlib.cm.viridis``.
    alpha_limit : float, optional
        Upper bound, in ``[0, 1]``, on the heatmap's opacity. The opacity of
        each heatmap cell is its value, capped at ``alpha_limit``; ``None``
        leaves it uncapped. Default is ``0.65``.
    target : int, optional
        Index into ``expl.targets`` of the target whose heatmap is drawn
        (negative values count from the end). Default is ``0``.

    Returns
    -------
    PIL.Image.Image
        An RGBA image of size ``(W, H)``: ``expl.image`` with the heatmap
        composited on top, or ``expl.image`` converted to RGBA if the
        explanation has no targets.

    Raises
    ------
    TypeError
        If ``expl.image`` is not a PIL image, ``target`` is not an integer,
        or the heatmap is not a numpy array.
    IndexError
        If ``target`` is out of range for ``expl.targets``.
    ValueError
        If the heatmap is not of rank 2 or has values outside ``[0, 1]``,
        ``colormap`` is an unknown name, or ``alpha_limit`` is outside
        ``[0, 1]``.
    """
    image = _as_rgba(_require_pil_image(expl.image, "expl.image"))
    if not expl.targets:
        return image

    heatmap = _select_target(expl.targets, target).heatmap
    _validate_heatmap(heatmap)
    _require_rank_2(heatmap)

    # The raw heat values become the opacity of the colourised heatmap.
    rgba_heatmap = _colorize(heatmap, _resolve_colormap(colormap))
    _update_alpha(rgba_heatmap, starting_array=heatmap, alpha_limit=alpha_limit)

    heatmap_image = expand_heatmap(rgba_heatmap, image, resampling_filter=resampling_filter)
    return _overlay_heatmap(heatmap_image, image)


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
    _validate_heatmap(heatmap)
    _heatmap_mode(heatmap.shape)  # reject bad shapes before converting
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
    _require_pil_image(image, "image")
    heatmap_image = heatmap_to_image(heatmap)
    return heatmap_image.resize((image.width, image.height), resample=resampling_filter)


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------


def _require_pil_image(image: Any, name: str) -> Image.Image:
    """Return ``image`` if it is a PIL image, else raise a TypeError naming ``name``."""
    if not isinstance(image, Image.Image):
        raise TypeError(
            f"{name} must be a PIL.Image.Image instance, "
            f"got {type(image).__name__}: {image!r:.200}"
        )
    return image


def _as_rgba(image: Image.Image) -> Image.Image:
    """Return ``image`` in mode ``'RGBA'`` (the same object if it already is)."""
    return image if image.mode == "RGBA" else image.convert("RGBA")


def _select_target(targets: Any, target: int) -> Any:
    """Return ``targets[target]``, with clear errors for a bad index."""
    if isinstance(target, bool) or not isinstance(target, numbers.Integral):
        raise TypeError(
            f"target must be an integer index into expl.targets, "
            f"got {type(target).__name__}: {target!r}"
        )
    count = len(targets)
    if not -count <= target < count:
        raise IndexError(
            f"target={target} is out of range: the explanation has {count} "
            f"target{'s' if count != 1 else ''} (valid indices are "
            f"{-count} to {count - 1})"
        )
    return targets[int(target)]


def _validate_heatmap(heatmap: Any) -> None:
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


def _require_rank_2(heatmap: np.ndarray) -> None:
    """Raise a ValueError unless ``heatmap`` has shape ``(h, w)``."""
    if heatmap.ndim != 2:
        raise ValueError(
            f"heatmap must have rank 2, shape (height, width), for image "
            f"formatting; got rank {heatmap.ndim}, shape {heatmap.shape}"
        )


def _heatmap_mode(shape: tuple) -> str:
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


# --------------------------------------------------------------------------
# Colouring and compositing
# --------------------------------------------------------------------------


def _resolve_colormap(colormap: Union[Colormap, str]) -> Colormap:
    """Return ``colormap`` itself, or the matplotlib colormap of that name."""
    if isinstance(colormap, str):
        try:
            return matplotlib.colormaps[colormap]
        except KeyError:
            examples = ", ".join(repr(name) for name in sorted(matplotlib.colormaps)[:6])
            raise ValueError(
                f"colormap {colormap!r} is not a known matplotlib colormap name; "
                f"valid names include {examples}, ... "
                f"(see matplotlib.colormaps for all of them)"
            ) from None
    if not callable(colormap):
        raise TypeError(
            f"colormap must be a callable (such as a matplotlib colormap) or a "
            f"colormap name, got {type(colormap).__name__}: {colormap!r:.200}"
        )
    return colormap


def _colorize(heatmap: np.ndarray, colormap: Colormap) -> np.ndarray:
    """Apply a colormap to a greyscale heatmap.

    Parameters
    ----------
    heatmap : numpy.ndarray
        Values in ``[0, 1]``, shape ``(h, w)``.
    colormap : callable
        Maps ``(h, w)`` values to ``(h, w, 4)`` RGBA floats in ``[0, 1]``
        (for example ``matplotlib.cm.viridis``).

    Returns
    -------
    numpy.ndarray
        A new float array of RGBA colours, shape ``(h, w, 4)``.
    """
    if heatmap.dtype.kind != "f":
        # Matplotlib reads integer input as lookup-table indices.
        heatmap = heatmap.astype(np.float64)
    colored = np.array(colormap(heatmap), dtype=np.float64)
    expected_shape = heatmap.shape + (4,)
    if colored.shape != expected_shape:
        raise ValueError(
            f"colormap must return RGBA values of shape {expected_shape} for a "
            f"heatmap of shape {heatmap.shape}, got shape {colored.shape}"
        )
    return colored


def _update_alpha(
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
        Cap applied to the alpha values (see :func:`_cap_alpha`).
    """
    alpha = image_array[..., 3] if starting_array is None else starting_array
    image_array[..., 3] = _cap_alpha(alpha, alpha_limit)


def _cap_alpha(alpha_arr: np.ndarray, alpha_limit: Optional[float]) -> np.ndarray:
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


def _overlay_heatmap(heatmap: Image.Image, image: Image.Image) -> Image.Image:
    """Composite ``heatmap`` over ``image``; both RGBA images of the same size."""
    return Image.alpha_composite(image, heatmap)

"""Colour scales: how map values become colours and opacities, and their legend.

Two scales, both honest about the numbers they draw:

- **sequential** (eli5's): a heatmap in ``[0, 1]``; colour ``colormap(v)``, opacity ``v``.
- **signed**: a raw map ``m`` that can be negative (Integrated Gradients, gradient x
  input, ...); limits ``±L`` with ``L = max|m|``, colour ``colormap((m / L + 1) / 2)``
  so that 0 sits at the colormap's centre, opacity ``|m| / L``. The legend shows the
  real values ``-L, 0, +L``; the scale is never inverted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Tuple, Union

import matplotlib
import matplotlib.cm
import numpy as np
from PIL import Image

__all__ = [
    "Colormap",
    "ColorScale",
    "DEFAULT_COLORMAP",
    "DIVERGING_COLORMAP",
    "colorize",
    "legend_image",
    "format_number",
    "resolve_colormap",
    "resolve_signed",
]

Colormap = Callable[[np.ndarray], np.ndarray]

DEFAULT_COLORMAP = matplotlib.cm.viridis
"""eli5's colormap for heatmaps in [0, 1]."""

DIVERGING_COLORMAP = "RdBu_r"
"""Colormap for signed maps when none is given: blue negative, white 0, red positive."""

LEGEND_SIZE = (256, 12)
"""(width, height) in pixels of the legend's colour bar."""


@dataclass(frozen=True)
class ColorScale:
    """The values at the two ends of a colormap, and whether the map is signed.

    Attributes
    ----------
    colormap : callable
        ``(...) values in [0, 1] -> (..., 4)`` RGBA floats (a matplotlib colormap).
    low, high : float
        Values drawn with the colormap's first and last colour (``low < high``).
    signed : bool
        ``low == -high``: zero is drawn with the colormap's centre colour and the
        opacity grows with ``|value|``; otherwise the opacity is the value itself.
    """

    colormap: Colormap
    low: float = 0.0
    high: float = 1.0
    signed: bool = False

    @classmethod
    def symmetric(cls, values: np.ndarray, colormap: Colormap) -> "ColorScale":
        """Signed scale with limits ``±max|values|`` (``±1`` for an all-zero map)."""
        limit = float(np.max(np.abs(values)))
        return cls(colormap, -limit if limit > 0 else -1.0, limit if limit > 0 else 1.0, True)

    def unit(self, values: np.ndarray) -> np.ndarray:
        """``values`` mapped onto ``[0, 1]``, the colormap's input (shape kept)."""
        if not self.signed and self.low == 0.0 and self.high == 1.0:
            return values
        return (np.asarray(values, np.float64) - self.low) / (self.high - self.low)

    def opacity(self, values: np.ndarray) -> np.ndarray:
        """Per-value opacity in ``[0, 1]``: ``|v| / high`` when signed, else ``unit(v)``."""
        if self.signed:
            return np.abs(np.asarray(values, np.float64)) / self.high
        return self.unit(values)

    def ticks(self) -> Tuple[float, float, float]:
        """The values at the legend's left end, centre and right end."""
        return self.low, (self.low + self.high) / 2, self.high


def resolve_colormap(colormap: Union[Colormap, str], name: str = "colormap") -> Colormap:
    """Return ``colormap`` itself, or the matplotlib colormap of that name.

    Raises
    ------
    ValueError
        An unknown name (the message lists some valid ones).
    TypeError
        Neither a string nor a callable.
    """
    if isinstance(colormap, str):
        try:
            return matplotlib.colormaps[colormap]
        except KeyError:
            examples = ", ".join(repr(n) for n in sorted(matplotlib.colormaps)[:6])
            raise ValueError(
                f"{name} {colormap!r} is not a known matplotlib colormap name; "
                f"valid names include {examples}, ... "
                f"(see matplotlib.colormaps for all of them)"
            ) from None
    if not callable(colormap):
        raise TypeError(
            f"{name} must be a callable (such as a matplotlib colormap) or a "
            f"colormap name, got {type(colormap).__name__}: {colormap!r:.200}"
        )
    return colormap


def colorize(values: np.ndarray, colormap: Colormap) -> np.ndarray:
    """Apply a colormap to values in ``[0, 1]``: shape ``S -> S + (4,)`` RGBA floats.

    Integer and boolean values are read as the floats they stand for (matplotlib
    would read integers as lookup-table indices).

    Raises
    ------
    ValueError
        The colormap does not return RGBA values of shape ``S + (4,)``.
    """
    if values.dtype.kind != "f":
        values = values.astype(np.float64)
    colored = np.array(colormap(values), dtype=np.float64)
    expected_shape = values.shape + (4,)
    if colored.shape != expected_shape:
        raise ValueError(
            f"colormap must return RGBA values of shape {expected_shape} for a "
            f"heatmap of shape {values.shape}, got shape {colored.shape}"
        )
    return colored


def resolve_signed(signed: Union[bool, str], expl: Any, target: Any) -> bool:
    """Whether to draw ``target``'s raw signed map rather than its [0, 1] heatmap.

    Parameters
    ----------
    signed : bool or 'auto'
        True: draw ``target.raw_heatmap`` on a diverging scale centred at 0 (it must
        exist). 'auto': do so when ``expl.signed`` and the raw map exists. False: draw
        ``target.heatmap`` (eli5's behaviour).

    Raises
    ------
    TypeError, ValueError
        ``signed`` is not a bool or 'auto'; ``signed=True`` without a raw map.
    """
    raw = getattr(target, "raw_heatmap", None)
    if signed == "auto" and isinstance(signed, str):
        return bool(getattr(expl, "signed", False)) and raw is not None
    if not isinstance(signed, (bool, np.bool_)):
        raise TypeError(f"signed must be True, False or 'auto'; got {type(signed).__name__}: {signed!r:.100}")
    if signed and raw is None:
        raise ValueError(
            "signed=True draws the raw signed map (TargetExplanation.raw_heatmap), which this "
            "explanation does not have: its maps were scaled into [0, 1] "
            f"({getattr(expl, 'normalization', None) or 'scaling not recorded'}). "
            "Explain with normalize=False to keep raw maps, or use signed=False."
        )
    return bool(signed)


def legend_image(scale: ColorScale, size: Tuple[int, int] = LEGEND_SIZE) -> Image.Image:
    """The colour bar of ``scale``: ``low`` at the left, ``high`` at the right, opaque RGB."""
    width, height = size
    ramp = colorize(np.linspace(0.0, 1.0, width), scale.colormap)[:, :3]
    pixels = np.repeat((ramp * 255).astype(np.uint8)[None], height, axis=0)
    return Image.fromarray(pixels, "RGB")


def format_number(value: float) -> str:
    """A legend tick: 3 significant digits, a true minus sign, ``0`` for zero."""
    if value == 0:
        return "0"
    return f"{value:.3g}".replace("-", "\u2212")

"""1-D signals (rank-1 maps): a line plot of the input with the map as a coloured band.

A signal explanation carries ``expl.input`` of shape ``(L,)`` or ``(L, C)`` and, per
target, a map of shape ``(l,)`` (resized linearly onto the ``L`` samples when the two
differ). The picture, from top to bottom:

- the plot: one line per channel, over a background tinted by the map as eli5 tints
  an image (colour ``colormap(v)``, opacity ``v`` capped at ``alpha_limit``);
- the band: :data:`BAND_HEIGHT` pixels of the map's colours at full opacity, sample
  ``i`` under columns ``[i * k, (i + 1) * k)`` of the plot (``k`` from :func:`signal_layout`).
"""
from __future__ import annotations

import math
from typing import Any, Optional, Tuple, Union

import matplotlib
import numpy as np
from PIL import Image, ImageDraw

from ..utils.resize import resize_array
from .colormaps import DEFAULT_COLORMAP, Colormap, colorize
from .overlay import expand_heatmap, explained_input, overlay_map, target_map

__all__ = ["format_signal", "signal_layout", "PLOT_HEIGHT", "BAND_GAP", "BAND_HEIGHT"]

MIN_WIDTH = 320
"""Smallest plot width in pixels; each sample spans an integer number of columns."""
PLOT_HEIGHT = 120
"""Height of the line plot in pixels."""
BAND_GAP = 4
"""Pixels between the plot and the band."""
BAND_HEIGHT = 16
"""Height of the colour band in pixels."""
_PADDING = 6
_BACKGROUND = (255, 255, 255, 255)
_FIRST_LINE = (30, 30, 30, 255)


def format_signal(
    expl: Any,
    resampling_filter: Union[int, Image.Resampling] = Image.LANCZOS,
    colormap: Union[Colormap, str, None] = DEFAULT_COLORMAP,
    alpha_limit: Optional[float] = 0.65,
    *,
    target: int = 0,
    signed: Union[bool, str] = False,
) -> Image.Image:
    """Plot the signal ``expl.input`` with the target's map as tint and coloured band.

    Parameters
    ----------
    expl : Explanation
        ``expl.input`` of shape ``(L,)`` or ``(L, C)`` (C channels, one line each);
        the target's ``heatmap`` of shape ``(l,)`` in [0, 1] (``raw_heatmap`` for signed).
    resampling_filter, colormap, alpha_limit, target, signed
        As for :func:`~eli5_keras.formatters.image.format_as_image`;
        ``resampling_filter`` stretches the map's colours over the plot's columns.

    Returns
    -------
    PIL.Image.Image
        RGBA, size ``(L * k, PLOT_HEIGHT + BAND_GAP + BAND_HEIGHT)``.

    Raises
    ------
    ValueError
        ``expl.input`` is not ``(L,)`` or ``(L, C)`` or holds NaN/inf; the map is not
        rank 1 or is outside [0, 1].
    """
    values, scale = target_map(expl, target, colormap, signed, 1, "a signal plot")
    signal = explained_input(expl, (1, 2), "a signal of shape (L,) or (L, C)", values.shape)
    channels = signal.reshape(len(signal), -1).astype(np.float64)
    values = resize_array(values, channels.shape[:1])
    _, width = signal_layout(len(channels))

    canvas = Image.new("RGBA", (width, PLOT_HEIGHT + BAND_GAP + BAND_HEIGHT), _BACKGROUND)
    plot = overlay_map(Image.new("RGBA", (width, PLOT_HEIGHT), _BACKGROUND), values[None], scale, alpha_limit,
                       resampling_filter)
    _draw_lines(plot, channels)
    canvas.paste(plot, (0, 0))
    band = colorize(scale.unit(values)[None], scale.colormap)
    band_image = expand_heatmap(band, Image.new("RGBA", (width, BAND_HEIGHT)), resampling_filter=resampling_filter)
    canvas.paste(band_image, (0, PLOT_HEIGHT + BAND_GAP))
    return canvas


def signal_layout(length: int) -> Tuple[int, int]:
    """``(k, width)``: columns per sample and plot width for ``length`` samples."""
    columns = max(1, math.ceil(MIN_WIDTH / length))
    return columns, columns * length


def _draw_lines(plot: Image.Image, channels: np.ndarray) -> None:
    """One polyline per channel of ``channels`` ``(L, C)``, scaled to the plot's height."""
    length = len(channels)
    columns, _ = signal_layout(length)
    low, high = float(channels.min()), float(channels.max())
    span = high - low if high > low else 1.0
    xs = (np.arange(length) + 0.5) * columns
    draw = ImageDraw.Draw(plot)
    palette = matplotlib.colormaps["tab10"]
    for c in range(channels.shape[1]):
        ys = PLOT_HEIGHT - _PADDING - (channels[:, c] - low) / span * (PLOT_HEIGHT - 2 * _PADDING)
        colour = _FIRST_LINE if c == 0 else tuple(int(255 * v) for v in palette((c - 1) % 10))
        points = list(zip(xs.tolist(), ys.tolist()))
        if length == 1:
            draw.ellipse([points[0][0] - 2, points[0][1] - 2, points[0][0] + 2, points[0][1] + 2], fill=colour)
        else:
            draw.line(points, fill=colour, width=2, joint="curve")

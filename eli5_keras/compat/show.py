"""eli5's ``show_prediction`` for Keras models: explain, then format."""
from __future__ import annotations

import warnings
from typing import Any

from ..base import Explanation
from .explain_prediction import explain_prediction

IMAGE_KWARGS = frozenset({"resampling_filter", "colormap", "alpha_limit", "target", "signed", "axis", "slices"})
"""Keyword arguments of :func:`~eli5_keras.formatters.image.format_as_image`."""
HTML_KWARGS = frozenset({
    "include_styles", "force_weights", "show", "preserve_density", "highlight_spaces",
    "horizontal_layout", "show_feature_values", "target_names",
})
"""Keyword arguments of :func:`~eli5_keras.formatters.html.format_as_html` only."""
FORMAT_KWARGS = IMAGE_KWARGS | HTML_KWARGS


def show_prediction(model: Any, doc: Any, **kwargs: Any) -> Any:
    """Explain ``doc``; an image explanation becomes a PIL image, anything else IPython HTML.

    As eli5 does: keyword arguments of the formatters (``resampling_filter``,
    ``colormap``, ``alpha_limit``, ``target``, ``signed``, ``axis``, ``slices``, and
    :func:`~eli5_keras.formatters.html.format_as_html`'s ``include_styles``, ``show``,
    ``horizontal_layout``, ``target_names``, ...) go to the formatter, all others to
    :func:`explain_prediction`.

    Returns
    -------
    PIL.Image.Image, IPython.display.HTML or Explanation
        The overlay for an image explanation (eli5's return value); for other models
        (whose explanation has no image, e.g. an unsupported model: see its ``error``)
        ``IPython.display.HTML`` of :func:`~eli5_keras.formatters.html.format_as_html`
        with eli5's defaults (``show=fields.WEIGHTS``, ``force_weights=False``). The
        :class:`Explanation` itself, with a warning, when the formatting dependencies
        (Pillow and matplotlib; IPython for HTML) cannot be imported.
    """
    format_kwargs = {k: v for k, v in kwargs.items() if k in FORMAT_KWARGS}
    explain_kwargs = {k: v for k, v in kwargs.items() if k not in FORMAT_KWARGS}
    expl: Explanation = explain_prediction(model, doc, **explain_kwargs)
    try:
        if expl.image is None:
            from IPython.display import HTML

            from ..formatters import fields
            from ..formatters.html import format_as_html
        else:
            from ..formatters.image import format_as_image
    except ImportError as e:
        warnings.warn(
            f"cannot format the explanation ({e}); install Pillow and matplotlib (and IPython for "
            "HTML). Returning the Explanation object.",
            stacklevel=2,
        )
        return expl
    if expl.image is None:
        format_kwargs.setdefault("show", fields.WEIGHTS)
        format_kwargs.setdefault("force_weights", False)
        return HTML(format_as_html(expl, **format_kwargs))
    return format_as_image(expl, **format_kwargs)

"""eli5's ``show_prediction`` for Keras models: explain, then format.

Image explanations are drawn as a PIL image, text explanations (targets with weighted
spans) rendered as HTML.
"""
from __future__ import annotations

import warnings
from typing import Any

from ..base import Explanation
from .explain_prediction import explain_prediction

FORMAT_KWARGS = frozenset({"resampling_filter", "colormap", "alpha_limit", "target", "show", "preserve_density"})


def show_prediction(model: Any, doc: Any, **kwargs: Any) -> Any:
    """Explain ``doc`` and return the heatmap overlaid on the image (a PIL image), or
    for a text model the highlighted document (HTML).

    Keyword arguments of the formatters (``resampling_filter``, ``colormap``,
    ``alpha_limit``, ``target`` of
    :func:`~eli5_keras.formatters.image.format_as_image`; ``target``, ``show``,
    ``preserve_density`` of :func:`~eli5_keras.formatters.text_html.format_text_as_html`)
    go to the formatter, all others to :func:`explain_prediction`.

    Returns
    -------
    PIL.Image.Image, IPython.display.HTML, str or Explanation
        The overlay for an image explanation; for a text explanation with tokens, an
        ``IPython.display.HTML`` (shown in notebooks), or the HTML string with a
        warning when IPython cannot be imported; the :class:`Explanation` itself when
        there is nothing to draw (e.g. an unsupported model: see its ``error``) or
        when the image dependencies (Pillow, matplotlib) cannot be imported, with a
        warning.
    """
    format_kwargs = {k: v for k, v in kwargs.items() if k in FORMAT_KWARGS}
    explain_kwargs = {k: v for k, v in kwargs.items() if k not in FORMAT_KWARGS}
    expl: Explanation = explain_prediction(model, doc, **explain_kwargs)
    if expl.image is None:
        from ..formatters.text_html import format_text_as_html, has_weighted_spans

        if has_weighted_spans(expl):
            return _html(format_text_as_html(expl, **format_kwargs))
        return expl
    try:
        from ..formatters.image import format_as_image
    except ImportError as e:
        warnings.warn(
            f"cannot format the explanation as an image ({e}); install Pillow and matplotlib. "
            "Returning the Explanation object.",
            stacklevel=2,
        )
        return expl
    return format_as_image(expl, **format_kwargs)


def _html(html: str) -> Any:
    try:
        from IPython.display import HTML
    except ImportError:
        warnings.warn("IPython is not installed: returning the HTML as a str.", stacklevel=3)
        return html
    return HTML(html)

"""eli5's ``show_prediction`` for Keras image models: explain, then format."""
from __future__ import annotations

import warnings
from typing import Any

from ..base import Explanation
from .explain_prediction import explain_prediction

FORMAT_KWARGS = frozenset({"resampling_filter", "colormap", "alpha_limit", "target"})


def show_prediction(model: Any, doc: Any, **kwargs: Any) -> Any:
    """Explain ``doc`` and return the heatmap overlaid on the image (a PIL image).

    Keyword arguments of :func:`~eli5_keras.formatters.image.format_as_image`
    (``resampling_filter``, ``colormap``, ``alpha_limit``, ``target``) go to the
    formatter, all others to :func:`explain_prediction`.

    Returns
    -------
    PIL.Image.Image or Explanation
        The overlay for an image explanation; the :class:`Explanation` itself when it
        has no image (e.g. an unsupported model: see its ``error``) or when the image
        dependencies (Pillow, matplotlib) cannot be imported, with a warning.
    """
    format_kwargs = {k: v for k, v in kwargs.items() if k in FORMAT_KWARGS}
    explain_kwargs = {k: v for k, v in kwargs.items() if k not in FORMAT_KWARGS}
    expl: Explanation = explain_prediction(model, doc, **explain_kwargs)
    if expl.image is None:
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

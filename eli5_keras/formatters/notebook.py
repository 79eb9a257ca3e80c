"""Jupyter display hooks: what ``Explanation._repr_png_`` returns."""
from __future__ import annotations

from typing import Any, Optional

from .embed import png_bytes
from .image import format_as_image
from .kinds import IMAGE, MAP_KINDS, explanation_kind

__all__ = ["repr_png"]


def repr_png(expl: Any) -> Optional[bytes]:
    """PNG bytes of ``format_as_image(expl)`` for a single-target image, volume or signal
    explanation; None otherwise (Jupyter then shows the HTML alone)."""
    if getattr(expl, "error", None) or not expl.targets or len(expl.targets) != 1:
        return None
    try:
        kind = explanation_kind(expl)
    except ValueError:
        return None
    if kind not in MAP_KINDS or (kind == IMAGE and expl.image is None):
        return None
    return png_bytes(format_as_image(expl))

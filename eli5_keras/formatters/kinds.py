"""What an explanation explains, read from its data: the key formatters dispatch on.

An image, volume or signal explanation holds per-target maps (``heatmap``) of rank 2,
3 or 1; a text explanation holds ``weighted_spans`` instead. Formatters ask
:func:`explanation_kind` and pick a renderer, so a new kind plugs in without
touching the others.
"""
from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["IMAGE", "VOLUME", "SIGNAL", "TEXT", "MAP_KINDS", "explanation_kind", "has_weighted_spans", "map_rank"]

IMAGE = "image"
VOLUME = "volume"
SIGNAL = "signal"
TEXT = "text"

_KIND_BY_RANK = {1: SIGNAL, 2: IMAGE, 3: VOLUME}
MAP_KINDS = tuple(_KIND_BY_RANK.values())
"""Kinds whose targets carry spatial maps (drawn by the image formatters)."""


def map_rank(heatmap: Any) -> int:
    """The number of spatial axes of a map: 1 signal, 2 image, 3 volume."""
    return int(np.ndim(heatmap))


def has_weighted_spans(explanation: Any) -> bool:
    """True when a target of ``explanation`` carries weighted spans (a text explanation)."""
    return any(getattr(t, "weighted_spans", None) for t in (getattr(explanation, "targets", None) or []))


def explanation_kind(expl: Any) -> str:
    """The kind of ``expl``: ``'image'``, ``'volume'``, ``'signal'`` or ``'text'``.

    A target with ``weighted_spans`` makes it ``'text'`` (text explanations also carry a
    heatmap over their tokens); otherwise the first target with a ``heatmap`` decides by
    the map's rank (1 signal, 2 image, 3 volume).
    Without targets, an explanation with an ``image`` is an image one.

    Raises
    ------
    ValueError
        The explanation has neither maps, weighted spans nor an image (e.g. an error
        explanation), or a map of another rank.
    """
    for target in getattr(expl, "targets", None) or []:
        if getattr(target, "weighted_spans", None) is not None:
            return TEXT  # text explanations carry a heatmap over the tokens too
        heatmap = getattr(target, "heatmap", None)
        if heatmap is not None:
            rank = map_rank(heatmap)
            if rank not in _KIND_BY_RANK:
                raise ValueError(
                    f"heatmap of target {target.target!r} has rank {rank}, shape {np.shape(heatmap)}; "
                    "expected rank 1 (signal), 2 (image) or 3 (volume)."
                )
            return _KIND_BY_RANK[rank]
    if getattr(expl, "image", None) is not None:
        return IMAGE
    raise ValueError(
        "expl has nothing to draw: no target holds a heatmap or weighted spans, and it has no image"
        + (f" (its error: {expl.error})" if getattr(expl, "error", None) else "")
        + "."
    )

"""Names of the parts of an explanation that ``format_as_html(show=...)`` can show (eli5's)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Tuple

WEIGHTS = ("transition_features", "targets", "feature_importances", "decision_tree")
"""The explanation's content: for image, volume and signal explanations, the maps ('targets')."""
INFO = ("method", "description")
"""The method line (method, layer, model) and the description text."""
ALL = INFO + WEIGHTS


def check_show(show: Any) -> Tuple[str, ...]:
    """``show``, a sequence of names from :data:`ALL`, as a tuple.

    Raises
    ------
    TypeError
        ``show`` is a str (one name, surely meant as a sequence of names) or not a sequence.
    ValueError
        A name not in :data:`ALL`.
    """
    if isinstance(show, str) or not isinstance(show, Iterable):
        raise TypeError(f"show must be a sequence of field names from {ALL}; got {show!r}.")
    show = tuple(show)
    unknown = [part for part in show if part not in ALL]
    if unknown:
        raise ValueError(f"show must hold names from {ALL}; got unknown fields {unknown}.")
    return show

"""Explanation methods, selected by name: ``explain(model, x, method="gradcam")``."""
from __future__ import annotations

from typing import Dict, List, Type

from .base import ChannelWeightCAM, Method
from .gradcam import GradCAM

_REGISTRY: Dict[str, Type[Method]] = {cls.name: cls for cls in (GradCAM,)}


def available() -> List[str]:
    """Names of the available methods."""
    return sorted(_REGISTRY)


def describe() -> Dict[str, str]:
    """``{name: one-line summary}`` of the available methods."""
    return {name: _REGISTRY[name].summary for name in available()}


def get(name: str) -> Method:
    """A method instance by name (case-insensitive).

    Raises
    ------
    TypeError
        ``name`` is not a string.
    ValueError
        Unknown name; the message lists the available ones.
    """
    if isinstance(name, Method):
        return name
    if not isinstance(name, str):
        raise TypeError(f"method must be a method name (str); got {type(name).__name__}: {name!r}.")
    cls = _REGISTRY.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown method {name!r}; available methods: {', '.join(available())}.")
    return cls()


__all__ = ["Method", "ChannelWeightCAM", "GradCAM", "available", "describe", "get"]

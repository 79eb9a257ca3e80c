"""Explanation methods, selected by name: ``explain(model, x, method="gradcam", **options)``.

Each method is one module on the shared base (:mod:`.base`); :data:`REGISTRY` lists
them. ``get(name, **options)`` builds one; ``available()`` lists the names.
"""
from __future__ import annotations

from typing import Any, Dict, List, Type, Union

from .base import ChannelWeightCAM, Context, GradientCAM, Method, MethodOutput
from .gradcam import GradCAM
from .noise import SmoothGrad, SquareGrad, VarGrad
from .occlusion import Occlusion
from .rise import RISE
from .tta import TTA

REGISTRY: Dict[str, Type[Method]] = {
    cls.name: cls for cls in (GradCAM, Occlusion, RISE, SmoothGrad, SquareGrad, VarGrad, TTA)
}


def available() -> List[str]:
    """Names of the available methods."""
    return sorted(REGISTRY)


def describe() -> Dict[str, str]:
    """``{name: one-line summary}`` of the available methods."""
    return {name: REGISTRY[name].summary for name in available()}


def get(name: Union[str, Method], **options: Any) -> Method:
    """A method instance by name (case-insensitive; ``-`` and ``_`` alike), with options.

    Raises
    ------
    TypeError
        ``name`` is not a string or Method; an option the method does not take.
    ValueError
        Unknown name (the message lists the available ones); a bad option value.
    """
    if isinstance(name, Method):
        if options:
            raise TypeError(f"options {sorted(options)} given with a Method instance; set them on the instance.")
        return name
    if not isinstance(name, str):
        raise TypeError(f"method must be a method name (str); got {type(name).__name__}: {name!r}.")
    cls = REGISTRY.get(name.lower().replace("-", "_"))
    if cls is None:
        cls = REGISTRY.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown method {name!r}; available methods: {', '.join(available())}.")
    try:
        return cls(**options)
    except TypeError as e:
        raise TypeError(f"method {cls.name!r}: {e}") from None


__all__ = [
    "Method",
    "MethodOutput",
    "Context",
    "GradientCAM",
    "ChannelWeightCAM",
    "GradCAM",
    "Occlusion",
    "RISE",
    "SmoothGrad",
    "SquareGrad",
    "VarGrad",
    "TTA",
    "REGISTRY",
    "available",
    "describe",
    "get",
]

"""Explanation methods, selected by name: ``explain(model, x, method="gradcam", **options)``.

Each method is one module on the shared base (:mod:`.base`); :data:`REGISTRY` lists
them. ``get(name, **options)`` builds one (by name or by one of the method's ``aliases``);
``available()`` lists the names.
"""
from __future__ import annotations

from typing import Any, Dict, List, Type, Union

from .base import ChannelWeightCAM, Context, GradientCAM, Method, MethodOutput
from .ablationcam import AblationCAM
from .cam import CAM
from .deconvnet import Deconvnet
from .eigencam import EigenCAM
from .eigengradcam import EigenGradCAM
from .fullgrad import FullGrad
from .gradcam import GradCAM
from .gradcam_elementwise import GradCAMElementWise
from .gradcam_plus_plus import GradCAMPlusPlus
from .gradient_input import GradientInput
from .guided_backprop import GuidedBackprop
from .guided_gradcam import GuidedGradCAM
from .hirescam import HiResCAM
from .hsic import HSICAttribution
from .integrated_gradients import IntegratedGradients
from .kernelshap import KernelSHAP
from .layercam import LayerCAM
from .lime import Lime
from .noise import SmoothGrad, SquareGrad, VarGrad
from .occlusion import Occlusion
from .rise import RISE
from .saliency import Saliency
from .scorecam import ScoreCAM
from .sobol import SobolAttribution
from .tta import TTA
from .xgradcam import XGradCAM

REGISTRY: Dict[str, Type[Method]] = {
    cls.name: cls
    for cls in (
        GradCAM,
        GradCAMPlusPlus,
        XGradCAM,
        LayerCAM,
        HiResCAM,
        GradCAMElementWise,
        EigenCAM,
        EigenGradCAM,
        CAM,
        ScoreCAM,
        AblationCAM,
        FullGrad,
        Saliency,
        GradientInput,
        IntegratedGradients,
        GuidedBackprop,
        Deconvnet,
        GuidedGradCAM,
        Occlusion,
        RISE,
        SobolAttribution,
        HSICAttribution,
        Lime,
        KernelSHAP,
        SmoothGrad,
        SquareGrad,
        VarGrad,
        TTA,
    )
}


def _canonical(name: str) -> str:
    return name.lower().replace("-", "_")


def _lookup() -> Dict[str, Type[Method]]:
    """Canonical names and aliases -> method class (names win over aliases)."""
    table = {_canonical(alias): cls for cls in REGISTRY.values() for alias in cls.aliases}
    table.update((_canonical(name), cls) for name, cls in REGISTRY.items())
    return table


def available() -> List[str]:
    """Names of the available methods."""
    return sorted(REGISTRY)


def describe() -> Dict[str, str]:
    """``{name: one-line summary}`` of the available methods."""
    return {name: REGISTRY[name].summary for name in available()}


def get(name: Union[str, Method], **options: Any) -> Method:
    """A method instance by name or alias (case-insensitive; ``-`` and ``_`` alike), with options.

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
    cls = _lookup().get(_canonical(name))
    if cls is None:
        raise ValueError(f"unknown method {name!r}; available methods: {', '.join(available())}.")
    try:
        return cls(**options)
    except TypeError as e:
        import inspect

        accepted = [k for k in inspect.signature(cls.__init__).parameters if k not in ("self", "args", "kwargs")]
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise TypeError(
                f"method {cls.name!r} has no option(s) {unknown}; its options are {accepted or 'none'}."
            ) from None
        raise TypeError(f"method {cls.name!r}: {e}") from None


__all__ = [
    "Method",
    "MethodOutput",
    "Context",
    "GradientCAM",
    "ChannelWeightCAM",
    "GradCAM",
    "GradCAMPlusPlus",
    "XGradCAM",
    "LayerCAM",
    "HiResCAM",
    "GradCAMElementWise",
    "EigenCAM",
    "EigenGradCAM",
    "CAM",
    "ScoreCAM",
    "AblationCAM",
    "FullGrad",
    "Saliency",
    "GradientInput",
    "IntegratedGradients",
    "GuidedBackprop",
    "Deconvnet",
    "GuidedGradCAM",
    "Occlusion",
    "RISE",
    "SobolAttribution",
    "HSICAttribution",
    "Lime",
    "KernelSHAP",
    "SmoothGrad",
    "SquareGrad",
    "VarGrad",
    "TTA",
    "REGISTRY",
    "available",
    "describe",
    "get",
]

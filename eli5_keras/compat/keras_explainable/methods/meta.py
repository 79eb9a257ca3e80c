"""keras-explainable's meta methods (``ke.methods.meta``): :func:`smooth` and
:func:`tta` wrap a method function into another one used like it, each running as one
engine wrapper (the engine's ``smoothgrad`` / ``tta``) around the method's own engine
call (its :class:`~.engine.EngineSpec`).

Both return ``(scores (B, L), maps)`` where the scores are the clean input's
(keras-explainable averages the logits of the noisy / augmented copies too) and the
maps keep keras-explainable's numbers (docs/compat.md). Methods without an engine spec
(``cams.gradcampp``, whose ``exp(y_c)`` factor is per copy) raise ``ValueError``.
The wrapped function's own keyword arguments (``full_gradients``' ``psi``, ``biases``)
pass through, as in keras-explainable.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple

import numpy as np

from .... import validation as check
from ..inspection import KERNEL_AXIS, SPATIAL_AXIS, as_exposed
from .engine import EngineSpec, run


def engine_spec(method: Callable, meta: str) -> EngineSpec:
    """The :class:`EngineSpec` of a keras-explainable method function; ValueError for
    a function without one."""
    spec = getattr(method, "engine", None)
    if not isinstance(spec, EngineSpec):
        raise ValueError(
            f"methods.meta.{meta} wraps the method functions of this facade whose maps are linear in the "
            f"engine's (cams.cam, cams.gradcam, cams.scorecam, gradient.gradients, gradient.full_gradients); "
            f"got {getattr(method, '__name__', method)!r}."
        )
    return spec


def smooth(method: Callable, repetitions: int = 20, noise: float = 0.1, seed: int = 0) -> Callable:
    """SmoothGrad over any method (Smilkov et al. 2017), as keras-explainable:

        maps = (E(x) + sum_{j=1}^{r-1} E(x + eps_j)) / r,   eps_j ~ N(0, noise^2)

    the clean input counted as one of the ``r = repetitions`` samples, ``noise`` an
    absolute standard deviation. ``seed`` (not in keras-explainable, whose noise is
    unseeded) fixes the engine's stateless noise. Maps as ``method``'s; scores the clean
    input's."""
    spec = engine_spec(method, "smooth")
    repetitions = check.integer("repetitions", repetitions, 1)
    noise = check.real("noise", noise, low=0.0)
    seed = check.integer("seed", seed, 0)

    def apply(model: Any, inputs: Any, indices: Optional[Any] = None, indices_axis: int = KERNEL_AXIS,
              indices_batch_dims: int = -1, spatial_axis: Tuple[int, ...] = SPATIAL_AXIS, *, batch_size: int = 32,
              **params: Any):
        exposed = as_exposed(model)
        options = spec.engine_options(exposed, **params)
        common = (exposed, inputs, indices, indices_axis, indices_batch_dims, spatial_axis, batch_size, spec.at_layer)
        scores, clean, x = run(spec.method, *common, **options)
        if repetitions == 1:
            return scores, spec.finish(clean, x)
        _, noisy, _ = run("smoothgrad", *common, base=spec.method, base_options=options,
                          samples=repetitions - 1, sigma=noise, seed=seed)
        return scores, spec.finish((clean + (repetitions - 1) * noisy) / repetitions, x)

    apply.__name__ = f"{method.__name__}_smooth"
    return apply


def tta(method: Callable, scales: Sequence[float] = (0.5, 1.5, 2.0), hflip: bool = True,
        resize_method: str = "bilinear") -> Callable:
    """Test-time augmentation, as keras-explainable: ``method`` on the input and on
    copies resized to ``int(s * size)`` for ``s`` in ``scales``, each also flipped
    horizontally when ``hflip``; each map (a CAM at its copy's layer grid) flipped
    back, resized bilinearly onto the input and summed, the sum divided by
    ``len(scales) * (2 if hflip else 1)`` (not by the number of passes,
    ``(1 + len(scales)) * (2 if hflip else 1)``: keras-explainable's count, kept)::

        M = sum_{s in {1} + scales} sum_{f} resize(F_f E(resize(F_f x, int(s * size))), size)
            / (len(scales) * (2 if hflip else 1))

    (``F_f`` the identity or the horizontal flip). The engine's ``tta`` with
    ``grid="input"``, ``rounding="floor"``, ``scaling="resize"``; the model must take
    any spatial size. Maps ``(B, H, W, L)`` (``(B, H, W, 1)`` for ``full_gradients``);
    scores the clean input's."""
    spec = engine_spec(method, "tta")
    scales = check.float_tuple("scales", scales)
    hflip = check.boolean("hflip", hflip)
    check.choice("resize_method", resize_method, ("bilinear",))
    copies = 2 if hflip else 1
    factor = (1 + len(scales)) * copies / (len(scales) * copies)

    def apply(model: Any, inputs: Any, indices: Optional[Any] = None, indices_axis: int = KERNEL_AXIS,
              indices_batch_dims: int = -1, spatial_axis: Tuple[int, ...] = SPATIAL_AXIS, *, batch_size: int = 32,
              **params: Any):
        exposed = as_exposed(model)
        options = spec.engine_options(exposed, **params)
        scores, maps, x = run("tta", exposed, inputs, indices, indices_axis, indices_batch_dims, spatial_axis,
                              batch_size, spec.at_layer, base=spec.method, base_options=options,
                              flips=(-1,) if hflip else (), scales=(1.0,) + scales, scaling="resize",
                              grid="input", rounding="floor")
        return scores, spec.finish(maps * factor, x)

    apply.__name__ = f"{method.__name__}_tta"
    return apply


__all__ = ["smooth", "tta"]

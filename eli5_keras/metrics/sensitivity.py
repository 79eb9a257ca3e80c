"""Max- and avg-sensitivity (Yeh, Hsieh, Suggala, Inouye and Ravikumar, *On the (In)fidelity
and Sensitivity of Explanations*, NeurIPS 2019): how much a map changes when the input
moves a little, estimated by Monte Carlo in the L_inf ball of radius ``r``.

    delta_s ~ U[-r, r]^(input's shape),  s = 1..samples
    ratio_s = ||Phi(x + delta_s) - Phi(x)||_2 / D,    D = ||Phi(x)||_2 (default)
    max-sensitivity = max_s ratio_s,     avg-sensitivity = mean_s ratio_s

``Phi`` is the method's map (as :func:`eli5_keras.explain` returns it, with its
normalisation), explained on every perturbed copy for the classes of the clean input's
maps; ``||.||_2`` the Frobenius norm over all the map's positions. Lower is better.

``denominator``: ``"map"`` (``||Phi(x)||``, a relative change; NaN when the map is all 0),
``"input"`` (``||x||``, the flattened explained input: what Quantus' ``MaxSensitivity`` /
``AvgSensitivity`` divide by with their default ``norm_denominator``) or None (no division:
the paper's definition and Xplique's ``AverageStability`` distance). Quantus' defaults are
``lower_bound=0.2`` (noise U[-0.2, 0.2], the radius here) and ``nr_samples=200``; Xplique's
``AverageStability`` draws U[0, 0.1) (one-sided) 20 times. Newer Quantus versions can also
return NaN for an input whose predicted class a perturbation changes; here every draw counts.

The noise is ``numpy.random.default_rng(seed).uniform(-r, r, x.shape)`` for ``s = 1, 2, ...``
in turn, on the explained input only (other inputs of a multi-input model stay as they are).
"""
from __future__ import annotations

from typing import Any, Optional, Tuple

import keras
import numpy as np

from .. import validation as check
from ..explain import explain
from ..methods.base import is_float_dtype
from .engine import metric_inputs

DEFAULT_RADIUS = 0.2
DEFAULT_SAMPLES = 200
DENOMINATORS = ("map", "input")


def sensitivities(
    model: keras.Model,
    inputs: Any,
    method: Any = "gradcam",
    targets: Any = None,
    *,
    radius: float = DEFAULT_RADIUS,
    samples: int = DEFAULT_SAMPLES,
    denominator: Optional[str] = "map",
    seed: int = 0,
    batch_size: int = 32,
    input_index: Optional[int] = None,
    **explain_options: Any,
) -> Tuple[np.ndarray, np.ndarray]:
    """Max- and avg-sensitivity from the same draws: two arrays ``(N,)`` (``(N, T)`` with
    ``T > 1`` targets). Arguments as :func:`max_sensitivity`."""
    radius = check.real("radius", radius, 0.0, open_low=True)
    samples = check.integer("samples", samples, 1)
    if denominator is not None:
        denominator = check.choice("denominator", denominator, DENOMINATORS)
    seed = check.integer("seed", seed, 0)
    arrays, index = metric_inputs(model, inputs, input_index)
    x = arrays[index]
    if not is_float_dtype(str(x.dtype)):
        raise ValueError(f"sensitivity adds noise to the input, so it needs a float input; input {index} is {x.dtype}.")
    options = dict(explain_options, method=method, batch_size=batch_size, input_index=input_index)
    clean = explain(model, inputs, targets=targets, **options)
    fixed = clean.targets if targets is None else targets
    options.pop("top_k", None)
    n, t = clean.maps.shape[:2]
    reference = clean.maps.reshape(n, t, -1).astype(np.float64)
    if denominator == "map":
        scale = np.linalg.norm(reference, axis=2)
    elif denominator == "input":
        scale = np.repeat(np.linalg.norm(x.reshape(n, -1).astype(np.float64), axis=1)[:, None], t, axis=1)
    else:
        scale = np.ones((n, t))
    rng = np.random.default_rng(seed)
    largest = np.full((n, t), -np.inf)
    total = np.zeros((n, t))
    for _ in range(samples):
        moved = list(arrays)
        moved[index] = x + rng.uniform(-radius, radius, x.shape).astype(x.dtype)
        maps = explain(model, moved if len(moved) > 1 else moved[0], targets=fixed, **options).maps
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.linalg.norm(maps.reshape(n, t, -1) - reference, axis=2) / scale
        largest = np.maximum(largest, ratio)
        total += ratio
    mean = total / samples
    return (largest[:, 0], mean[:, 0]) if t == 1 else (largest, mean)


def max_sensitivity(model: keras.Model, inputs: Any, method: Any = "gradcam", targets: Any = None,
                    **options: Any) -> np.ndarray:
    """Max-sensitivity of each input's map: ``(N, *input_shape) -> (N,)``.

    Parameters
    ----------
    model, inputs, method, targets, batch_size, input_index, **explain_options
        As for :func:`eli5_keras.explain`; the perturbed copies are explained for the
        classes of the clean input's maps.
    radius : float > 0, default 0.2
        ``r``: each value of the explained input moves by U[-r, r] (Quantus' default).
    samples : int >= 1, default 200
        Perturbed copies per input (one explain() pass over the inputs each).
    denominator : {"map", "input", None}, default "map"
        Divide by ``||Phi(x)||``, by ``||x||`` (Quantus) or not at all (the paper, Xplique).
    seed : int, default 0

    Returns
    -------
    numpy.ndarray float64 (N,) (or (N, T)); lower is better.
    """
    return sensitivities(model, inputs, method, targets, **options)[0]


def avg_sensitivity(model: keras.Model, inputs: Any, method: Any = "gradcam", targets: Any = None,
                    **options: Any) -> np.ndarray:
    """Avg-sensitivity of each input's map, the mean of the ratios over the samples:
    ``(N, *input_shape) -> (N,)``; the arguments are :func:`max_sensitivity`'s."""
    return sensitivities(model, inputs, method, targets, **options)[1]

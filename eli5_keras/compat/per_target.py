"""What eli5's image and text explainers share: the flag checks, eli5's ``targets``
argument, and the loop giving one :class:`TargetExplanation` per target.

For each target, :func:`explain_targets` runs
:func:`~eli5_keras.compat.gradcam.gradcam_backend` (one compiled pass) and
:func:`~eli5_keras.compat.gradcam.gradcam` (numpy), then an optional ``resize`` of the
map (text: from the layer's steps onto the document's positions). A signed map
(``relu=False``) is kept in ``raw_heatmap``; ``heatmap`` holds its
:func:`~eli5_keras.result.unit_range` shift (:func:`~eli5_keras.result.heatmap_fields`;
eli5's image explainer) or, for text, the signed map itself (eli5's text branch).
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional

import keras
import numpy as np

from ..backend.topology import LayerPath, model_outputs
from ..base import TargetExplanation
from ..result import heatmap_fields
from .gradcam import gradcam, gradcam_backend, validate_target


def check_flags(**flags: Any) -> None:
    """Each flag must be a bool (``relu``, ``counterfactual``)."""
    for name, value in flags.items():
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool; got {type(value).__name__} {value!r}.")


def target_lists(model: keras.Model, targets: Optional[list]) -> list:
    """eli5's ``targets`` as one ``gradcam_backend`` argument per explained target:
    ``[None]`` (the top class) or ``[[c1], [c2], ...]``.

    Raises
    ------
    TypeError, ValueError
        ``targets`` not a non-empty list or None; eli5's errors for each target.
    """
    if targets is None:
        return [None]
    if isinstance(targets, list) and targets:
        output_shape_ = tuple(model_outputs(model)[0].shape)
        for target in targets:
            validate_target(target, output_shape_)
        return [[int(t)] for t in targets]
    raise TypeError(f'Invalid argument "targets" (must be a non-empty list or None): {targets!r}')


def explain_targets(
    model: keras.Model,
    doc: np.ndarray,
    targets: Optional[list],
    path: LayerPath,
    relu: bool,
    counterfactual: bool,
    resize: Optional[Callable[[np.ndarray], np.ndarray]] = None,
    signed_heatmap: bool = False,
) -> List[TargetExplanation]:
    """Grad-CAM of ``doc`` at the layer ``path`` for each of eli5's ``targets``.

    Parameters
    ----------
    model : keras.Model
    doc : numpy.ndarray, shape (1, *input_shape)
    targets : list of int or None
        None: the top class.
    path : LayerPath
    relu, counterfactual : bool
        As in :func:`~eli5_keras.compat.gradcam.gradcam`.
    resize : callable, optional
        ``(*s,) -> (*S,)``, applied to each map after normalisation.
    signed_heatmap : bool, default False
        With ``relu=False``, put the signed map (in [-1, 1]) in ``heatmap`` as well
        as in ``raw_heatmap`` (eli5's text branch) instead of its [0, 1] shift
        (eli5's image explainer).

    Returns
    -------
    list of TargetExplanation
        ``target`` the class, ``score`` the model's output for it, the map in
        ``heatmap`` (and ``raw_heatmap`` when ``relu=False``).

    Raises
    ------
    TypeError, ValueError
        eli5's errors for ``targets`` (see :func:`target_lists`).
    """
    explained = []
    for target in target_lists(model, targets):
        weights, activations, _, predicted_idx, predicted_val = gradcam_backend(model, doc, target, path)
        lmap = gradcam(weights, activations, relu=relu, counterfactual=counterfactual)
        if resize is not None:
            lmap = resize(lmap)
        fields = heatmap_fields(lmap, in_unit_range=relu)
        if signed_heatmap and not relu:
            fields["heatmap"] = lmap
        explained.append(TargetExplanation(predicted_idx, score=predicted_val, **fields))
    return explained

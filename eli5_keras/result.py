"""The result of :func:`eli5_keras.explain`: maps of a batch, and eli5 objects per input.

Formatters read these fields to draw honestly: ``signed`` says whether maps can be
negative (then a diverging colormap centred at 0 is the faithful rendering) and
``normalization`` says in words how the numbers were scaled.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from .base import Explanation, TargetExplanation
from .constants import EPSILON
from .utils.resize import constant_maps

EMPTY_MAP_HINT = (
    "a target with only negative evidence has an all-zero map after the ReLU: relu=False shows "
    "the negative evidence; counterfactual=True explains what lowers the score"
)
"""What an empty map usually means and what to do, said by the warning and every formatter."""


class EmptyMapWarning(UserWarning):
    """Some maps of an :func:`eli5_keras.explain` call are empty: constant, so they show
    nothing (:attr:`ExplanationBatch.empty`). Raised once per call, naming them."""


DESCRIPTION = (
    "{title} map for a Keras model: which parts of the input drove the score of each "
    "target. Heatmap values are in [0, 1] ({normalization})."
)


@dataclass
class ExplanationBatch:
    """Explanations of a batch of ``N`` inputs for ``T`` targets each.

    Attributes
    ----------
    maps : numpy.ndarray, float32, shape (N, T, *S)
        ``S`` is the input's spatial shape (or the layer's grid with ``resize=False``).
        In ``[0, 1]`` when ``normalized``; raw (possibly signed) otherwise.
    targets : numpy.ndarray, int, shape (N, T)
        The explained class (or output index) of each map.
    scores : numpy.ndarray, float32, shape (N, T)
        The model's output for each target, as the model returns it.
    method : str
        Method title (e.g. ``'Grad-CAM'``).
    layer : str or None
        The explained layer's path; None for methods on the input.
    model_name : str
    normalized : bool
        Each map was min-max normalised to [0, 1].
    probabilities : bool
        ``scores`` are probabilities (the model ends in softmax/sigmoid).
    signed : bool
        Maps may hold negative values (no ReLU, or a signed method such as
        Integrated Gradients before normalisation).
    normalization : str
        How the map values were scaled, in words (shown by formatters).
    target_names : list or dict of str, optional
        Names of the classes, indexed by ``targets``.
    extras : dict of str to numpy.ndarray
        Per-map numbers a method reports besides maps, each ``(N, T, ...)``, e.g.
        Integrated Gradients' ``completeness_gap``.
    inputs : numpy.ndarray, optional
        The explained inputs (the one the maps are resized onto), for overlays.
    empty : numpy.ndarray, bool, shape (N, T)
        Which maps are empty: constant before normalisation (all zero after the ReLU
        for a target with only negative evidence), so all zero when ``normalized``.
        ``result[i].targets[t].empty`` carries it; formatters draw a note for it.
        Default (None given): computed from ``maps``.

    In Jupyter a batch displays itself as an HTML table (the first inputs, see
    :func:`~eli5_keras.formatters.html.format_as_html`).
    """

    maps: np.ndarray
    targets: np.ndarray
    scores: np.ndarray
    method: str
    layer: Optional[str]
    model_name: str
    normalized: bool
    probabilities: bool
    signed: bool = False
    normalization: str = ""
    target_names: Optional[Any] = None
    extras: Dict[str, np.ndarray] = field(default_factory=dict)
    inputs: Optional[np.ndarray] = field(default=None, repr=False)
    empty: Optional[np.ndarray] = None

    def __post_init__(self) -> None:
        if self.empty is None:
            self.empty = constant_maps(tf.constant(self.maps), first_axis=2).numpy()

    def empty_maps(self) -> List[Tuple[int, Any]]:
        """``(input index, target label)`` of each empty map, in order."""
        return [(int(i), self._target_label(int(self.targets[i, t]))) for i, t in zip(*np.nonzero(self.empty))]

    def __len__(self) -> int:
        return len(self.maps)

    def __iter__(self) -> Iterator[Explanation]:
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index: int) -> Explanation:
        """The eli5 :class:`Explanation` of input ``index`` (one target per map).

        Each ``TargetExplanation.heatmap`` is in [0, 1]: the map itself when
        ``normalized``, else the raw map scaled by ``(m - min(m.min(), 0)) /
        (m.max() - min(m.min(), 0) + 1e-7)`` (zero stays zero for non-negative maps).
        The raw map is kept in ``TargetExplanation.raw_heatmap`` when it differs.
        ``image`` is a PIL image of the input for 2-D maps; ``input`` is the input
        array (volumes and signals are drawn from it).
        """
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int; got {type(index).__name__}.")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} explanations.")
        index = int(index) % n
        targets = [
            TargetExplanation(
                target=self._target_label(int(self.targets[index, t])),
                score=float(self.scores[index, t]),
                proba=float(self.scores[index, t]) if self.probabilities else None,
                **heatmap_fields(self.maps[index, t], in_unit_range=self.normalized),
                empty=bool(self.empty[index, t]),
            )
            for t in range(self.targets.shape[1])
        ]
        return Explanation(
            self.model_name,
            description=DESCRIPTION.format(title=self.method, normalization=self.normalization),
            error="",
            method=self.method,
            targets=targets,
            is_regression=False,
            highlight_spaces=None,
            image=_maybe_image(self.inputs, index) if self.maps.ndim == 4 else None,
            layer=self.layer,
            normalization=self.normalization,
            signed=self.signed,
            input=None if self.inputs is None else self.inputs[index],
        )

    def _repr_html_(self) -> str:
        from .formatters.html import format_as_html

        return format_as_html(self)

    def _target_label(self, target: int) -> Any:
        if self.target_names is None:
            return target
        try:
            return self.target_names[target]
        except (IndexError, KeyError):
            return target


def unit_range(heatmap: np.ndarray) -> np.ndarray:
    """``(m - low) / (m.max() - low + 1e-7)`` with ``low = min(m.min(), 0)``: into [0, 1]."""
    low = min(float(heatmap.min()), 0.0)
    return ((heatmap - low) / (float(heatmap.max()) - low + EPSILON)).astype(np.float32)


def heatmap_fields(lmap: np.ndarray, in_unit_range: bool) -> Dict[str, Optional[np.ndarray]]:
    """A :class:`TargetExplanation`'s ``heatmap`` and ``raw_heatmap`` for ``lmap``: the
    map itself (no raw map) when it is already in [0, 1]; otherwise (signed or not
    normalised) its :func:`unit_range` shift for drawing, the map kept as it is in
    ``raw_heatmap``."""
    if in_unit_range:
        return {"heatmap": lmap, "raw_heatmap": None}
    return {"heatmap": unit_range(lmap), "raw_heatmap": lmap}


def explained_values(target: TargetExplanation) -> np.ndarray:
    """The explainer's own numbers of ``target``: ``raw_heatmap`` when there is one,
    else ``heatmap``."""
    return target.heatmap if target.raw_heatmap is None else target.raw_heatmap


def _maybe_image(inputs: Optional[np.ndarray], index: int) -> Any:
    from .utils.images import array_to_image, is_image_array

    if inputs is None or not is_image_array(inputs.shape[1:]):
        return None
    return array_to_image(inputs[index])

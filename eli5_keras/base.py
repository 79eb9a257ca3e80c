"""eli5's plain explanation objects, kept field for field.

Every explainer returns these; formatters only read them. The field order of
``Explanation`` and ``TargetExplanation`` is eli5's, so positional construction
written for ``eli5.base`` works unchanged. ``Explanation.layer`` is new: the
path of the layer a CAM method was computed at. Text explanations highlight tokens
with eli5's :class:`WeightedSpans` / :class:`DocWeightedSpans` (same fields, same order).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np


def _values_equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    return a == b


class _FieldEquality:
    """Field-wise ``==`` that compares numpy arrays by value (eli5 compares fields)."""

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return all(
            _values_equal(getattr(self, f.name), getattr(other, f.name))
            for f in fields(self)  # type: ignore[arg-type]
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None and f.default is None:
                continue
            if isinstance(value, np.ndarray):
                text = f"array(shape={value.shape}, dtype={value.dtype})"
            else:
                text = repr(value)
            parts.append(f"{f.name}={text}")
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(eq=False)
class TargetExplanation(_FieldEquality):
    """Explanation for one target (class).

    Attributes
    ----------
    target : int or str
        The explained class index (or name).
    feature_weights
        Kept for eli5 compatibility; unused by Grad-CAM explanations.
    proba : float, optional
        The target's probability when the model's output is one.
    score : float, optional
        The model's output for the target, as the model returns it.
    weighted_spans : WeightedSpans, optional
        Text explanations: the document joined from the tokens and one
        ``(token, [(start, end)], weight)`` span per token.
    heatmap : numpy.ndarray, optional
        Localisation map, values in [0, 1], shape ``S`` (spatial shape of the
        layer's grid for eli5 functions; one value per token for text).
    raw_heatmap : numpy.ndarray, optional
        The map before it was scaled into ``heatmap`` (possibly signed), when the
        explainer was asked not to normalise or to keep negative evidence
        (``relu=False``). New in eli5-keras.
    empty : bool
        The map is constant, so it shows nothing: all zero after the ReLU for a target
        with only negative evidence (``relu=False`` shows that evidence,
        ``counterfactual=True`` explains what lowers the score). Formatters draw a
        note instead of a blank picture. Set by :func:`eli5_keras.explain`
        (``ExplanationBatch.empty``); False for eli5's functions, whose maps are eli5's.
        New in eli5-keras.
    """

    target: Union[str, int]
    feature_weights: Any = None
    proba: Optional[float] = None
    score: Optional[float] = None
    weighted_spans: Any = None
    heatmap: Optional[np.ndarray] = None
    raw_heatmap: Optional[np.ndarray] = None
    empty: bool = False


@dataclass(eq=False)
class Explanation(_FieldEquality):
    """An explanation of a prediction (eli5's ``eli5.base.Explanation``).

    ``image`` is a PIL image of the input when the input is an image; ``targets``
    is a list of :class:`TargetExplanation`; ``error`` is a message when the
    model or input could not be explained (no exception is raised then, as in eli5).
    New in eli5-keras: ``layer`` (the explained layer's path), ``normalization`` (how
    heatmaps were scaled, in words), ``signed`` (raw maps may be negative) and
    ``input`` (the explained input as an array, shape ``(*S, C)`` or ``S``, so that
    volumes and signals, which have no PIL image, can be drawn).

    In Jupyter an explanation displays itself as HTML (:func:`~eli5_keras.formatters.html.format_as_html`),
    and a single-target 2-D image explanation also as PNG.
    """

    estimator: str
    description: Optional[str] = None
    error: Optional[str] = None
    method: Optional[str] = None
    is_regression: bool = False
    targets: Optional[list] = None
    feature_importances: Any = None
    decision_tree: Any = None
    highlight_spaces: Optional[bool] = None
    transition_features: Any = None
    image: Any = None
    layer: Optional[str] = field(default=None)
    normalization: Optional[str] = None
    signed: bool = False
    input: Optional[np.ndarray] = None

    def _repr_html_(self) -> str:
        from .formatters.html import format_as_html

        return format_as_html(self)

    def _repr_png_(self) -> Optional[bytes]:
        from .formatters.notebook import repr_png

        return repr_png(self)


WeightedSpan = Tuple[Any, List[Tuple[int, int]], float]
"""``(feature, [(start, end), ...], weight)``: a feature (a token), its character
ranges in the document (end exclusive) and its weight."""


@dataclass(eq=False)
class WeightedSpans(_FieldEquality):
    """Highlighted spans of a document (eli5's ``eli5.base.WeightedSpans``).

    Attributes
    ----------
    docs_weighted_spans : list of DocWeightedSpans
        One per vectorizer in eli5; one document for a Keras text model.
    other : optional
        eli5's feature weights not highlighted anywhere; unused here.
    """

    docs_weighted_spans: List["DocWeightedSpans"]
    other: Any = None


@dataclass(eq=False)
class DocWeightedSpans(_FieldEquality):
    """Features highlighted in one text (eli5's ``eli5.base.DocWeightedSpans``).

    Attributes
    ----------
    document : str
        The text the spans index into.
    spans : sequence of WeightedSpan
        ``(feature, [(start, end), ...], weight)``.
    preserve_density : bool, optional
        Formatters divide a span's weight by its length (eli5's choice for character
        n-grams); None/False for tokens.
    with_probabilities : bool, optional
        Weights are probabilities in [0, 1] (eli5's other colour scheme).
    vec_name : str, optional
        Name shown before the document.
    """

    document: str
    spans: Sequence[WeightedSpan]
    preserve_density: Optional[bool] = None
    with_probabilities: Optional[bool] = None
    vec_name: Optional[str] = None

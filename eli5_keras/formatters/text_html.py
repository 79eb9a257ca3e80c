"""Render a text explanation as HTML: the document with each token highlighted.

eli5's rendering of weighted spans (``eli5.formatters.html``), for explanations whose
targets carry :class:`~eli5_keras.base.WeightedSpans`:

* each character gets the weight of the spans covering it; runs of characters with
  the same weight become one ``<span>`` (so a token is one span, and the separators
  between tokens, of weight 0, are spans of their own);
* a non-zero weight ``w`` is coloured ``hsl(h, 100%, l)`` with hue 120 (green) for
  ``w > 0`` and 0 (red) for ``w < 0``, lightness ``l = 1 - 0.4 * (|w| / r) ** 0.7``, and
  ``opacity = 0.8 + 0.2 * |w| / r``, the weight in the tooltip (``title``, 3 decimals);
  a zero weight only gets ``opacity: 0.80``;
* ``r``, the weight range, is the largest ``|w|`` of that document over all targets of
  the explanation, so targets are comparable.

One deviation: eli5 divides a feature's weight by the number of spans of the same
feature (bag-of-words features share one weight); here every span is one token
position with its own weight, so repeated tokens keep their weights. Every token is
HTML-escaped as eli5 escapes it (``<script>`` is shown, never run).

The HTML comes from the templates ``weighted_spans.html``, ``text_documents.html``,
``text_explanation.html`` and ``text_target.html``.
:func:`format_text_as_html` is a standalone page fragment with inline styles only;
:func:`render_text` is the renderer of text explanations (kind ``'text'``), registered
with :func:`~eli5_keras.formatters.rendering.register_html_renderer` when this module
is imported, so they also show through
:func:`~eli5_keras.formatters.html.format_as_html`, in notebooks
(``Explanation._repr_html_``), ``show_prediction`` and reports.
"""
from __future__ import annotations

from itertools import groupby
from typing import Any, List, Optional, Sequence

import numpy as np
from markupsafe import Markup

from ..base import DocWeightedSpans, Explanation
from . import fields
from .kinds import TEXT, has_weighted_spans
from .names import target_label
from .overlay import select_target
from .rendering import RenderContext, Rendered, register_html_renderer, score_text
from .templating import render

__all__ = ["format_text_as_html", "render_text", "render_weighted_spans", "char_weights", "has_weighted_spans"]

MIN_LIGHTNESS = 0.6
MIN_OPACITY = 0.8
_LIGHTNESS_EXPONENT = 0.7
TEXT_NOTE = (
    "Tokens highlighted as eli5 does: green for positive weights, red for negative ones, stronger and more "
    "opaque for larger |weight| / max |weight| (over all targets); hover a token for its weight."
)


def format_text_as_html(
    explanation: Explanation,
    *,
    target: Optional[int] = None,
    show: Sequence[str] = fields.ALL,
    preserve_density: Optional[bool] = None,
) -> str:
    """The HTML of a text explanation: a header and the highlighted document per target.

    Parameters
    ----------
    explanation : Explanation
        With targets carrying ``weighted_spans`` (see
        :func:`~eli5_keras.compat.text.explain_prediction_keras_text`), or an ``error``.
    target : int, optional
        Index into ``explanation.targets`` of the only target to render (negative
        counts from the end); None renders them all.
    show : sequence of str
        eli5's fields to render; ``'method'``, ``'description'`` and ``'targets'``
        apply here.
    preserve_density : bool, optional
        eli5's option: divide each span's weight by its length. None uses each
        document's own ``preserve_density``.

    Returns
    -------
    str
        Inline-styled HTML (no scripts, no external styles).

    Raises
    ------
    TypeError
        ``target`` not an int, ``show`` not a sequence of str.
    IndexError
        ``target`` out of range.
    ValueError
        No target has weighted spans (and there is no error to show), an unknown
        field in ``show``, or spans marked ``with_probabilities`` (eli5's Beta-CDF
        colour scale needs scipy).
    """
    show = fields.check_show(show)
    targets = list(explanation.targets or [])
    if not has_weighted_spans(explanation) and not explanation.error:
        raise ValueError(
            "the explanation has no weighted spans to highlight: explain a text model with tokens= "
            "(or use format_as_image for an image explanation)."
        )
    shown = targets if target is None else [select_target(targets, target)]
    ranges = _weight_ranges(targets, preserve_density)
    page = render(
        "text_explanation.html",
        show=show,
        method=explanation.method,
        layer=explanation.layer,
        description=explanation.description,
        is_regression=explanation.is_regression,
        targets=[
            dict(label=t.target, proba=t.proba, score=t.score,
                 documents=_documents(t, ranges, preserve_density) if t.weighted_spans else None)
            for t in shown
        ],
        error=str(explanation.error) if explanation.error else None,
    )
    return str(page).rstrip("\n")  # eli5's parts are joined by newlines, none after the last


def render_text(expl: Explanation, context: RenderContext) -> Rendered:
    """The HTML renderer of text explanations (registered for kind ``'text'``).

    Each target: its name (``context.target_names``), probability or score, and the
    highlighted document; the weight range is shared by all targets. eli5's
    ``preserve_density`` comes from ``context.eli5_options``.

    Returns
    -------
    eli5_keras.formatters.rendering.Rendered
        No input picture, one HTML block per target, and a note on the colours.
    """
    preserve_density = context.eli5_options.get("preserve_density")
    targets = list(expl.targets or [])
    ranges = _weight_ranges(targets, preserve_density)
    blocks = [
        render(
            "text_target.html",
            label=target_label(t.target, context.target_names),
            details=score_text(t),
            document=_documents(t, ranges, preserve_density) if t.weighted_spans else "",
        )
        for t in targets
    ]
    return Rendered(input=None, targets=blocks, notes=[TEXT_NOTE])


def _documents(target: Any, ranges: Sequence[float], preserve_density: Optional[bool]) -> Markup:
    """The highlighted documents of one target (a ``<b>vec_name:</b>`` before each named one)."""
    documents = [
        dict(name=doc.vec_name, spans=Markup(render_weighted_spans(doc, weight_range, preserve_density)))
        for doc, weight_range in zip(target.weighted_spans.docs_weighted_spans, ranges)
    ]
    return render("text_documents.html", documents=documents)


def render_weighted_spans(
    doc: DocWeightedSpans, weight_range: Optional[float] = None, preserve_density: Optional[bool] = None
) -> str:
    """The document of ``doc`` as HTML, runs of equal character weight coloured.

    ``weight_range`` defaults to the largest ``|weight|`` of this document.
    """
    if doc.with_probabilities:
        raise ValueError("spans with with_probabilities=True are not supported (eli5's scale needs scipy).")
    weights = char_weights(doc, preserve_density)
    if weight_range is None:
        weight_range = float(np.max(np.abs(weights))) if weights.size else 0.0
    runs = [
        _run("".join(c for c, _ in run), weight, weight_range)
        for weight, run in groupby(zip(doc.document, weights), key=lambda item: item[1])
    ]
    return str(render("weighted_spans.html", runs=runs))


def char_weights(doc: DocWeightedSpans, preserve_density: Optional[bool] = None) -> np.ndarray:
    """Weight of each character of ``doc.document``: the sum of the spans covering it
    (a span's weight divided by its length when ``preserve_density``)."""
    if preserve_density is None:
        preserve_density = doc.preserve_density
    weights = np.zeros(len(doc.document))
    for _, ranges, weight in doc.spans:
        for start, end in ranges:
            start = max(0, start)  # eli5: char_wb n-grams may start at -1
            value = weight / (end - start) if preserve_density and end > start else weight
            weights[start:end] += value
    return weights


def _weight_ranges(targets: Sequence[Any], preserve_density: Optional[bool]) -> List[float]:
    """Per document index, the largest ``|char weight|`` over all targets."""
    ranges: List[float] = []
    for t in targets:
        if not t.weighted_spans:
            continue
        for i, doc in enumerate(t.weighted_spans.docs_weighted_spans):
            weights = char_weights(doc, preserve_density)
            top = float(np.max(np.abs(weights))) if weights.size else 0.0
            if i < len(ranges):
                ranges[i] = max(ranges[i], top)
            else:
                ranges.append(top)
    return ranges


def _run(text: str, weight: float, weight_range: float) -> dict:
    """One highlighted run for ``weighted_spans.html``: a zero weight has no colour and no title."""
    run = dict(text=text, opacity=weight_opacity(weight, weight_range), color=None, title=None)
    if not np.isclose(weight, 0.0):
        run.update(color=format_hsl(weight_color_hsl(weight, weight_range)), title=f"{weight:.3f}")
    return run


def weight_opacity(weight: float, weight_range: float) -> str:
    """``0.8 + 0.2 * |w| / r`` with two decimals (0.80 when both are zero)."""
    if np.isclose(weight, 0.0) and np.isclose(weight_range, 0.0):
        relative = 0.0
    else:
        relative = abs(weight) / weight_range
    return f"{MIN_OPACITY + (1 - MIN_OPACITY) * relative:.2f}"


def weight_color_hsl(weight: float, weight_range: float, min_lightness: float = MIN_LIGHTNESS) -> tuple:
    """``(hue, saturation, lightness)``: green (120) for positive, red (0) otherwise;
    lighter for smaller ``|w| / r``."""
    hue = 120 if weight > 0 else 0
    relative = (abs(weight) / weight_range) ** _LIGHTNESS_EXPONENT
    return hue, 1, 1.0 - (1 - min_lightness) * relative


def format_hsl(color: tuple) -> str:
    hue, saturation, lightness = color
    return f"hsl({hue}, {saturation:.2%}, {lightness:.2%})"


register_html_renderer(TEXT, render_text)

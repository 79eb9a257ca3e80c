"""What every HTML renderer shares: its options, its result, its pictures and the registry.

A *renderer* turns one explanation of one kind
(:func:`~eli5_keras.formatters.kinds.explanation_kind`) into :class:`Rendered` HTML:
``renderer(expl, context: RenderContext, **options) -> Rendered``. Each renderer module
registers itself with :func:`register_html_renderer` when imported:
:mod:`~eli5_keras.formatters.html` registers :func:`~eli5_keras.formatters.html.render_maps`
for image, volume and signal explanations and imports
:mod:`~eli5_keras.formatters.text_html`, which registers the text renderer the same way.
:func:`render_explanation` picks the renderer of an explanation's kind, for
``format_as_html``, notebooks and :func:`eli5_keras.report` alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from markupsafe import Markup

from .. import validation as check

from .kinds import explanation_kind
from .names import TargetNames
from .templating import render

__all__ = [
    "Figure",
    "Legend",
    "MIN_DISPLAY_WIDTH",
    "RenderContext",
    "Rendered",
    "Renderer",
    "register_html_renderer",
    "render_explanation",
    "score_text",
]

MIN_DISPLAY_WIDTH = 160
"""Pictures narrower than this are shown enlarged to it (pixelated), unless a width is given."""


@dataclass(frozen=True)
class Legend:
    """A colour bar: ``src`` (data URI), tick labels at its left, centre and right, ``label``."""

    src: str
    ticks: Tuple[str, str, str]
    label: str


@dataclass(frozen=True)
class Figure:
    """One picture with its caption, as ``templates/figure.html`` draws it; ``warning``
    a line shown prominently under the title (e.g. that the map is empty)."""

    src: str
    alt: str
    width: int
    title: str = ""
    details: Tuple[str, ...] = ()
    legend: Optional[Legend] = None
    target_index: Optional[int] = None
    warning: Optional[str] = None

    def html(self) -> Markup:
        return render("figure.html", figure=self)


@dataclass
class Rendered:
    """What a renderer makes of one explanation: HTML for the input and for each target.

    Attributes
    ----------
    input : str or None
        HTML of the explained input (None when the kind has no separate input picture).
    targets : list of str
        HTML of each target, in ``expl.targets`` order.
    notes : list of str
        Plain-text remarks on how the pictures were drawn (shown once per page, escaped).

    ``input`` and ``targets`` are inserted as they are: a renderer escapes its own text.
    """

    input: Optional[str]
    targets: List[str]
    notes: List[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.input = None if self.input is None else Markup(self.input)
        self.targets = [Markup(target) for target in self.targets]


@dataclass(frozen=True)
class RenderContext:
    """Options every renderer receives, whatever its kind.

    Attributes
    ----------
    target_names : list, dict or None
        See :func:`~eli5_keras.formatters.names.target_label`.
    show_input : bool
        Draw the input picture.
    display_width : int or None
        Width in CSS pixels of every picture (None: natural width, at least
        :data:`MIN_DISPLAY_WIDTH`).
    eli5_options : mapping
        eli5's text-formatting arguments (``force_weights``, ``preserve_density``,
        ``highlight_spaces``, ``show_feature_values``), for renderers that use them.
    """

    target_names: TargetNames = None
    show_input: bool = True
    display_width: Optional[int] = None
    eli5_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check.optional_integer("display_width", self.display_width, 1)  # CSS pixels

    def width(self, natural: int) -> int:
        return self.display_width if self.display_width is not None else max(natural, MIN_DISPLAY_WIDTH)


def score_text(target: Any) -> Optional[str]:
    """A target's ``'probability 0.750'``, else its ``'score 2.5'``; None when it has neither."""
    if target.proba is not None:
        return f"probability {target.proba:.3f}"
    if target.score is not None:
        return f"score {target.score:.4g}"
    return None


Renderer = Callable[..., Rendered]
"""``renderer(expl, context: RenderContext, **options) -> Rendered``."""


def register_html_renderer(kind: str, renderer: Renderer) -> None:
    """Use ``renderer(expl, context, **options) -> Rendered`` for explanations of ``kind``.

    ``kind`` is a value returned by :func:`~eli5_keras.formatters.kinds.explanation_kind`
    (e.g. ``'text'``); registering a kind again replaces its renderer.
    """
    if not isinstance(kind, str) or not callable(renderer):
        raise TypeError(f"kind must be a str and renderer a callable; got {kind!r:.50}, {renderer!r:.50}.")
    _RENDERERS[kind] = renderer


def render_explanation(expl: Any, context: RenderContext, **options: Any) -> Rendered:
    """Render ``expl`` with the renderer registered for its kind.

    Raises
    ------
    ValueError
        No renderer is registered for the explanation's kind.
    """
    kind = explanation_kind(expl)
    renderer = _RENDERERS.get(kind)
    if renderer is None:
        raise ValueError(
            f"no HTML renderer for {kind} explanations; register one with "
            f"eli5_keras.formatters.html.register_html_renderer({kind!r}, renderer)."
        )
    return renderer(expl, context, **options)


_RENDERERS: Dict[str, Renderer] = {}

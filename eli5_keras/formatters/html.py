"""HTML for explanations: ``format_as_html`` for one explanation or a whole batch.

Every picture is a PNG (or GIF) inlined as a ``data:`` URI and the CSS is inlined, so
the HTML shows the same in a notebook, a saved file or an e-mail, with no network.

The explanation's kind (:func:`~eli5_keras.formatters.kinds.explanation_kind`) picks a
*renderer* from the registry of :mod:`~eli5_keras.formatters.rendering`. This module
registers :func:`render_maps` for image, volume and signal explanations and imports
:mod:`~eli5_keras.formatters.text_html`, which registers the text renderer the same
way. Another kind plugs in with :func:`register_html_renderer` and then works
everywhere HTML is made: ``format_as_html``, notebooks and :func:`eli5_keras.report`.
"""
from __future__ import annotations

import dataclasses
import io
import numbers
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from markupsafe import Markup
from PIL import Image

from .. import validation as check
from ..result import EMPTY_MAP_HINT, ExplanationBatch

from . import fields
from . import text_html  # noqa: F401 - registers the text renderer
from .colormaps import ColorScale, format_number, legend_image
from .embed import data_uri, png_data_uri
from .image import format_as_image
from .kinds import IMAGE, MAP_KINDS, SIGNAL, VOLUME, explanation_kind
from .names import TargetNames, check_target_names, target_label
from .overlay import map_values
from .rendering import Figure, Legend, RenderContext, Rendered, register_html_renderer, render_explanation, score_text
from .templating import render, stylesheet
from .volume import format_volume_as_gif

__all__ = [
    "Figure",
    "Legend",
    "RenderContext",
    "Rendered",
    "format_as_html",
    "register_html_renderer",
    "render_explanation",
    "render_maps",
]

DEFAULT_MAX_INPUTS = 20
"""Inputs shown for a batch unless ``max_inputs`` says otherwise."""
UNRECORDED_SCALING = "not recorded by the explainer; heatmap values are in [0, 1]"
EMPTY_MAP_NOTE = f"empty map: constant, so it shows nothing; {EMPTY_MAP_HINT}."
"""Shown with the picture of an empty map (``TargetExplanation.empty``), in place of its legend."""


def format_as_html(
    explanation: Any,
    include_styles: bool = True,
    force_weights: bool = True,
    show: Sequence[str] = fields.ALL,
    preserve_density: Optional[bool] = None,
    highlight_spaces: Optional[bool] = None,
    horizontal_layout: bool = True,
    show_feature_values: bool = False,
    *,
    target_names: TargetNames = None,
    show_input: bool = True,
    display_width: Optional[int] = None,
    max_inputs: Optional[int] = DEFAULT_MAX_INPUTS,
    **options: Any,
) -> str:
    """Format an explanation, or a batch of them, as an HTML fragment.

    For an image explanation: the input, then one overlay per target side by side,
    each with its target's name (or index), score and a colour legend; above, the
    method, layer and model; below, how the maps were scaled (``expl.normalization``)
    and drawn. Volumes show slice montages, signals line plots with a coloured band.
    An :class:`~eli5_keras.result.ExplanationBatch` gives a table, one row per input.

    Parameters
    ----------
    explanation : Explanation or ExplanationBatch
    include_styles : bool
        Inline the CSS (eli5's meaning). Default True.
    force_weights, preserve_density, highlight_spaces, show_feature_values
        eli5's arguments for text and feature-weight explanations; they are handed to
        renderers that use them and do not change image, volume or signal pictures.
    show : sequence of str
        Parts to show (eli5's ``fields``): ``'method'`` (method, layer, model),
        ``'description'``, ``'targets'`` (the pictures, their scaling). Default all.
    horizontal_layout : bool
        Targets side by side (True, default) or stacked.
    target_names : list or dict, optional
        Names shown instead of class indices: ``names[i]`` or ``{i: name}`` (a dict
        may leave indices out). Default: the batch's ``target_names``, if any.
    show_input : bool
        Show the input picture (image, or the volume's slices). Default True.
    display_width : int, optional
        CSS width of every picture; default their natural width, at least 160 px.
    max_inputs : int or None
        Batches: show the first ``max_inputs`` inputs (default 20); None shows all.
    **options
        Passed to the kind's renderer. For image, volume and signal explanations
        (:func:`render_maps`): ``resampling_filter``, ``colormap`` (None: viridis, or
        'RdBu_r' for signed maps), ``alpha_limit`` (0.65), ``signed`` ('auto'),
        ``axis``, ``slices`` and ``animate`` (volumes: a GIF instead of a montage),
        ``legend`` (True: a colour legend under each picture).

    Returns
    -------
    str
        HTML (a fragment: ``<style>`` and a ``<div class="eli5k ...">``).

    Raises
    ------
    TypeError, ValueError
        Bad arguments (the message names them), e.g. an unknown colormap name.
    """
    context = RenderContext(
        target_names=check_target_names(target_names),
        show_input=bool(show_input),
        display_width=display_width,
        eli5_options=dict(
            force_weights=force_weights,
            preserve_density=preserve_density,
            highlight_spaces=highlight_spaces,
            show_feature_values=show_feature_values,
        ),
    )
    show = fields.check_show((show,) if isinstance(show, str) else show)  # format_as_html takes one name too
    common = dict(include_styles=include_styles, css=stylesheet(), show=show)
    if isinstance(explanation, ExplanationBatch):
        return str(_format_batch(explanation, context, common, max_inputs, options))
    expl = explanation
    rendered, kind = None, None
    if expl.targets or getattr(expl, "image", None) is not None:
        kind = explanation_kind(expl)
        rendered = render_explanation(expl, context, **options)
    return str(render(
        "explanation.html",
        kind=kind,
        rendered=rendered,
        method=expl.method,
        layer=getattr(expl, "layer", None),
        estimator=expl.estimator,
        error=expl.error,
        description=expl.description,
        scaling=getattr(expl, "normalization", None) or UNRECORDED_SCALING,
        horizontal_layout=horizontal_layout,
        **common,
    ))


def render_maps(
    expl: Any,
    context: RenderContext,
    *,
    resampling_filter: Union[int, Image.Resampling] = Image.LANCZOS,
    colormap: Any = None,
    alpha_limit: Optional[float] = 0.65,
    signed: Union[bool, str] = "auto",
    axis: Optional[int] = None,
    slices: Union[None, int, Sequence[int]] = None,
    animate: bool = False,
    legend: bool = True,
) -> Rendered:
    """The renderer of image, volume and signal explanations.

    Each target's picture is :func:`~eli5_keras.formatters.image.format_as_image`
    with these arguments (``animate=True``: a GIF of a volume's slices, see
    :func:`~eli5_keras.formatters.volume.format_volume_as_gif`), its legend the
    colour scale the picture was drawn with (``legend=False``: no legend).
    """
    kind = explanation_kind(expl)
    if animate and kind != VOLUME:
        raise ValueError(f"animate=True applies to volume explanations; this is a {kind} explanation.")
    drawing = dict(resampling_filter=resampling_filter, colormap=colormap, alpha_limit=alpha_limit, signed=signed)
    volume_options = dict(axis=axis, slices=slices) if kind == VOLUME else {}
    if kind != VOLUME and (axis is not None or slices is not None):
        raise ValueError(f"axis and slices apply to volume explanations; this is a {kind} explanation.")
    targets, notes = [], []
    for index, target in enumerate(expl.targets or []):
        values, scale = map_values(expl, target, colormap, signed)
        if animate:
            gif = format_volume_as_gif(expl, target=index, **drawing, **volume_options)
            src, natural = data_uri(gif, "image/gif"), _gif_width(gif)
        else:
            picture = format_as_image(expl, target=index, **drawing, **volume_options)
            src, natural = png_data_uri(picture), picture.width
        label = target_label(target.target, context.target_names)
        empty = bool(getattr(target, "empty", False))
        targets.append(
            Figure(
                src=src,
                alt=f"{expl.method or 'explanation'} {'empty ' if empty else ''}map for {label}",
                width=context.width(natural),
                title=label,
                details=_target_details(target, scale),
                legend=_legend(scale) if legend and not empty else None,  # an empty map has no scale
                target_index=int(target.target) if isinstance(target.target, numbers.Integral) else None,
                warning=EMPTY_MAP_NOTE if empty else None,
            ).html()
        )
        notes.append(_drawing_note(scale, alpha_limit, legend))
    return Rendered(input=_input_figure(expl, kind, context, volume_options), targets=targets,
                    notes=list(dict.fromkeys(notes)))


# --------------------------------------------------------------------------
# Pieces
# --------------------------------------------------------------------------


def _input_figure(expl: Any, kind: str, context: RenderContext, volume_options: Dict[str, Any]) -> Optional[Markup]:
    if not context.show_input or kind == SIGNAL:
        return None  # a signal's plot is its input already
    if kind == IMAGE:
        if getattr(expl, "image", None) is None:
            return None
        picture, title = expl.image, "input"
    else:
        picture = format_as_image(expl, alpha_limit=0.0, note_empty=False, **volume_options)
        title = "input"
        if expl.targets and len(expl.targets) > 1 and volume_options.get("slices") is None:
            title = f"input (slices of {target_label(expl.targets[0].target, context.target_names)})"
    return Figure(src=png_data_uri(picture), alt="explained input", width=context.width(picture.width),
                  title=title).html()


def _target_details(target: Any, scale: ColorScale) -> Tuple[str, ...]:
    score = score_text(target)
    details = [] if score is None else [score]
    raw = getattr(target, "raw_heatmap", None)
    if raw is not None and not scale.signed:
        details.append(f"raw map {format_number(float(raw.min()))} to {format_number(float(raw.max()))}")
    return tuple(details)


def _legend(scale: ColorScale) -> Legend:
    label = "signed map value, 0 at the centre" if scale.signed else "heatmap value"
    return Legend(png_data_uri(legend_image(scale)), tuple(format_number(v) for v in scale.ticks()), label)


def _drawing_note(scale: ColorScale, alpha_limit: Optional[float], legend: bool) -> str:
    name = getattr(scale.colormap, "name", None) or repr(scale.colormap)
    cap = "uncapped" if alpha_limit is None else f"capped at alpha_limit={alpha_limit:g}"
    if scale.signed:
        shown = " (its legend shows them)" if legend else ""
        return (f"Drawn signed: colormap {name} centred at 0 with limits \u00b1max|m| of each map{shown}; "
                f"opacity |m| / max|m|, {cap}.")
    return f"Drawn: colormap {name} over heatmap values 0 to 1; opacity = value, {cap}."


def _gif_width(gif: bytes) -> int:
    with Image.open(io.BytesIO(gif)) as image:
        return image.width


def _format_batch(batch: Any, context: RenderContext, common: Dict[str, Any], max_inputs: Optional[int],
                  options: Dict[str, Any]) -> Markup:
    check.optional_integer("max_inputs", max_inputs, 1)
    names = context.target_names if context.target_names is not None else batch.target_names
    view = dataclasses.replace(batch, target_names=None)  # indices in, names from ``names``
    context = dataclasses.replace(context, target_names=check_target_names(names))
    total = len(view)
    shown = total if max_inputs is None else min(total, max_inputs)
    rows, notes = [], []
    for i in range(shown):
        rendered = render_explanation(view[i], context, **options)
        rows.append(dict(index=i, input=rendered.input, targets=rendered.targets))
        notes.extend(rendered.notes)
    return render(
        "batch.html",
        kind=explanation_kind(view[0]) if total else "",
        method=batch.method,
        layer=batch.layer,
        estimator=batch.model_name,
        scaling=batch.normalization or UNRECORDED_SCALING,
        rows=rows,
        columns=batch.targets.shape[1] if total else 1,
        show_input=context.show_input and any(row["input"] for row in rows),
        shown=shown,
        total=total,
        notes=list(dict.fromkeys(notes)),
        **common,
    )


for _kind in MAP_KINDS:
    register_html_renderer(_kind, render_maps)

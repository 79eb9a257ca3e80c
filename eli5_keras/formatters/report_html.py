"""The page of :func:`eli5_keras.report`: methods side by side in one self-contained HTML file.

It draws what the report computed (:class:`~eli5_keras.reporting.MethodRun` per method,
:class:`~eli5_keras.reporting.SkippedMethod` per method that raised) and never calls the
model. Rows are inputs and columns methods; each cell is what the renderer of the
explanation's kind draws (the registry of :mod:`~eli5_keras.formatters.rendering`), the
input column the first method's input picture, with the ground-truth mask's border drawn
on it when masks were given. Every picture is inlined (``data:`` URIs), the CSS too, and
a Content-Security-Policy forbids loading anything else (``templates/report.html``).
"""
from __future__ import annotations

import dataclasses
import numbers
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence, Union

import numpy as np
from markupsafe import Markup

from .embed import png_data_uri

# Imported from html, which registers the built-in renderers (their home is rendering).
from .html import Figure, RenderContext, render_explanation
from .kinds import IMAGE, explanation_kind
from .names import TargetNames, check_target_names, target_label
from .outline import outlined
from .templating import render, render_page, stylesheet

if TYPE_CHECKING:
    from ..reporting import MethodRun, Report, SkippedMethod

__all__ = ["ReportPage", "report_summary"]


class ReportPage:
    """How a report draws its explanations; made before any method runs, so that a bad
    drawing argument fails first.

    Parameters
    ----------
    target_names : list or dict, optional
        Class names shown instead of indices.
    display_width : int
        CSS width of each picture.
    colormap, alpha_limit, signed
        How maps are drawn (see :func:`~eli5_keras.formatters.html.format_as_html`).

    Raises
    ------
    TypeError, ValueError
        Bad ``target_names`` or ``display_width``.
    """

    def __init__(
        self,
        *,
        target_names: TargetNames = None,
        display_width: int = 160,
        colormap: Any = None,
        alpha_limit: Optional[float] = 0.65,
        signed: Union[bool, str] = "auto",
    ) -> None:
        self.context = RenderContext(target_names=check_target_names(target_names), display_width=display_width)
        self.drawing = dict(colormap=colormap, alpha_limit=alpha_limit, signed=signed)

    def html(
        self,
        runs: Sequence[MethodRun],
        skipped: Sequence[SkippedMethod],
        *,
        title: str,
        model_name: str,
        count: int,
        targets: Any,
        top_k: Optional[int],
        masks: Optional[np.ndarray],
        higher_is_better: Optional[Mapping[str, bool]] = None,
    ) -> str:
        """The page: a methods table (timings, pointing game, a column per metric,
        skipped methods), then one row per input of the ``count`` explained, each map
        with its scores.

        ``targets`` and ``top_k`` are what :func:`eli5_keras.explain` was asked for (said
        in words at the top); ``masks`` ``(N, *S)`` the ground truth, or None;
        ``higher_is_better`` the metrics' names (in order) and their direction.
        """
        views = [dataclasses.replace(run.result, target_names=None) for run in runs]  # names come from context
        cell_context = dataclasses.replace(self.context, show_input=False)
        rows, notes = [], []
        for i in range(count):
            row = dict(index=i, input=None, cells=[])
            for k, (run, view) in enumerate(zip(runs, views)):
                # the first method's renderer also draws the input, shown once per row
                rendered = render_explanation(view[i], self.context if k == 0 else cell_context, **self.drawing)
                if k == 0:
                    row["input"] = _outlined_input(view[i], masks[i], self.context) if masks is not None else None
                    row["input"] = row["input"] or rendered.input
                row["cells"].append(dict(targets=rendered.targets, hit=None if run.hits is None else bool(run.hits[i]),
                                         scores=[(k, _score_text(v[i])) for k, v in run.metrics.items()]))
                notes.extend(rendered.notes)
            rows.append(row)
        return render_page(
            "report.html",
            title=title,
            heading=title,
            model=model_name,
            count=count,
            targets=_describe_targets(targets, top_k, self.context.target_names),
            runs=runs,
            skipped=skipped,
            rows=rows,
            pointing=masks is not None,
            metrics=_metric_columns(higher_is_better or {}),
            notes=list(dict.fromkeys(notes)),
        )


def report_summary(report: Report) -> Markup:
    """The methods table of ``report`` and where its page is, for Jupyter."""
    pointing = bool(report.runs) and report.runs[0].hits is not None
    return render("report_summary.html", css=stylesheet(), runs=report.runs, skipped=report.skipped,
                  pointing=pointing, metrics=_metric_columns(report.higher_is_better), path=str(report.path))


def _metric_columns(higher_is_better: Mapping[str, bool]) -> list:
    """The methods table's metric columns: name and whether higher is better."""
    return [dict(name=name, higher=higher) for name, higher in higher_is_better.items()]


def _score_text(values: Any) -> str:
    """One input's score (or scores, one per target, separated by "/"), 3 decimals."""
    return "/".join(f"{v:.3f}" for v in np.atleast_1d(values))


def _outlined_input(expl: Any, mask: np.ndarray, context: RenderContext) -> Optional[Markup]:
    """The input picture with the mask's border drawn, for image inputs of the mask's size."""
    image = getattr(expl, "image", None)
    if explanation_kind(expl) != IMAGE or image is None or mask.shape != (image.height, image.width):
        return None
    picture = outlined(image, mask)
    return Figure(src=png_data_uri(picture), alt="explained input, ground truth outlined",
                  width=context.width(picture.width), title="input, mask outlined").html()


def _describe_targets(targets: Any, top_k: Optional[int], target_names: TargetNames) -> str:
    if top_k is not None:
        return f"the top {top_k} classes of each input"
    if targets is None:
        return "each input's top class"
    if isinstance(targets, numbers.Integral):
        return f"class {target_label(int(targets), target_names)} for every input"
    return "the classes given per input"

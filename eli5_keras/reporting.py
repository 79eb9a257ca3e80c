"""A comparison report: several methods on the same inputs, in one self-contained HTML file.

``eli5_keras.report(model, inputs, methods=[...])`` runs :func:`eli5_keras.explain` once
per method, times it, optionally scores the maps against ground-truth masks (pointing
game), and writes a page whose rows are inputs and whose columns are methods. Every
picture is inlined (``data:`` URIs), the CSS too, and a Content-Security-Policy forbids
loading anything else, so the file opens the same anywhere, offline.
"""
from __future__ import annotations

import dataclasses
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from . import methods as _methods
from .explain import explain
from .metrics import pointing_hits
from .result import ExplanationBatch

__all__ = ["MethodRun", "Report", "SkippedMethod", "report"]

DEFAULT_PATH = "eli5_keras_report.html"


@dataclass
class MethodRun:
    """One method's column of a report.

    Attributes
    ----------
    name : str
        The method as asked for (e.g. ``'gradcam'``); ``title`` as the method names itself.
    result : ExplanationBatch
        Its maps ``(N, T, *S)``, targets and scores.
    first_call_seconds : float
        Wall time of explaining the first input alone (builds the compiled graph).
    seconds_per_input : float
        Wall time of explaining all ``N`` inputs in one call, divided by ``N``.
    hits : numpy.ndarray of bool (N,), optional
        Whether each input's first map has its maximum inside the mask.
    """

    name: str
    title: str
    result: ExplanationBatch = field(repr=False)
    first_call_seconds: float
    seconds_per_input: float
    hits: Optional[np.ndarray] = field(default=None, repr=False)

    @property
    def pointing(self) -> Optional[float]:
        """Pointing-game accuracy: share of inputs whose map peaks inside the mask."""
        return None if self.hits is None else float(self.hits.mean())


@dataclass
class SkippedMethod:
    """A method that raised, with ``report(..., on_error="skip")``: its ``name`` and ``error``."""

    name: str
    error: BaseException

    @property
    def reason(self) -> str:
        """The error's message on one line."""
        return " ".join(str(self.error).split())

    @property
    def message(self) -> str:
        """``"ExceptionType: message"`` on one line."""
        return f"{type(self.error).__name__}: {self.reason}" if self.reason else type(self.error).__name__


@dataclass
class Report:
    """What :func:`report` wrote: the file's ``path``, one :class:`MethodRun` per method that
    ran and, with ``on_error="skip"``, one :class:`SkippedMethod` per method that raised.

    ``os.fspath(report)`` is the path, so a Report can be opened like one.
    """

    path: Path
    runs: List[MethodRun]
    skipped: List[SkippedMethod] = field(default_factory=list)

    def __fspath__(self) -> str:
        return str(self.path)

    @property
    def methods(self) -> List[str]:
        return [run.name for run in self.runs]

    @property
    def seconds_per_input(self) -> Dict[str, float]:
        return {run.name: run.seconds_per_input for run in self.runs}

    @property
    def pointing(self) -> Optional[Dict[str, float]]:
        """``{method: pointing-game accuracy}``, or None when no masks were given."""
        if self.runs and self.runs[0].hits is None:
            return None
        return {run.name: run.pointing for run in self.runs}

    def _repr_html_(self) -> str:
        from .formatters.templating import render, stylesheet

        pointing = bool(self.runs) and self.runs[0].hits is not None
        return render("report_summary.html", css=stylesheet(), runs=self.runs, skipped=self.skipped,
                      pointing=pointing, path=str(self.path))


def report(
    model: keras.Model,
    inputs: Any,
    methods: Union[None, str, Sequence[str]] = None,
    targets: Any = None,
    path: Union[str, Path] = DEFAULT_PATH,
    *,
    target_names: Any = None,
    masks: Optional[np.ndarray] = None,
    title: Optional[str] = None,
    display_width: int = 160,
    colormap: Any = None,
    alpha_limit: Optional[float] = 0.65,
    signed: Union[bool, str] = "auto",
    on_error: str = "raise",
    **explain_options: Any,
) -> Report:
    """Explain ``inputs`` with each method and write a comparison page to ``path``.

    Parameters
    ----------
    model : keras.Model
    inputs : array-like, shape (N, *input_shape)
        As for :func:`eli5_keras.explain` (a list or dict of arrays for a multi-input model).
    methods : str or sequence of str, optional
        Method names; default every method in :func:`eli5_keras.methods.available`.
    targets : None, int, sequence of N ints or (N, T) ints
        As for :func:`eli5_keras.explain` (None: each input's top class). ``top_k=``
        goes in ``explain_options``.
    path : str or pathlib.Path
        The HTML file to write (its folder is created). Default ``eli5_keras_report.html``.
    target_names : list or dict, optional
        Class names shown instead of indices.
    masks : array-like of bool, shape (N, *S), optional
        Ground-truth regions (``S``: the maps' spatial shape, the input's by default).
        Adds each method's pointing-game accuracy (share of inputs whose first map has
        its maximum inside the mask) and a hit/miss mark per cell; on image inputs of
        the mask's size the mask's border is drawn on the input.
    title : str, optional
        Page title; default ``"Explanations of <model name>"``.
    display_width : int
        CSS width of each picture. Default 160.
    colormap, alpha_limit, signed
        How maps are drawn (see :func:`~eli5_keras.formatters.html.format_as_html`).
    on_error : {'raise', 'skip'}
        What a method that raises does: ``'raise'`` (default) stops the report;
        ``'skip'`` leaves its column out, lists it in the methods table with its error,
        and records it in :attr:`Report.skipped` (e.g. CAM on a model without a
        global-average-pooling head, when comparing every method).
    **explain_options
        Passed to every :func:`eli5_keras.explain` call (``layer``, ``top_k``,
        ``batch_size``, ``relu``, ``normalize``, ...).

    Returns
    -------
    Report
        ``path``, and per method its result, timings and pointing-game accuracy.

    Raises
    ------
    TypeError, ValueError
        Bad ``methods``, ``masks`` (wrong length or shape), ``target_names``,
        ``on_error``, or what :func:`eli5_keras.explain` rejects (e.g. inputs of the
        wrong shape) unless ``on_error='skip'``.
    """
    from .formatters.html import RenderContext, render_explanation
    from .formatters.names import check_target_names
    from .formatters.templating import render_page

    names = _check_methods(methods)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r:.50}.")
    context = RenderContext(target_names=check_target_names(target_names), display_width=display_width)
    drawing = dict(colormap=colormap, alpha_limit=alpha_limit, signed=signed)
    count = _count(model, inputs)
    mask_array = _check_masks(masks, count)

    runs, skipped = [], []
    for name in names:
        try:
            result, first_call, per_input = _timed_explain(model, inputs, name, targets, count, explain_options)
        except Exception as error:  # noqa: BLE001 - on_error='skip': one method must not stop the comparison
            if on_error == "raise":
                raise
            skipped.append(SkippedMethod(name, error))
            continue
        hits = None
        if mask_array is not None:
            if mask_array.shape[1:] != result.maps.shape[2:]:
                raise ValueError(
                    f"masks must have shape (N, *S) with S the maps' spatial shape {result.maps.shape[2:]} "
                    f"(method {name!r}); got {mask_array.shape}."
                )
            hits = pointing_hits(result.maps[:, 0], mask_array)
        runs.append(MethodRun(name, result.method, result, first_call, per_input, hits))

    views = [dataclasses.replace(run.result, target_names=None) for run in runs]  # names come from context
    cell_context = dataclasses.replace(context, show_input=False)
    rows, notes = [], []
    for i in range(count):
        row = dict(index=i, input=None, cells=[])
        for k, (run, view) in enumerate(zip(runs, views)):
            # the first method's renderer also draws the input, shown once per row
            rendered = render_explanation(view[i], context if k == 0 else cell_context, **drawing)
            if k == 0:
                row["input"] = _outlined_input(view[i], mask_array[i], context) if mask_array is not None else None
                row["input"] = row["input"] or rendered.input
            row["cells"].append(dict(targets=rendered.targets, hit=None if run.hits is None else bool(run.hits[i])))
            notes.extend(rendered.notes)
        rows.append(row)

    title = title or f"Explanations of {getattr(model, 'name', type(model).__name__)}"
    page = render_page(
        "report.html",
        title=title,
        heading=title,
        model=getattr(model, "name", type(model).__name__),
        count=count,
        targets=_describe_targets(targets, explain_options, context.target_names),
        runs=runs,
        skipped=skipped,
        rows=rows,
        pointing=mask_array is not None,
        notes=list(dict.fromkeys(notes)),
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return Report(out, runs, skipped)


def _check_methods(methods: Union[None, str, Sequence[str]]) -> List[str]:
    if methods is None:
        return _methods.available()
    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, Sequence) or not methods or not all(isinstance(m, str) for m in methods):
        raise TypeError(
            f"methods must be a method name or a non-empty list of names from {_methods.available()}; "
            f"got {methods!r:.100}."
        )
    for name in methods:
        _methods.get(name)  # unknown names fail here, before any work
    return list(methods)


def _is_multi_input(model: Any, inputs: Any) -> bool:
    """A dict, or a list/tuple for a model with several inputs: one array per model input."""
    if isinstance(inputs, dict):
        return True
    try:
        several = len(model.inputs) > 1
    except (AttributeError, TypeError, ValueError):  # subclassed models may not know their inputs
        several = False
    return several and isinstance(inputs, (list, tuple))


def _count(model: Any, inputs: Any) -> int:
    """N, the number of inputs."""
    if _is_multi_input(model, inputs):
        inputs = next(iter(inputs.values())) if isinstance(inputs, dict) else inputs[0]
    return int(np.shape(inputs)[0])


def _head(model: Any, inputs: Any) -> Any:
    """The first input alone, as a batch of one."""
    if isinstance(inputs, dict):
        return {key: np.asarray(value)[:1] for key, value in inputs.items()}
    if _is_multi_input(model, inputs):
        return [np.asarray(value)[:1] for value in inputs]
    return np.asarray(inputs)[:1]


def _check_masks(masks: Any, count: int) -> Optional[np.ndarray]:
    if masks is None:
        return None
    array = np.asarray(masks)
    if array.dtype.kind not in "biu" or (array.dtype.kind != "b" and not np.isin(array, (0, 1)).all()):
        raise TypeError(f"masks must be boolean (or 0/1) arrays of shape (N, *S); got dtype {array.dtype}.")
    if array.ndim < 2 or len(array) != count:
        raise ValueError(f"masks must have shape (N, *S) with N = {count} inputs; got shape {array.shape}.")
    return array.astype(bool)


def _outlined_input(expl: Any, mask: np.ndarray, context: Any) -> Optional[str]:
    """The input picture with the mask's border drawn, for image inputs of the mask's size."""
    from .formatters.embed import png_data_uri
    from .formatters.html import Figure
    from .formatters.kinds import IMAGE, explanation_kind
    from .formatters.outline import outlined

    image = getattr(expl, "image", None)
    if explanation_kind(expl) != IMAGE or image is None or mask.shape != (image.height, image.width):
        return None
    picture = outlined(image, mask)
    return Figure(src=png_data_uri(picture), alt="explained input, ground truth outlined",
                  width=context.width(picture.width), title="input, mask outlined").html()


def _timed_explain(model: Any, inputs: Any, method: str, targets: Any, count: int,
                   options: Dict[str, Any]) -> Tuple[ExplanationBatch, float, float]:
    """Explain the first input (timed: includes compiling), then all inputs (timed)."""
    first_targets = targets if targets is None or isinstance(targets, numbers.Integral) else np.asarray(targets)[:1]
    start = time.perf_counter()
    explain(model, _head(model, inputs), method=method, targets=first_targets, **options)
    first_call = time.perf_counter() - start
    start = time.perf_counter()
    result = explain(model, inputs, method=method, targets=targets, **options)
    per_input = (time.perf_counter() - start) / count
    return result, first_call, per_input


def _describe_targets(targets: Any, options: Dict[str, Any], target_names: Any) -> str:
    from .formatters.names import target_label

    if options.get("top_k") is not None:
        return f"the top {options['top_k']} classes of each input"
    if targets is None:
        return "each input's top class"
    if isinstance(targets, numbers.Integral):
        return f"class {target_label(int(targets), target_names)} for every input"
    return "the classes given per input"

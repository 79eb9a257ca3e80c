"""A comparison report: several methods on the same inputs, in one self-contained HTML file.

``eli5_keras.report(model, inputs, methods=[...])`` runs :func:`eli5_keras.explain` once
per method, times it, optionally scores the maps against ground-truth masks (pointing
game) and by the evaluation metrics asked for (``metrics=[...]``, by name, through
:mod:`eli5_keras.evaluation`'s table of metrics), and writes a page whose rows are inputs
and whose columns are methods. This
module makes the data (:class:`MethodRun` per method, :class:`SkippedMethod` per method
that raised, the :class:`Report`); :mod:`eli5_keras.formatters.report_html` draws the
page. Every picture is inlined (``data:`` URIs), the CSS too, and a
Content-Security-Policy forbids loading anything else, so the file opens the same
anywhere, offline.
"""
from __future__ import annotations

import numbers
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from . import methods as _methods
from .backend.inputs import prepare_inputs
from .evaluation import METRICS, MODEL_OPTIONS, MetricInput, MetricSummary, check_metrics, score_maps
from .backend.legacy import keras_model
from .explain import ensure_built, explain
from .metrics import pointing_hits
from .result import EmptyMapWarning, ExplanationBatch

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
    metrics : dict of str to numpy.ndarray
        ``metrics[name]``: the scores of each metric asked for, ``(N,)`` float64, or
        ``(N, T)`` with ``T > 1`` targets (as :attr:`eli5_keras.Evaluation.scores`);
        empty when none was asked for.
    """

    name: str
    title: str
    result: ExplanationBatch = field(repr=False)
    first_call_seconds: float
    seconds_per_input: float
    hits: Optional[np.ndarray] = field(default=None, repr=False)
    metrics: Dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def summary(self) -> Dict[str, MetricSummary]:
        """Per metric: mean and 95% interval over the inputs (:class:`~eli5_keras.evaluation.MetricSummary`)."""
        return {name: MetricSummary.of(values) for name, values in self.metrics.items()}

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
    higher_is_better: Dict[str, bool] = field(default_factory=dict)
    """Per metric asked for (in order), whether a higher score is better."""

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

    @property
    def metrics(self) -> Dict[str, Dict[str, float]]:
        """``{method: {metric: mean score}}`` (NaN scores left out of the mean); empty
        dicts when no metric was asked for."""
        return {run.name: {k: s.mean for k, s in run.summary.items()} for run in self.runs}

    def _repr_html_(self) -> str:
        from .formatters.report_html import report_summary

        return report_summary(self)


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
    metrics: Union[None, str, Sequence[str]] = None,
    metric_options: Optional[Dict[str, Dict[str, Any]]] = None,
    **explain_options: Any,
) -> Report:
    """Explain ``inputs`` with each method and write a comparison page to ``path``.

    Parameters
    ----------
    model : keras.Model
    inputs : array-like, shape (N, *input_shape)
        As for :func:`eli5_keras.explain` (a list or dict of arrays for a multi-input model).
    methods : str or sequence of str, optional
        Method names; default every method that applies to the model
        (:func:`eli5_keras.methods.applicable`: the attention methods only on a model
        with attention layers).
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
        global-average-pooling head, when comparing every method). A metric that
        raises on a method's maps counts as the method raising.
    metrics : str or sequence of str, optional
        Evaluation metrics by name (:func:`eli5_keras.evaluation.metric_names`:
        ``"deletion"``, ``"insertion"``, ``"mufidelity"``, ``"model_parameter_randomisation"``,
        ...), each scoring every method's maps as :func:`eli5_keras.evaluate` scores them
        (the same table of metrics): a column per metric in the methods table (mean and
        95% interval over the inputs) and each input's score under its maps. Metrics
        comparing with ground truth (``"pointing_game"``, ``"energy_pointing_game"``,
        ``"relevance_mass_accuracy"``, ``"relevance_rank_accuracy"``) need ``masks``.
    metric_options : dict of str to dict, optional
        Options per metric, e.g. ``{"deletion": {"steps": 20}}``.
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
        Bad ``methods``, ``metrics`` (an unknown name, one needing ``masks`` without
        them) or ``metric_options``, ``target_names``, ``display_width``, ``on_error``, ``inputs``
        (checked once before any method runs, as :func:`eli5_keras.explain` checks
        them: e.g. the wrong shape) or ``masks`` (wrong length or shape), or what
        :func:`eli5_keras.explain` rejects for a method unless ``on_error='skip'``.
    """
    from .formatters.report_html import ReportPage

    names = _check_methods(methods, model)
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r:.50}.")
    page = ReportPage(target_names=target_names, display_width=display_width, colormap=colormap,
                      alpha_limit=alpha_limit, signed=signed)
    arrays = _prepare_inputs(model, inputs)
    count = len(arrays[0])
    mask_array = _check_masks(masks, count)
    if metrics is None and metric_options is not None:
        raise ValueError(f"metric_options name metrics {list(metric_options)!r:.100}, but no metrics were asked for.")
    metric_list, per_metric = ([], {}) if metrics is None else check_metrics(
        metrics, metric_options, masks=mask_array is not None)
    scoring = _Scoring(model, inputs, mask_array, metric_list, dict(per_metric), explain_options)
    runs, skipped = _run_methods(model, arrays, names, targets, scoring, on_error, explain_options)

    html = page.html(runs, skipped, title=title or f"Explanations of {model.name}", model_name=model.name,
                     count=count, targets=targets, top_k=explain_options.get("top_k"), masks=mask_array,
                     higher_is_better=scoring.higher_is_better)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return Report(out, runs, skipped, scoring.higher_is_better)


@dataclass
class _Scoring:
    """What scoring a method's maps needs besides the maps: the metrics asked for
    (checked) and their options, the model, inputs and masks."""

    model: keras.Model
    inputs: Any
    masks: Optional[np.ndarray]
    metrics: List[str]
    options: Dict[str, Dict[str, Any]]
    explain_options: Dict[str, Any]

    @property
    def higher_is_better(self) -> Dict[str, bool]:
        return {m: METRICS[m].higher_is_better for m in self.metrics}


def _run_methods(model: keras.Model, inputs: List[np.ndarray], names: Sequence[str], targets: Any,
                 scoring: _Scoring, on_error: str,
                 options: Dict[str, Any]) -> Tuple[List[MethodRun], List[SkippedMethod]]:
    """Each method explained, timed and scored; with ``on_error='skip'`` a method that
    raises (or whose scoring raises) is set aside instead."""
    runs, skipped = [], []
    for name in names:
        try:
            result, first_call, per_input = _timed_explain(model, inputs, name, targets, options)
            hits, scores = _scores(name, result, targets, scoring)
        except Exception as error:  # noqa: BLE001 - on_error='skip': one method must not stop the comparison
            if on_error == "raise":
                raise
            skipped.append(SkippedMethod(name, error))
            continue
        runs.append(MethodRun(name, result.method, result, first_call, per_input, hits, scores))
    return runs, skipped


def _scores(name: str, result: ExplanationBatch, targets: Any,
            scoring: _Scoring) -> Tuple[Optional[np.ndarray], Dict[str, np.ndarray]]:
    """One method's scores: against the ground truth, ``maps (N, T, *S)``, ``masks (N, *S)``
    -> bool ``(N,)``, whether each input's first map has its maximum inside its mask
    (pointing game; None without masks); and each metric asked for, as
    :func:`eli5_keras.evaluate` computes it (:func:`eli5_keras.evaluation.score_maps`),
    for the targets the maps explain. Every score a report gives a method is computed
    here, once per method.

    Raises
    ------
    ValueError
        The masks' spatial shape is not the maps'; what a metric rejects.
    """
    maps, masks = result.maps, scoring.masks
    if masks is not None and masks.shape[1:] != maps.shape[2:]:
        raise ValueError(
            f"masks must have shape (N, *S) with S the maps' spatial shape {maps.shape[2:]} "
            f"(method {name!r}); got {masks.shape}."
        )
    hits = None if masks is None else pointing_hits(maps[:, 0], masks)
    if not scoring.metrics:
        return hits, {}
    options = {k: v for k, v in scoring.explain_options.items() if k != "batch_size"}
    data = MetricInput(
        scoring.model, scoring.inputs, np.asarray(maps), result.targets if targets is None else targets, masks,
        scoring.explain_options.get("batch_size", 32), {k: options[k] for k in MODEL_OPTIONS if k in options},
        name, options,
    )
    with warnings.catch_warnings():  # maps re-explained by a metric (other classes, randomised copies) may
        warnings.simplefilter("ignore", EmptyMapWarning)  # be empty: the metric scores that, not the page
        return hits, score_maps(data, scoring.metrics, scoring.options)


def _check_methods(methods: Union[None, str, Sequence[str]], model: Any) -> List[str]:
    if methods is None:
        return _methods.applicable(keras_model(model))
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


def _prepare_inputs(model: Any, inputs: Any) -> List[np.ndarray]:
    """``inputs`` checked once, as :func:`eli5_keras.explain` checks them: one array
    ``(N, *input_shape)`` per model input."""
    model = keras_model(model)
    ensure_built(model, inputs)
    return prepare_inputs(model, inputs)


def _check_masks(masks: Any, count: int) -> Optional[np.ndarray]:
    if masks is None:
        return None
    array = np.asarray(masks)
    if array.dtype.kind not in "biu" or (array.dtype.kind != "b" and not np.isin(array, (0, 1)).all()):
        raise TypeError(f"masks must be boolean (or 0/1) arrays of shape (N, *S); got dtype {array.dtype}.")
    if array.ndim < 2 or len(array) != count:
        raise ValueError(f"masks must have shape (N, *S) with N = {count} inputs; got shape {array.shape}.")
    return array.astype(bool)


def _timed_explain(model: Any, inputs: List[np.ndarray], method: str, targets: Any,
                   options: Dict[str, Any]) -> Tuple[ExplanationBatch, float, float]:
    """Explain the first input (timed: includes compiling), then all inputs (timed)."""
    first_targets = targets if targets is None or isinstance(targets, numbers.Integral) else np.asarray(targets)[:1]
    start = time.perf_counter()
    with warnings.catch_warnings():  # the whole batch's call below names its empty maps
        warnings.simplefilter("ignore", EmptyMapWarning)
        explain(model, [array[:1] for array in inputs], method=method, targets=first_targets, **options)
    first_call = time.perf_counter() - start
    start = time.perf_counter()
    result = explain(model, inputs, method=method, targets=targets, **options)
    per_input = (time.perf_counter() - start) / len(inputs[0])
    return result, first_call, per_input

"""Every method scored by every metric: ``eli5_keras.evaluate(model, inputs, methods, metrics)``.

Each method is explained once (:func:`eli5_keras.explain`) and its maps ``(N, T, *S)``
handed to each metric of :mod:`eli5_keras.metrics`; maps computed beforehand can be
given instead (``maps={"name": ExplanationBatch or array}``), and are never recomputed.
The :class:`Evaluation` holds one score per input (and target) for each (method,
metric), and per method a summary: the mean and a 95% confidence interval by the normal
approximation,

    mean +- 1.96 * s / sqrt(n),    s the sample standard deviation (ddof = 1),

over the ``n`` finite scores (NaN scores, e.g. MuFidelity on a constant map, are left
out of the summary and counted apart). It prints as a text table, converts to a
JSON-able dict and, with pandas installed, to a DataFrame.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple

import keras
import numpy as np

from . import methods as _methods
from . import metrics as _metrics
from . import validation as check
from .backend.inputs import input_spatial_rank
from .backend.legacy import keras_model
from .backend.topology import model_inputs
from .explain import explain, explained_input
from .result import ExplanationBatch

__all__ = ["Evaluation", "MetricInput", "MetricSummary", "check_metrics", "evaluate", "metric_names", "score_maps"]

Z_95 = 1.96
"""Standard normal quantile of the two-sided 95% interval."""
INTERVAL = "95% CI, normal approximation: mean +- 1.96 * s / sqrt(n) (s with ddof=1)"
DEFAULT_METRICS = ("deletion", "insertion")
MODEL_OPTIONS = ("output_index", "input_index")
"""explain() options the model-based metrics need too: which output and input the maps are of."""


@dataclass(frozen=True)
class MetricInput:
    """What a metric reads: the maps ``(N, T, *S)`` of one method and all the rest."""

    model: keras.Model
    inputs: Any
    maps: np.ndarray
    targets: Any
    masks: Optional[np.ndarray]
    batch_size: int
    model_options: Dict[str, Any]
    method: Optional[str] = None
    """The method's name; None for maps given (the randomisation checks need a method)."""
    explain_options: Dict[str, Any] = field(default_factory=dict)


def _model_metric(function: Callable) -> Callable[[MetricInput, Dict[str, Any]], np.ndarray]:
    def run(data: MetricInput, options: Dict[str, Any]) -> np.ndarray:
        return function(data.model, data.inputs, data.maps, data.targets, batch_size=data.batch_size,
                        **data.model_options, **options)

    return run


def _mask_metric(function: Callable) -> Callable[[MetricInput, Dict[str, Any]], np.ndarray]:
    return lambda data, options: function(data.maps, data.masks, **options)


def _map_metric(function: Callable) -> Callable[[MetricInput, Dict[str, Any]], np.ndarray]:
    return lambda data, options: function(data.maps, per_target=True, **options)


def _rerun_options(data: MetricInput) -> Dict[str, Any]:
    """explain() options for re-running the method; ``top_k`` is in ``data.targets`` already."""
    return {k: v for k, v in data.explain_options.items() if k != "top_k"}


def _rerun_metric(function: Callable) -> Callable[[MetricInput, Dict[str, Any]], np.ndarray]:
    """A metric that explains again (``function(model, inputs, method, targets, ...)``)."""
    def run(data: MetricInput, options: Dict[str, Any]) -> np.ndarray:
        scores = function(data.model, data.inputs, data.method, data.targets, batch_size=data.batch_size,
                          **_rerun_options(data), **options)
        return scores.reshape(len(scores), -1)

    return run


def _parameter_randomisation(data: MetricInput, options: Dict[str, Any]) -> np.ndarray:
    options = dict(options)
    measure = options.pop("similarity", "spearman_abs")
    if not isinstance(measure, str):
        raise TypeError(f"model_parameter_randomisation in evaluate takes one similarity; got {measure!r}.")
    # the method's own maps with their classes (N, T) are not explained again
    classes = np.asarray(data.targets) if data.targets is not None and not callable(data.targets) else None
    known = classes is not None and classes.dtype.kind in "iu" and classes.size == np.prod(data.maps.shape[:2])
    result = _metrics.model_parameter_randomisation(
        data.model, data.inputs, data.method, classes.reshape(data.maps.shape[:2]) if known else data.targets,
        similarity=measure, batch_size=data.batch_size, maps=data.maps if known else None,
        **_rerun_options(data), **options)
    last = result.scores[measure][-1]
    return last.reshape(len(last), -1)


def _pointing(data: MetricInput, options: Dict[str, Any]) -> np.ndarray:
    if options:
        raise TypeError(f"pointing_game takes no options; got {sorted(options)}.")
    hits = [_metrics.pointing_hits(data.maps[:, t], data.masks) for t in range(data.maps.shape[1])]
    return np.stack(hits, axis=1).astype(np.float64)


class MetricSpec(NamedTuple):
    run: Callable[[MetricInput, Dict[str, Any]], np.ndarray]
    """``(data, options) -> (N, T)`` scores."""
    needs_masks: bool
    higher_is_better: bool
    needs_method: bool = False


METRICS: Dict[str, MetricSpec] = {
    "deletion": MetricSpec(_model_metric(_metrics.deletion), False, False),
    "insertion": MetricSpec(_model_metric(_metrics.insertion), False, True),
    "mufidelity": MetricSpec(_model_metric(_metrics.mufidelity), False, True),
    "pointing_game": MetricSpec(_pointing, True, True),
    "energy_pointing_game": MetricSpec(_mask_metric(_metrics.energy_pointing_game), True, True),
    "relevance_mass_accuracy": MetricSpec(_mask_metric(_metrics.relevance_mass_accuracy), True, True),
    "relevance_rank_accuracy": MetricSpec(_mask_metric(_metrics.relevance_rank_accuracy), True, True),
    "sparseness": MetricSpec(_map_metric(_metrics.sparseness), False, True),
    "complexity": MetricSpec(_map_metric(_metrics.complexity), False, False),
    "road_morf": MetricSpec(_model_metric(functools.partial(_metrics.road, order="morf")), False, False),
    "road_lerf": MetricSpec(_model_metric(functools.partial(_metrics.road, order="lerf")), False, True),
    "random_logit": MetricSpec(_rerun_metric(_metrics.random_logit), False, False, needs_method=True),
    "model_parameter_randomisation": MetricSpec(_parameter_randomisation, False, False, needs_method=True),
    "max_sensitivity": MetricSpec(_rerun_metric(_metrics.max_sensitivity), False, False, needs_method=True),
    "avg_sensitivity": MetricSpec(_rerun_metric(_metrics.avg_sensitivity), False, False, needs_method=True),
}


def metric_names() -> List[str]:
    """The metrics :func:`evaluate` knows by name."""
    return list(METRICS)


class MetricSummary(NamedTuple):
    """One method's scores on one metric: ``mean`` and the 95% interval's ``half_width``
    (normal approximation, :data:`INTERVAL`) over the ``n`` finite scores; ``nan`` scores
    left out. ``half_width`` is NaN when ``n < 2``, ``mean`` when ``n == 0``."""

    mean: float
    half_width: float
    n: int
    nan: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @classmethod
    def of(cls, scores: np.ndarray) -> "MetricSummary":
        values = np.asarray(scores, np.float64).ravel()
        finite = values[np.isfinite(values)]
        n = int(finite.size)
        mean = float(finite.mean()) if n else math.nan
        half = float(Z_95 * finite.std(ddof=1) / math.sqrt(n)) if n >= 2 else math.nan
        return cls(mean, half, n, int(values.size - n))


@dataclass
class Evaluation:
    """Scores of methods by metrics, from :func:`evaluate`.

    Attributes
    ----------
    scores : dict of str to dict of str to numpy.ndarray
        ``scores[method][metric]``: one score per input ``(N,)``, or per input and
        target ``(N, T)`` when the maps have ``T > 1`` targets (e.g. ``top_k=3``);
        float64, NaN where the metric is undefined.
    methods : list of str
        The rows: method names, then the names of ``maps`` given.
    metrics : list of str
    higher_is_better : dict of str to bool
        Per metric, whether a higher score is better (False: deletion, complexity).
    results : dict of str to ExplanationBatch
        The explanations of the methods computed here (not of ``maps`` given).
    """

    scores: Dict[str, Dict[str, np.ndarray]]
    methods: List[str]
    metrics: List[str]
    higher_is_better: Dict[str, bool]
    results: Dict[str, ExplanationBatch] = field(default_factory=dict, repr=False)

    @property
    def summary(self) -> Dict[str, Dict[str, MetricSummary]]:
        """``summary[method][metric]``: mean and 95% interval (:class:`MetricSummary`)."""
        return {m: {k: MetricSummary.of(self.scores[m][k]) for k in self.metrics} for m in self.methods}

    def table(self, digits: int = 4) -> str:
        """The summaries as a text table: a row per method, a column per metric, each
        cell ``mean ± half-width`` (``(n=…)`` added where some scores are NaN)."""
        digits = check.integer("digits", digits, 0)
        summary = self.summary
        header = ["method"] + [f"{k} {'↑' if self.higher_is_better[k] else '↓'}" for k in self.metrics]
        rows = [header]
        for method in self.methods:
            cells = [method]
            for k in self.metrics:
                s = summary[method][k]
                cell = f"{s.mean:.{digits}f} ± {s.half_width:.{digits}f}"
                cells.append(cell + (f" (n={s.n})" if s.nan else ""))
            rows.append(cells)
        widths = [max(len(row[c]) for row in rows) for c in range(len(header))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines + [f"({INTERVAL}; ↑ higher is better, ↓ lower)"])

    def __str__(self) -> str:
        return self.table()

    def __repr__(self) -> str:
        count = len(next(iter(next(iter(self.scores.values())).values())))
        return f"<Evaluation of {count} inputs>\n{self.table()}"

    def to_dict(self) -> Dict[str, Any]:
        """Plain lists, floats and strings (NaN as None): ``json.dumps`` takes it as it is."""
        def plain(value):
            return None if not math.isfinite(value) else value

        return {
            "methods": list(self.methods),
            "metrics": list(self.metrics),
            "higher_is_better": dict(self.higher_is_better),
            "interval": INTERVAL,
            "scores": {
                m: {k: _nan_to_none(v) for k, v in row.items()}
                for m, row in self.scores.items()
            },
            "summary": {
                m: {k: {"mean": plain(s.mean), "half_width": plain(s.half_width), "low": plain(s.low),
                        "high": plain(s.high), "n": s.n, "nan": s.nan} for k, s in row.items()}
                for m, row in self.summary.items()
            },
        }

    def to_pandas(self, per_input: bool = False):
        """A ``pandas.DataFrame``: the summaries, one row per (method, metric) with
        ``mean, half_width, low, high, n, nan, higher_is_better``; or with
        ``per_input=True`` every score, one row per (method, metric, input, target).

        Raises
        ------
        ImportError
            pandas is not installed (``pip install pandas``).
        """
        per_input = check.boolean("per_input", per_input)
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "Evaluation.to_pandas needs pandas, which is not installed: pip install pandas "
                "(to_dict() gives the same numbers without it)."
            ) from None
        if per_input:
            rows = []
            for method in self.methods:
                for metric in self.metrics:
                    values = self.scores[method][metric]
                    table = values.reshape(len(values), -1)
                    for (i, t), score in np.ndenumerate(table):
                        rows.append({"method": method, "metric": metric, "input": i, "target": t,
                                     "score": float(score)})
            return pandas.DataFrame(rows, columns=["method", "metric", "input", "target", "score"])
        rows = [
            {"method": m, "metric": k, **s._asdict(), "low": s.low, "high": s.high,
             "higher_is_better": self.higher_is_better[k]}
            for m, row in self.summary.items() for k, s in row.items()
        ]
        columns = ["method", "metric", "mean", "half_width", "low", "high", "n", "nan", "higher_is_better"]
        return pandas.DataFrame(rows, columns=columns)


def _nan_to_none(values: np.ndarray) -> list:
    """Python floats (nested lists for ``(N, T)``), None where a score is NaN."""
    plain = np.asarray(values, np.float64).astype(object)
    plain[~np.isfinite(np.asarray(values, np.float64))] = None
    return plain.tolist()


def evaluate(
    model: keras.Model,
    inputs: Any,
    methods: Any = None,
    metrics: Any = DEFAULT_METRICS,
    targets: Any = None,
    masks: Any = None,
    batch_size: int = 32,
    maps: Optional[Mapping[str, Any]] = None,
    *,
    metric_options: Optional[Mapping[str, Mapping[str, Any]]] = None,
    **options: Any,
) -> Evaluation:
    """Score each method's maps by each metric: ``(N, *input_shape) -> Evaluation``.

    Parameters
    ----------
    model, inputs
        The keras.Model and its inputs ``(N, *input_shape)``, as :func:`eli5_keras.explain` takes them.
    methods : str or sequence of str, optional
        Methods explained here, once each (:func:`eli5_keras.methods.available`).
    metrics : str or sequence of str, default ("deletion", "insertion")
        Metric names from :func:`metric_names`: ``"deletion"``, ``"insertion"``,
        ``"mufidelity"``, ``"road_morf"``, ``"road_lerf"`` (run the model), ``"pointing_game"``, ``"energy_pointing_game"``,
        ``"relevance_mass_accuracy"``, ``"relevance_rank_accuracy"`` (need ``masks``),
        ``"sparseness"``, ``"complexity"`` (the maps alone), ``"random_logit"``,
        ``"model_parameter_randomisation"``, ``"max_sensitivity"``, ``"avg_sensitivity"``
        (re-run the method: for ``methods`` only; ``model_parameter_randomisation``
        scores the similarity after the last step, ``"spearman_abs"`` by default,
        ``metric_options={"model_parameter_randomisation": {"similarity": "ssim"}}``).
    targets : as in :func:`eli5_keras.explain`
        Explained and scored. None: each input's top class (the metrics score the
        classes explain() reports, ``result.targets``, so ``top_k=`` works too).
    masks : array-like, shape (N, *S), optional
        Ground truth, nonzero on the object; the localisation metrics need it.
    batch_size : int, default 32
        Bound on the work in flight, for explain() and the model-based metrics.
    maps : dict of str to ExplanationBatch or array, optional
        Maps computed beforehand, scored without running any method: an
        :class:`~eli5_keras.result.ExplanationBatch` (its ``maps`` and ``targets``) or an
        array ``(N, *S)`` or ``(N, T, *S)`` at the input's spatial shape (scored for
        ``targets``). Names must differ from ``methods``.
    metric_options : dict of str to dict, optional
        Options per metric, e.g. ``{"deletion": {"steps": 20}, "mufidelity": {"samples": 50}}``.
    **options
        Passed to every :func:`eli5_keras.explain` call (``layer``, ``top_k``, ``relu``,
        ...); ``output_index`` and ``input_index`` also to the model-based metrics.

    Returns
    -------
    Evaluation
        ``scores[method][metric]`` ``(N,)`` (or ``(N, T)``), ``summary`` (mean and 95%
        normal-approximation interval), ``table()``, ``to_dict()``, ``to_pandas()``.

    Raises
    ------
    TypeError, ValueError
        Unknown methods or metrics, a metric needing ``masks`` without them, names of
        ``maps`` that repeat a method, neither ``methods`` nor ``maps`` — all before any
        work; and whatever explain() or a metric rejects.

    Examples
    --------
    >>> ev = eli5_keras.evaluate(model, images, ["gradcam", "saliency"],       # doctest: +SKIP
    ...                          ["deletion", "insertion", "pointing_game"], masks=masks)
    >>> print(ev)                                                               # doctest: +SKIP
    """
    model = keras_model(model)
    method_names = _names("methods", methods, None)
    for name in method_names:
        _methods.get(name)  # unknown names fail here, before any work
    given = _given_maps(maps, method_names)
    if not method_names and not given:
        raise ValueError("pass methods (names to explain) or maps (computed beforehand); got neither.")
    metric_list, per_metric = check_metrics(metrics, metric_options, masks=masks is not None)
    rerun = [m for m in metric_list if METRICS[m].needs_method]
    if rerun and given:
        raise ValueError(
            f"metrics {rerun} re-run the method (on other classes or randomised models), so they score "
            f"methods only; maps given ({list(given)}) have none."
        )
    mask_array = None if masks is None else np.asarray(masks.numpy() if hasattr(masks, "numpy") else masks)
    batch_size = check.integer("batch_size", batch_size, 1)
    model_options = {k: options[k] for k in MODEL_OPTIONS if k in options}

    rank = _spatial_rank(model, mask_array, model_options.get("input_index"))
    given_sources = [
        (name, value.maps, value.targets, None) if isinstance(value, ExplanationBatch)
        else (name, _with_target_axis(name, value, rank), targets, None)
        for name, value in given.items()
    ]
    results: Dict[str, ExplanationBatch] = {}
    sources: List[Tuple[str, np.ndarray, Any, Optional[str]]] = []
    for name in method_names:
        result = explain(model, inputs, method=name, targets=targets, batch_size=batch_size, **options)
        results[name] = result
        sources.append((name, result.maps, result.targets if targets is None else targets, name))
    sources += given_sources

    scores: Dict[str, Dict[str, np.ndarray]] = {}
    for name, method_maps, method_targets, method in sources:
        data = MetricInput(model, inputs, np.asarray(method_maps), method_targets, mask_array, batch_size,
                           model_options, method, options)
        scores[name] = score_maps(data, metric_list, per_metric)
    return Evaluation(scores, [s[0] for s in sources], metric_list,
                      {m: METRICS[m].higher_is_better for m in metric_list}, results)


def check_metrics(
    metrics: Any, metric_options: Optional[Mapping[str, Mapping[str, Any]]] = None, *, masks: bool
) -> Tuple[List[str], Mapping[str, Mapping[str, Any]]]:
    """``metrics`` as a list of known names and ``metric_options`` checked against it,
    before any work: ``(names, options per name)``.

    Raises
    ------
    TypeError, ValueError
        ``metrics`` not names, an unknown or repeated name, none at all; options for a
        metric not asked for; a metric that needs ground truth when ``masks`` is False.
    """
    metric_list = _names("metrics", metrics, METRICS)
    if not metric_list:
        raise ValueError(f"metrics must name at least one of {metric_names()}.")
    per_metric = _metric_options(metric_options, metric_list)
    needing = [m for m in metric_list if METRICS[m].needs_masks]
    if needing and not masks:
        raise ValueError(
            f"metrics {needing} compare maps with ground truth: pass masks (N, *S), nonzero on the object."
        )
    return metric_list, per_metric


def score_maps(data: MetricInput, metric_list: Sequence[str],
               per_metric: Mapping[str, Mapping[str, Any]]) -> Dict[str, np.ndarray]:
    """One method's maps scored by each metric of ``metric_list`` (checked by
    :func:`check_metrics`): ``{metric: (N,) float64}``, ``(N, T)`` when ``T > 1``."""
    row = {}
    for metric in metric_list:
        values = np.asarray(METRICS[metric].run(data, dict(per_metric.get(metric, {}))), np.float64)
        row[metric] = values[:, 0] if values.shape[1] == 1 else values
    return row


def _names(argument: str, value: Any, known: Optional[Mapping[str, Any]]) -> List[str]:
    """``value`` as a list of distinct names (a str is a list of one; None is empty);
    with ``known``, each must be one of its keys."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{argument} must be a name or a sequence of names; got {value!r:.100}.")
    if len(set(value)) != len(value):
        raise ValueError(f"{argument} must not repeat a name; got {list(value)}.")
    if known is not None:
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(f"unknown {argument} {unknown}; known: {list(known)}.")
    return list(value)


def _given_maps(maps: Optional[Mapping[str, Any]], method_names: Sequence[str]) -> Dict[str, Any]:
    if maps is None:
        return {}
    if not isinstance(maps, Mapping) or not all(isinstance(k, str) for k in maps):
        raise TypeError(f"maps must be a dict of names to ExplanationBatch or arrays; got {type(maps).__name__}.")
    repeated = [k for k in maps if k in method_names]
    if repeated:
        raise ValueError(f"maps names {repeated} are also methods; give each row one name.")
    return dict(maps)


def _metric_options(options: Optional[Mapping[str, Mapping[str, Any]]], metric_list: Sequence[str]):
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(v, Mapping) for v in options.values()):
        raise TypeError(f"metric_options must be a dict of metric names to dicts of options; got {options!r:.100}.")
    unused = [k for k in options if k not in metric_list]
    if unused:
        raise ValueError(f"metric_options names {unused}, which are not among metrics {list(metric_list)}.")
    return options


def _spatial_rank(model: keras.Model, masks: Optional[np.ndarray], input_index: Optional[int]) -> int:
    """How many spatial axes maps have: the masks' (``(N, *S)``), else the explained input's."""
    if masks is not None:
        return masks.ndim - 1
    return input_spatial_rank(model_inputs(model)[explained_input(model, None, input_index)])


def _with_target_axis(name: str, value: Any, rank: int) -> np.ndarray:
    """Maps given as an array, ``(N, *S)`` or ``(N, T, *S)``, as ``(N, T, *S)``."""
    array = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
    if array.ndim == 1 + rank:
        return array[:, None]
    if array.ndim == 2 + rank:
        return array
    raise ValueError(
        f"maps[{name!r}] must have shape (N, *S) or (N, T, *S) with {rank} spatial axes; got {array.shape}."
    )

"""The page of ``eli5-keras evaluate``: an :class:`~eli5_keras.evaluation.Evaluation` as
one self-contained HTML file (``templates/evaluation.html``): the summary table (a row
per method, a column per metric, each cell ``mean ± half-width`` of the 95% interval)
and every input's scores. Reads the evaluation only; never calls the model.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, List, Sequence

import numpy as np

from .templating import render_page

if TYPE_CHECKING:
    from ..evaluation import Evaluation

__all__ = ["evaluation_page"]


def evaluation_page(evaluation: Evaluation, *, title: str, model_name: str, inputs: Sequence[str],
                    digits: int = 4) -> str:
    """The whole page: ``evaluation``'s summary and per-input scores of ``inputs``
    (their names, in the order scored), numbers to ``digits`` decimals."""
    from ..evaluation import INTERVAL

    summary = evaluation.summary
    rows = [dict(method=m, cells=[_summary_cell(summary[m][k], digits) for k in evaluation.metrics])
            for m in evaluation.methods]
    per_input = [dict(name=name, cells=[_scores_cell(evaluation.scores[m][k][i], digits)
                                        for m in evaluation.methods for k in evaluation.metrics])
                 for i, name in enumerate(inputs)]
    columns = [dict(name=k, higher=evaluation.higher_is_better[k]) for k in evaluation.metrics]
    return render_page("evaluation.html", title=title, heading=title, model=model_name, count=len(inputs),
                       methods=list(evaluation.methods), metrics=columns, rows=rows, per_input=per_input,
                       interval=INTERVAL)


def _number(value: float, digits: int) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "nan"


def _summary_cell(s: Any, digits: int) -> str:
    text = f"{_number(s.mean, digits)} ± {_number(s.half_width, digits)}"
    return text + (f" (n={s.n})" if s.nan else "")


def _scores_cell(values: Any, digits: int) -> str:
    """One input's score, or its scores per target separated by "/"."""
    return "/".join(_number(float(v), digits) for v in np.atleast_1d(values))

"""Score explanation methods against ground truth: pointing game and time per image.

A method that does not apply to the model (``explain`` rejects it with a ``ValueError``,
e.g. CAM on a model without a global-average-pooling head) is recorded as not
applicable; one that fails in any other way is recorded with its error. Neither stops
the others.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, List, Optional, Sequence

import numpy as np

from ..metrics import pointing_hits
from ..result import ExplanationBatch


@dataclass
class MethodScore:
    """How one method did on a batch of scenes.

    Attributes
    ----------
    name : str
        The method's name in :func:`eli5_keras.methods.available`.
    result : ExplanationBatch, optional
        Its explanations (maps ``(N, 1, *S)``); None when it failed.
    hits : bool array (N,), optional
        Whether each map's maximum falls inside the object's mask.
    seconds : float
        Wall time of the timed call over all N scenes (compilation excluded).
    error : str, optional
        The error message when the method failed.
    not_applicable : str, optional
        Why the method does not apply to this model (``explain``'s ``ValueError``).
    """

    name: str
    result: Optional[ExplanationBatch] = None
    hits: Optional[np.ndarray] = None
    seconds: float = 0.0
    error: Optional[str] = None
    not_applicable: Optional[str] = None

    @property
    def title(self) -> str:
        return self.result.method if self.result is not None else self.name

    @property
    def pointing(self) -> Optional[float]:
        """Pointing-game accuracy: share of hits, in [0, 1]."""
        return float(self.hits.mean()) if self.hits is not None else None

    @property
    def ms_per_image(self) -> Optional[float]:
        return 1e3 * self.seconds / len(self.hits) if self.hits is not None else None


def score_method(model: Any, images: np.ndarray, labels: np.ndarray, masks: np.ndarray,
                 method: str, batch_size: int = 32) -> MethodScore:
    """Explain ``images`` ``(N, H, W, C)`` for their true ``labels`` ``(N,)`` with ``method``
    and score the maps against ``masks`` ``(N, H, W)``.

    A first call on one image compiles the method's graph; the timed call then explains
    all N images, so ``seconds`` is the steady-state cost. Errors are caught: a
    ``ValueError`` from the first call goes to ``not_applicable``, anything else to ``error``.
    """
    from ..explain import explain

    try:
        explain(model, images[:1], method=method, targets=labels[:1], batch_size=batch_size)
    except ValueError as error:
        return MethodScore(method, not_applicable=_message(error))
    except Exception as error:  # noqa: BLE001 - one broken method must not stop the comparison
        return MethodScore(method, error=f"{type(error).__name__}: {_message(error)}")
    try:
        start = time.perf_counter()
        result = explain(model, images, method=method, targets=labels, batch_size=batch_size)
        seconds = time.perf_counter() - start
        hits = pointing_hits(result.maps[:, 0], masks)
    except Exception as error:  # noqa: BLE001 - one broken method must not stop the comparison
        return MethodScore(method, error=f"{type(error).__name__}: {_message(error)}")
    return MethodScore(method, result=result, hits=hits, seconds=seconds)


def _message(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def score_methods(model: Any, images: np.ndarray, labels: np.ndarray, masks: np.ndarray,
                  methods: Sequence[str], batch_size: int = 32) -> List[MethodScore]:
    """:func:`score_method` for each name in ``methods``, in order."""
    return [score_method(model, images, labels, masks, name, batch_size) for name in methods]

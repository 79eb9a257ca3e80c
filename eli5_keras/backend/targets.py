"""Which output scores are explained: user ``targets`` in, an ``(N, T)`` code out.

Targets travel to the compiled graph as data, never as trace-time constants, so
switching between "top class", explicit classes and top-k never retraces. The code:
``c >= 0`` is class ``c``; ``-r`` is the r-th highest output of that example
(``-1`` is the predicted class).
"""
from __future__ import annotations

from typing import Any, Optional

import numpy as np
import tensorflow as tf

from .. import validation as check


def encode_targets(targets: Any, top_k: Optional[int], n: int, num_classes: int) -> np.ndarray:
    """Turn ``targets``/``top_k`` into an int32 ``(n, T)`` code.

    Parameters
    ----------
    targets : None, int, 1-D sequence of length n (or 1), or 2-D array (n, T) (or (1, T))
        None is each input's top class; an int is that class for every input; a 1-D
        sequence is one class per input; a 2-D array is T classes per input.
    top_k : int, optional
        Explain the k highest-scoring classes of each input (with ``targets=None``).
    n : int
        Number of inputs.
    num_classes : int
        Size of the model's class axis, for range checks.
    """
    check.exclusive("targets", targets, "top_k", top_k)
    if top_k is not None:
        top_k = check.integer("top_k", top_k, 1)
        if top_k > num_classes:
            raise ValueError(f"top_k={top_k} exceeds the model's {num_classes} classes.")
        return np.tile(-np.arange(1, top_k + 1, dtype=np.int32), (n, 1))
    if targets is None:
        return np.full((n, 1), -1, dtype=np.int32)
    if isinstance(targets, bool):
        raise TypeError(f"targets must be integers (class indices); got {targets!r}.")
    arr = np.asarray(targets.numpy() if hasattr(targets, "numpy") else targets)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer)):
        raise TypeError(
            f"targets must be integer class indices (int, 1-D sequence or 2-D array); "
            f"got {targets!r} with dtype {arr.dtype}."
        )
    if arr.ndim == 0:
        arr = np.full((n, 1), arr)
    elif arr.ndim == 1:
        if len(arr) not in (1, n):
            raise ValueError(
                f"targets as a 1-D sequence needs one class per input ({n}); got length {len(arr)}. "
                "For several classes per input pass a 2-D (N, T) array or top_k=T."
            )
        arr = np.broadcast_to(arr[:, None] if len(arr) == n else arr[None, :], (n, 1))
    elif arr.ndim == 2:
        if arr.shape[0] not in (1, n) or arr.shape[1] == 0:
            raise ValueError(f"targets as a 2-D array must have shape ({n}, T); got {arr.shape}.")
        arr = np.broadcast_to(arr, (n, arr.shape[1]))
    else:
        raise ValueError(f"targets must have at most 2 dimensions (N, T); got shape {arr.shape}.")
    bad = arr[(arr < 0) | (arr >= num_classes)]
    if bad.size:
        raise ValueError(
            f"targets must be class indices in [0, {num_classes}); got {bad.ravel()[:5].tolist()}."
        )
    return np.ascontiguousarray(arr, dtype=np.int32)


def decode_targets(code: tf.Tensor, ranking_scores: tf.Tensor) -> tf.Tensor:
    """Resolve a target code ``(N, T)`` into class indices, ranking by ``(N, K)`` scores."""
    k = min(int(code.shape[1]), int(ranking_scores.shape[-1]))
    top = tf.math.top_k(ranking_scores, k=k).indices
    rank = tf.clip_by_value(-code - 1, 0, k - 1)
    return tf.where(code >= 0, code, tf.gather(top, rank, batch_dims=1))


def gather_scores(scores: tf.Tensor, classes: tf.Tensor) -> tf.Tensor:
    """``scores[n, classes[n, t]]`` -> ``(N, T)``."""
    return tf.gather(scores, classes, batch_dims=1)

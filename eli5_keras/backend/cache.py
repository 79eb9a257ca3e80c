"""Per-model caches that never keep a model alive.

Compiled graphs are cached per model in a ``WeakKeyDictionary``; cached objects hold
the model only through weak references, so deleting the model frees its entries. Their
``tf.function`` objects come from :func:`graph_function`.
"""
from __future__ import annotations

import functools
import threading
import weakref
from typing import Any, Callable, Dict, Hashable, Sequence

import keras
import tensorflow as tf

_CACHES: "weakref.WeakKeyDictionary[keras.Model, Dict[Hashable, Any]]" = weakref.WeakKeyDictionary()
# Threads explaining with one model find one entry per key (the factory runs once).
_LOCK = threading.RLock()


def cached(model: keras.Model, key: Hashable, factory: Callable[[], Any]) -> Any:
    """``factory()`` built once per ``(model, key)``, also when threads ask at once."""
    with _LOCK:
        per_model = _CACHES.setdefault(model, {})
        if key not in per_model:
            per_model[key] = factory()
        return per_model[key]


def cached_models() -> int:
    """Number of models with live cache entries (for resource tests)."""
    return len(_CACHES)


def clear(model: keras.Model | None = None) -> None:
    """Drop the compiled graphs of ``model`` (of every model when None)."""
    with _LOCK:
        if model is None:
            _CACHES.clear()
        else:
            _CACHES.pop(model, None)


def graph_function(fn: Callable, input_signature: Sequence[Any]) -> Callable:
    """``tf.function`` of ``fn`` with a fixed ``input_signature`` (never relaxed), whose
    calls TensorFlow counts apart from every other graph's.

    TensorFlow warns "N out of the last N calls to <function> triggered tf.function
    retracing" when the calls it counts together trace often, and it counts together the
    calls of every ``tf.function`` made from one code object: the graphs of all explainers
    and probes come from a few lambdas and methods, so a few methods on one model, each
    traced once, would raise that false alarm. A ``functools.partial`` has no code of its
    own, so TensorFlow counts the calls of each function object apart: only a graph that
    really retraces can warn.
    """
    return tf.function(functools.partial(fn), input_signature=input_signature, reduce_retracing=False)


class ModelRef:
    """A model held weakly, so that the cached object holding it never keeps it alive;
    calling the reference returns the model, or raises ``ReferenceError`` once it is gone."""

    def __init__(self, model: keras.Model) -> None:
        self._ref = weakref.ref(model)

    def __call__(self) -> keras.Model:
        model = self._ref()
        if model is None:
            raise ReferenceError("the model of this explainer has been deleted.")
        return model

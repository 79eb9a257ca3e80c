"""Per-model caches that never keep a model alive.

Compiled graphs are cached per model in a ``WeakKeyDictionary``; cached objects hold
the model only through weak references, so deleting the model frees its entries.
"""
from __future__ import annotations

import threading
import weakref
from typing import Any, Callable, Dict, Hashable

import keras

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

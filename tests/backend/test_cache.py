"""Per-model caches: built once, and never keeping a model alive."""
import gc
import weakref

import keras
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras.backend import cache

from helpers import models
from helpers.data import images


def test_cached_builds_once_per_model_and_key():
    model_a, model_b = models.seq_model(), models.seq_model()
    calls = []

    def factory():
        calls.append(1)
        return object()

    first = cache.cached(model_a, "k", factory)
    assert cache.cached(model_a, "k", factory) is first
    assert cache.cached(model_a, "other", factory) is not first
    assert cache.cached(model_b, "k", factory) is not first
    assert len(calls) == 3
    cache.clear(model_a)
    assert cache.cached(model_a, "k", factory) is not first
    assert len(calls) == 4


def test_clear_all():
    model = models.seq_model()
    cache.cached(model, "k", object)
    assert cache.cached_models() >= 1
    cache.clear()
    assert cache.cached_models() == 0
    cache.clear(model)  # nothing left: no error


def build_everything(model):
    x = images(2)
    eli5.explain(model, x)
    eli5.explain(model, x, top_k=2, use_logits=False)
    eli5.explain_prediction(model, x[:1])
    eli5.gradcam_backend(model, x[:1], None, model.get_layer("conv2"))


def test_deleting_the_model_frees_its_cache_entries():
    gc.collect()
    before = cache.cached_models()
    model = models.seq_model()
    build_everything(model)
    assert cache.cached_models() == before + 1
    ref = weakref.ref(model)
    del model
    gc.collect()
    assert ref() is None  # nothing in the cache (compiled graphs included) holds it
    assert cache.cached_models() == before


def test_explainer_of_a_deleted_model_says_so():
    from eli5_keras.explain import Explainer

    model = models.seq_model()
    explainer = Explainer(model)
    del model
    gc.collect()
    with pytest.raises(ReferenceError, match="deleted"):
        explainer.explain(images(1))

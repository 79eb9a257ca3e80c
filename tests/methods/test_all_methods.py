"""Every method x every fixture rank x batch sizes 1 and 3 x one and several targets:
shapes, finiteness, labels and scores. Numbers are checked per method in their own tests."""
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras import methods

from conftest import images, signals, volumes

# Small settings so the sweep stays fast; the defaults are tested per method.
FAST_OPTIONS = {
    "integrated_gradients": dict(steps=4),
    "rise": dict(masks=8, seed=0),
    "occlusion": dict(window=4, stride=4),
    "smoothgrad": dict(samples=2, seed=0),
    "vargrad": dict(samples=2, seed=0),
    "squaregrad": dict(samples=2, seed=0),
    "tta": dict(),
}

FIXTURES = {
    "seq_model": lambda n: images(n, seed=40),
    "nested_model": lambda n: images(n, seed=41),
    "signal_model": lambda n: signals(n, seed=42),
    "volume_model": lambda n: volumes(n, seed=43),
}

SPATIAL = {"seq_model": (12, 12), "nested_model": (12, 12), "signal_model": (16,), "volume_model": (6, 6, 6)}


@pytest.mark.parametrize("targets", ["top", "two"])
@pytest.mark.parametrize("fixture", sorted(FIXTURES))
@pytest.mark.parametrize("method", methods.available())
def test_every_method_on_every_rank(method, fixture, targets, request):
    model = request.getfixturevalue(fixture)
    options = FAST_OPTIONS.get(method, {})
    for n in (1, 3):
        x = FIXTURES[fixture](n)
        kwargs = dict(top_k=2) if targets == "two" else {}
        result = eli5.explain(model, x, method=method, batch_size=4, **kwargs, **options)
        t = 2 if targets == "two" else 1
        assert result.maps.shape == (n, t) + SPATIAL[fixture], (method, fixture)
        assert np.all(np.isfinite(result.maps)), (method, fixture)
        assert result.targets.shape == result.scores.shape == (n, t)
        assert np.all(np.isfinite(result.scores))
        probs = model(x).numpy()
        np.testing.assert_allclose(result.scores, np.take_along_axis(probs, result.targets, 1), rtol=1e-4, atol=1e-6)
        order = np.argsort(-probs, axis=1)[:, :t]
        np.testing.assert_array_equal(result.targets, order)
        if result.normalized:
            assert result.maps.min() >= 0.0 and result.maps.max() <= 1.0 + 1e-6
        assert len(result[0].targets) == t


@pytest.mark.parametrize("method", methods.available())
def test_every_method_is_documented(method):
    cls = methods.REGISTRY[method]
    assert cls.title and cls.summary
    doc = (cls.__module__ and __import__(cls.__module__, fromlist=["_"]).__doc__) or ""
    assert "arxiv" in doc.lower() or "doi" in doc.lower() or "et al" in doc.lower(), f"{method}: cite the paper"

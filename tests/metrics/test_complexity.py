"""Sparseness (Gini index) and complexity (entropy) against their definitions written
plainly and hand-computed numbers."""
import math

import numpy as np
import pytest

from eli5_keras import metrics


def plain_gini(values):
    x = sorted(abs(v) for v in np.ravel(values))
    n = len(x)
    return sum((2 * (i + 1) - n - 1) * v for i, v in enumerate(x)) / (n * sum(x))


def plain_entropy(values):
    x = [abs(v) for v in np.ravel(values)]
    total = sum(x)
    return -sum(v / total * math.log(v / total) for v in x if v > 0)


@pytest.mark.parametrize("shape", [(3, 10), (3, 5, 6), (3, 3, 4, 5)])
def test_match_the_plain_definitions_on_every_rank(shape):
    maps = np.random.default_rng(0).normal(size=shape)
    maps[0].flat[:3] = 0.0
    np.testing.assert_allclose(metrics.sparseness(maps), [plain_gini(m) for m in maps])
    np.testing.assert_allclose(metrics.complexity(maps), [plain_entropy(m) for m in maps])


def test_hand_computed_extremes():
    one_hot = np.zeros((1, 4, 4))
    one_hot[0, 2, 1] = -5.0
    flat = np.full((1, 4, 4), 0.3)
    assert metrics.sparseness(one_hot)[0] == pytest.approx(1 - 1 / 16)
    assert metrics.sparseness(flat)[0] == pytest.approx(0.0, abs=1e-12)
    assert metrics.complexity(one_hot)[0] == 0.0
    assert metrics.complexity(flat)[0] == pytest.approx(math.log(16))
    xplique_form = 2 * np.sum(np.arange(1, 5) * np.array([1.0, 2, 3, 4])) / (4 * 10) - 5 / 4
    assert metrics.sparseness(np.array([[4.0, 2.0, 3.0, 1.0]]))[0] == pytest.approx(xplique_form)
    zeros = np.zeros((2, 3, 3))
    assert np.isnan(metrics.sparseness(zeros)).all() and np.isnan(metrics.complexity(zeros)).all()


def test_per_target_and_scale_invariance():
    maps = np.random.default_rng(1).normal(size=(4, 2, 5, 5))
    for metric in (metrics.sparseness, metrics.complexity):
        got = metric(maps, per_target=True)
        assert got.shape == (4, 2)
        np.testing.assert_allclose(got[:, 1], metric(maps[:, 1]))
        np.testing.assert_allclose(metric(7.5 * maps, per_target=True), got)


@pytest.mark.parametrize(
    "maps, kwargs, error, message",
    [
        (np.zeros(4), {}, ValueError, r"\(N, \*S\) with at least one spatial axis"),
        (np.zeros((2, 4)), dict(per_target=True), ValueError, r"\(N, T, \*S\)"),
        (np.full((1, 3), np.inf), {}, ValueError, "NaN or infinite"),
        (np.zeros((1, 3)), dict(per_target=1), TypeError, "per_target"),
    ],
)
def test_errors(maps, kwargs, error, message):
    for metric in (metrics.sparseness, metrics.complexity):
        with pytest.raises(error, match=message):
            metric(maps, **kwargs)

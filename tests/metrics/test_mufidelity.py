"""MuFidelity against its definition written plainly (numpy, one input and one subset at
a time, with the metric's own subsets), the exact map of a linear model, and invariants."""
import numpy as np
import pytest

from eli5_keras import metrics
from eli5_keras.metrics.engine import Features
from eli5_keras.metrics.mufidelity import MuFidelity

from helpers.metrics import grid_cells, linear_model

SHAPES = [(16, 2), (6, 5, 2), (4, 4, 3, 1)]


def inputs_for(shape, n=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n,) + shape).astype(np.float32)


def plain_ranks(v):
    """1-based ranks, ties averaged, by counting."""
    return np.array([(v < a).sum() + ((v == a).sum() + 1) / 2 for a in v])


def plain_mufidelity(score, x, relevance, cells, subsets, baseline, spearman=False):
    """One input: for each subset of cells, the map's sum over it and the score drop when
    it is set to the baseline; their Pearson (or Spearman) correlation."""
    sums, drops = [], []
    for chosen in subsets:
        inside = np.isin(cells, np.flatnonzero(chosen))
        sums.append(relevance[inside].sum())
        drops.append(score(x) - score(np.where(inside[..., None], baseline, x)))
    sums, drops = np.array(sums), np.array(drops)
    if spearman:
        sums, drops = plain_ranks(sums), plain_ranks(drops)
    return np.corrcoef(sums, drops)[0, 1]


def subsets_of(metric, spatial):
    features = metric.features(spatial)
    return metric.subsets(features.count).numpy(), features


@pytest.mark.parametrize("shape", SHAPES)
def test_the_exact_map_of_a_linear_model_scores_one(shape):
    model, w = linear_model(shape)
    x = inputs_for(shape)
    exact = (w * x).sum(-1)
    got = metrics.mufidelity(model, x, exact, targets=0, grid=2, samples=30)
    np.testing.assert_allclose(got, 1.0, atol=1e-5)
    assert got.shape == (3,)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("correlation", ["pearson", "spearman"])
def test_matches_the_plain_definition(shape, correlation):
    model, w = linear_model(shape, activation="softmax")
    x = 0.3 * inputs_for(shape)
    maps = np.random.default_rng(2).normal(size=x.shape[:-1]).astype(np.float32)
    options = dict(grid=3, subset=0.3, samples=25, seed=4, correlation=correlation)
    got = metrics.mufidelity(model, x, maps, targets=1, baseline=0.5, **options)
    subsets, _ = subsets_of(MuFidelity(**options), shape[:-1])
    cells = grid_cells(shape[:-1], (3,) * (len(shape) - 1))

    def probability(copy):
        z = float((w * copy).sum(dtype=np.float64))
        return 1.0 / (1.0 + np.exp(2 * z))  # softmax([z, -z])[1]

    want = [plain_mufidelity(probability, x[i], maps[i], cells, subsets, 0.5, correlation == "spearman")
            for i in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


def test_subsets_fixed_size_or_bernoulli_and_seeded():
    fixed, features = subsets_of(MuFidelity(grid=9, subset=0.2, samples=200), (12, 12))
    assert features.count == 81 and fixed.shape == (200, 81)
    assert np.all(fixed.sum(axis=1) == 16)  # round(0.2 * 81)
    assert len({row.tobytes() for row in fixed}) == 200
    again, _ = subsets_of(MuFidelity(grid=9, subset=0.2, samples=200), (12, 12))
    np.testing.assert_array_equal(fixed, again)
    other, _ = subsets_of(MuFidelity(grid=9, subset=0.2, samples=200, seed=1), (12, 12))
    assert not np.array_equal(fixed, other)
    bernoulli, _ = subsets_of(MuFidelity(grid=9, subset=0.2, samples=200, sampling="bernoulli"), (12, 12))
    assert len(set(bernoulli.sum(axis=1))) > 1 and abs(bernoulli.mean() - 0.2) < 0.02
    pixels, features = subsets_of(MuFidelity(grid=None, subset=0.5, samples=3), (5,))
    assert features.count == 5 and np.all(pixels.sum(axis=1) == 2)  # round(2.5) = 2


def test_grid_cells_are_even_splits():
    features = Features((5, 7), (2, 3))
    np.testing.assert_array_equal(features.ids.reshape(5, 7), grid_cells((5, 7), (2, 3)))


@pytest.mark.parametrize("batch_size", [1, 7, 64])
def test_batch_size_does_not_change_the_scores_and_targets_share_the_subsets(batch_size):
    model, w = linear_model((6, 5, 2), activation="softmax")
    x = inputs_for((6, 5, 2), n=4)
    maps = np.random.default_rng(3).normal(size=(4, 2, 6, 5))
    targets = np.array([[0, 1]] * 4)
    reference = metrics.mufidelity(model, x, maps, targets, samples=20, grid=3, batch_size=64)
    got = metrics.mufidelity(model, x, maps, targets, samples=20, grid=3, batch_size=batch_size)
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-6)
    for t in (0, 1):
        alone = metrics.mufidelity(model, x, maps[:, t], targets=t, samples=20, grid=3)
        np.testing.assert_allclose(got[:, t], alone, rtol=1e-5, atol=1e-6)


def test_a_constant_map_has_no_correlation():
    model, _ = linear_model((6, 5, 2))
    x = inputs_for((6, 5, 2))
    got = metrics.mufidelity(model, x, np.ones((3, 6, 5)), targets=0, grid=(3, 5), samples=10)  # equal cells
    assert np.all(np.isnan(got))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(subset=1.0), ValueError, r"subset must be in \(0.0, 1.0\)"),
        (dict(samples=1), ValueError, "samples must be an int >= 2"),
        (dict(sampling="uniform"), ValueError, "sampling must be one of 'fixed', 'bernoulli'"),
        (dict(correlation="kendall"), ValueError, "correlation must be one of"),
        (dict(grid=7), ValueError, "grid must have at most"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(nb_samples=3), TypeError, "nb_samples"),
    ],
)
def test_errors_name_the_argument(kwargs, error, message):
    model, _ = linear_model((6, 5, 2))
    x = inputs_for((6, 5, 2))
    with pytest.raises(error, match=message):
        metrics.mufidelity(model, x, x[..., 0], targets=0, **kwargs)

"""Energy-based pointing game, relevance mass accuracy and relevance rank accuracy
against their definitions written plainly (one map at a time, explicit loops) and
hand-counted numbers."""
import numpy as np
import pytest

from eli5_keras import metrics


def plain_share(relevance_map, mask):
    inside = total = 0.0
    for value, on in zip(relevance_map.ravel(), mask.ravel()):
        total += value
        inside += value if on else 0.0
    return inside / total


def plain_rank_accuracy(relevance_map, mask):
    flat, on = relevance_map.ravel(), mask.ravel().astype(bool)
    k = int(on.sum())
    order = sorted(range(flat.size), key=lambda i: (-flat[i], i))
    return sum(on[i] for i in order[:k]) / k


def random_case(shape, seed=0):
    rng = np.random.default_rng(seed)
    maps = rng.normal(size=shape)
    masks = rng.uniform(size=shape) < 0.3
    masks.reshape(len(masks), -1)[:, 0] = True
    return maps, masks


@pytest.mark.parametrize("shape", [(3, 10), (3, 5, 6), (3, 3, 4, 5)])
def test_match_the_plain_definitions_on_every_rank(shape):
    maps, masks = random_case(shape)
    positive = np.maximum(maps, 0)
    want_mass = [plain_share(positive[i], masks[i]) for i in range(3)]
    np.testing.assert_allclose(metrics.energy_pointing_game(maps, masks), want_mass)
    np.testing.assert_allclose(metrics.relevance_mass_accuracy(maps, masks), want_mass)
    np.testing.assert_allclose(
        metrics.relevance_mass_accuracy(maps, masks, absolute=True),
        [plain_share(np.abs(maps[i]), masks[i]) for i in range(3)],
    )
    np.testing.assert_allclose(
        metrics.relevance_rank_accuracy(maps, masks), [plain_rank_accuracy(maps[i], masks[i]) for i in range(3)]
    )


def test_hand_counted_numbers():
    maps = np.array([[[4.0, 1.0], [-2.0, 3.0]]])
    masks = np.array([[[1, 0], [0, 1]]])
    assert metrics.energy_pointing_game(maps, masks)[0] == pytest.approx(7 / 8)
    assert metrics.relevance_mass_accuracy(maps, masks, absolute=True)[0] == pytest.approx(7 / 10)
    assert metrics.relevance_rank_accuracy(maps, masks)[0] == 1.0  # top 2 are 4 and 3, both inside
    shifted = np.array([[[1, 1], [0, 0]]])
    assert metrics.relevance_rank_accuracy(maps, shifted)[0] == 0.5
    ties = np.ones((1, 2, 2))
    assert metrics.relevance_rank_accuracy(ties, shifted)[0] == 1.0  # ties: C order, the first row


def test_per_target_maps_share_the_mask():
    maps, masks = random_case((4, 5, 6), seed=1)
    stacked = np.stack([maps, -maps, 2 * maps], axis=1)
    for metric in (metrics.energy_pointing_game, metrics.relevance_mass_accuracy, metrics.relevance_rank_accuracy):
        got = metric(stacked, masks)
        assert got.shape == (4, 3)
        for t in range(3):
            np.testing.assert_allclose(got[:, t], metric(stacked[:, t], masks))


def test_bounds_and_no_positive_energy():
    maps, masks = random_case((20, 8, 8), seed=2)
    for metric in (metrics.energy_pointing_game, metrics.relevance_rank_accuracy):
        got = metric(maps, masks)
        assert np.all((got >= 0) & (got <= 1))
    assert np.all(metrics.energy_pointing_game(np.ones((2, 8, 8)), np.ones((2, 8, 8))) == 1.0)
    assert np.isnan(metrics.energy_pointing_game(-np.ones((1, 3, 3)), np.ones((1, 3, 3)))).all()


@pytest.mark.parametrize(
    "maps, masks, message",
    [
        (np.zeros((2, 4, 4)), np.ones((2, 4, 5)), r"maps \(2, 4, 4\) and masks \(2, 4, 5\)"),
        (np.zeros((2, 3, 4, 4)), np.ones((2, 4, 5)), "masks"),
        (np.zeros(4), np.ones(4), "at least one spatial axis"),
        (np.full((1, 2, 2), np.nan), np.ones((1, 2, 2)), "NaN"),
        (np.zeros((2, 2, 2)), np.stack([np.ones((2, 2)), np.zeros((2, 2))]), r"examples \[1\] are empty"),
        (np.zeros((1, 2), dtype=object), np.ones((1, 2)), "numeric"),
    ],
)
def test_errors(maps, masks, message):
    for metric in (metrics.energy_pointing_game, metrics.relevance_mass_accuracy, metrics.relevance_rank_accuracy):
        with pytest.raises(ValueError, match=message):
            metric(maps, masks)
    with pytest.raises(TypeError, match="absolute"):
        metrics.relevance_mass_accuracy(np.ones((1, 2)), np.ones((1, 2)), absolute="yes")

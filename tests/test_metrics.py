"""The pointing game against hand-counted hits."""
import numpy as np
import pytest

from eli5_keras.metrics import pointing_game, pointing_hits


def masks_top_left(n, shape=(4, 4)):
    masks = np.zeros((n,) + shape, bool)
    masks[:, :2, :2] = True
    return masks


def test_counts_maps_whose_maximum_is_inside_the_mask():
    maps = np.zeros((4, 4, 4), np.float32)
    maps[0, 1, 1] = 1.0  # inside
    maps[1, 3, 3] = 1.0  # outside
    maps[2, 0, 1] = 0.5  # inside
    maps[2, 2, 2] = 0.4
    maps[3, 2, 0] = 0.9  # outside, although the mask holds the second highest value
    maps[3, 0, 0] = 0.8
    masks = masks_top_left(4)
    np.testing.assert_array_equal(pointing_hits(maps, masks), [True, False, True, False])
    assert pointing_game(maps, masks) == 0.5


def test_ties_go_to_the_first_maximum_and_masks_may_be_integers():
    maps = np.ones((1, 4, 4))  # all tied: argmax is (0, 0), inside
    assert pointing_game(maps, masks_top_left(1).astype(np.uint8)) == 1.0
    flipped = masks_top_left(1)[:, ::-1, ::-1]  # bottom-right: (0, 0) is outside
    assert pointing_game(maps, flipped) == 0.0


def test_any_number_of_spatial_axes():
    maps = np.zeros((3, 2, 3, 4))
    masks = np.zeros((3, 2, 3, 4), bool)
    maps[0, 1, 2, 3] = masks[0, 1, 2, 3] = True
    maps[1, 0, 0, 1] = 1
    masks[1, 1, 1, 1] = True
    maps[2, 1, 0, 0] = masks[2, 1, 0, 0] = 1
    assert pointing_game(maps, masks) == pytest.approx(2 / 3)
    signals = np.array([[0.1, 0.9, 0.2], [0.7, 0.1, 0.0]])
    assert pointing_game(signals, np.array([[0, 1, 0], [0, 1, 1]])) == 0.5


@pytest.mark.parametrize(
    "maps, masks, message",
    [
        (np.zeros((2, 4, 4)), np.ones((2, 4, 5), bool), r"same shape .*\(2, 4, 4\).*\(2, 4, 5\)"),
        (np.zeros((2, 4, 4)), np.ones((3, 4, 4), bool), "same shape"),
        (np.zeros(4), np.ones(4, bool), "at least one spatial axis"),
        (np.full((1, 2, 2), np.nan), np.ones((1, 2, 2), bool), "NaN"),
        (np.zeros((2, 2, 2)), np.stack([np.ones((2, 2)), np.zeros((2, 2))]).astype(bool), r"examples \[1\] are empty"),
        (np.zeros((0, 2, 2)), np.zeros((0, 2, 2), bool), "at least one map"),
    ],
)
def test_clear_errors(maps, masks, message):
    with pytest.raises(ValueError, match=message):
        pointing_game(maps, masks)

"""The demo's scene generator: seeded, balanced, and masks that are the objects."""
import numpy as np
import pytest

from eli5_keras.demo.scenes import CLASS_NAMES, CROSS_ARM_WIDTH, RADIUS_RANGE, SIZE, make_scenes, shape_mask


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(40, seed=7)


def test_shapes_types_and_balance(scenes):
    images, labels, masks = scenes
    assert images.shape == (40, SIZE, SIZE, 3) and images.dtype == np.float32
    assert labels.shape == (40,) and masks.shape == (40, SIZE, SIZE) and masks.dtype == bool
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(labels, minlength=len(CLASS_NAMES)), [10, 10, 10, 10])


def test_same_seed_same_scenes_other_seed_other_scenes(scenes):
    again = make_scenes(40, seed=7)
    for a, b in zip(scenes, again):
        np.testing.assert_array_equal(a, b)
    other = make_scenes(40, seed=8)
    assert not np.array_equal(scenes[0], other[0])
    assert not np.array_equal(scenes[2], other[2])


def test_masks_cover_exactly_one_flat_coloured_object(scenes):
    images, _, masks = scenes
    low, high = RADIUS_RANGE
    for image, mask in zip(images, masks):
        inside = image[mask]
        # The target is drawn last in one colour: every mask pixel has it.
        np.testing.assert_allclose(inside, np.broadcast_to(inside[0], inside.shape), atol=1e-6)
        assert low**2 <= mask.sum() <= np.pi * high**2 + 4 * high
        # Nothing of it lies outside the mask: its 4-neighbours outside differ in colour.
        ring = np.zeros_like(mask)
        ring[1:] |= mask[:-1]
        ring[:-1] |= mask[1:]
        ring[:, 1:] |= mask[:, :-1]
        ring[:, :-1] |= mask[:, 1:]
        ring &= ~mask
        distance = np.linalg.norm(image[ring] - inside[0], axis=1)
        assert np.mean(distance > 0.05) > 0.9


def test_shape_masks_have_the_geometric_areas():
    r = 20.0
    expected = {
        "circle": np.pi * r**2,
        "square": 2 * r**2,
        "triangle": 3 * np.sqrt(3) / 4 * r**2,
        "cross": 2 * (2 * r) * (2 * CROSS_ARM_WIDTH * r) - (2 * CROSS_ARM_WIDTH * r) ** 2,
    }
    for name, area in expected.items():
        mask = shape_mask(name, 32.0, 32.0, r, angle=0.3)
        assert mask.sum() == pytest.approx(area, rel=0.05), name
    assert shape_mask("circle", 10.0, 50.0, 3.0)[10, 50]
    assert not shape_mask("circle", 10.0, 50.0, 3.0)[20, 50]


def test_bad_count_is_refused():
    with pytest.raises(ValueError, match="n must be an int >= 0; got -1"):
        make_scenes(-1)


def test_scene_values_become_bytes_as_a_png_stores_them():
    from eli5_keras.demo.scenes import to_bytes

    image = np.array([[[0.0, 0.5, 1.0], [1.2, -0.1, 0.002]]], np.float32)
    np.testing.assert_array_equal(to_bytes(image), [[[0, 128, 255], [255, 0, 1]]])

"""The demo page's image helpers."""
import numpy as np

from eli5_keras.demo.page import mask_outline, to_bytes


def test_outline_is_the_masks_border_pixels():
    mask = np.zeros((7, 7), bool)
    mask[1:6, 1:6] = True
    outline = mask_outline(mask)
    assert outline.sum() == 16  # the 5x5 square's border
    assert not outline[2:5, 2:5].any() and outline[1, 1:6].all() and outline[1:6, 5].all()
    edge = np.ones((3, 3), bool)  # touching the image border counts as border
    assert mask_outline(edge).sum() == 8


def test_scene_values_become_bytes_as_a_png_stores_them():
    image = np.array([[[0.0, 0.5, 1.0], [1.2, -0.1, 0.002]]], np.float32)
    np.testing.assert_array_equal(to_bytes(image), [[[0, 128, 255], [255, 0, 1]]])

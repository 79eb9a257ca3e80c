"""Ground-truth outlines drawn on inputs."""
import numpy as np
import pytest
from PIL import Image

from eli5_keras.formatters.outline import OUTLINE_COLOURS, mask_outline, outlined


def test_outline_is_the_masks_border_pixels():
    mask = np.zeros((7, 7), bool)
    mask[1:6, 1:6] = True
    outline = mask_outline(mask)
    assert outline.sum() == 16  # the 5x5 square's border
    assert not outline[2:5, 2:5].any() and outline[1, 1:6].all() and outline[1:6, 5].all()
    edge = np.ones((3, 3), bool)  # touching the image border counts as border
    assert mask_outline(edge).sum() == 8


def test_outlined_draws_the_border_in_the_colour_farthest_from_the_region():
    pixels = np.full((6, 8, 3), 250, np.uint8)  # near-white region: drawn in black
    mask = np.zeros((6, 8), bool)
    mask[1:5, 2:6] = True
    drawn = np.asarray(outlined(Image.fromarray(pixels), mask))
    np.testing.assert_array_equal(drawn[mask_outline(mask)], np.zeros((12, 3)))
    np.testing.assert_array_equal(drawn[~mask_outline(mask)], pixels[~mask_outline(mask)])
    grey = outlined(Image.fromarray(pixels[:, :, 0]), np.zeros((6, 8), bool))  # empty mask: unchanged, as RGB
    assert grey.mode == "RGB" and (np.asarray(grey) == 250).all()
    assert (OUTLINE_COLOURS == [255, 0, 255]).all(axis=1).any()


def test_outlined_needs_the_images_size():
    with pytest.raises(ValueError, match=r"mask must have the image's shape \(6, 8\); got \(8, 6\)"):
        outlined(Image.new("RGB", (8, 6)), np.zeros((8, 6), bool))

"""Tests for eli5_keras.utils.images."""
import numpy as np
import pytest
from PIL import Image

from eli5_keras.utils.images import array_to_image, is_image_array


@pytest.mark.parametrize(
    "shape, mode",
    [
        ((4, 5), "L"),
        ((4, 5, 1), "L"),
        ((4, 5, 3), "RGB"),
        ((4, 5, 4), "RGBA"),
    ],
)
def test_array_to_image_mode_and_size(shape, mode):
    array = np.arange(np.prod(shape), dtype=float).reshape(shape)
    image = array_to_image(array)
    assert isinstance(image, Image.Image)
    assert image.mode == mode
    assert image.size == (5, 4)  # (width, height)


def test_array_to_image_scales_min_to_0_and_max_to_255():
    array = np.array([[0, 2], [4, 8]])
    # (x - 0) / 8 * 255 = 0, 63.75, 127.5, 255, truncated to uint8
    expected = np.array([[0, 63], [127, 255]], dtype=np.uint8)
    for dtype in (np.int64, np.uint8, np.float32, np.float64):
        np.testing.assert_array_equal(np.asarray(array_to_image(array.astype(dtype))), expected)


def test_array_to_image_scaling_shifts_by_min():
    array = np.array([[-1.0, 0.0], [1.0, 3.0]])
    # (x + 1) / 4 * 255 = 0, 63.75, 127.5, 255
    expected = np.array([[0, 63], [127, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(array_to_image(array)), expected)


def test_array_to_image_scales_all_channels_together():
    array = np.zeros((1, 2, 3))
    array[0, 0] = [0.0, 0.5, 1.0]
    array[0, 1] = [2.0, 2.0, 2.0]
    expected = np.array([[[0, 63, 127], [255, 255, 255]]], dtype=np.uint8)  # 255 * x / 2, truncated
    image = array_to_image(array)
    assert image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), expected)


@pytest.mark.parametrize("shape", [(3, 3), (3, 3, 1), (3, 3, 3), (3, 3, 4)])
@pytest.mark.parametrize("value", [0.0, 7.0, -2.5, 255.0])
def test_array_to_image_constant_gives_zeros(shape, value):
    pixels = np.asarray(array_to_image(np.full(shape, value)))
    assert pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels, np.zeros(pixels.shape, dtype=np.uint8))


def test_array_to_image_without_scaling_clips():
    array = np.array([[-10.0, 0.0], [100.7, 300.0]])
    expected = np.array([[0, 0], [100, 255]], dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(array_to_image(array, scale=False)), expected)


def test_array_to_image_without_scaling_keeps_bytes():
    array = np.random.default_rng(0).integers(0, 256, size=(4, 3, 3), dtype=np.uint8)
    for dtype in (np.uint8, np.int64, np.float32):
        image = array_to_image(array.astype(dtype), scale=False)
        np.testing.assert_array_equal(np.asarray(image), array)


def test_array_to_image_does_not_modify_input():
    array = np.array([[1.0, 2.0], [3.0, 5.0]])
    before = array.copy()
    array_to_image(array)
    array_to_image(array, scale=False)
    np.testing.assert_array_equal(array, before)


def test_array_to_image_accepts_lists():
    image = array_to_image([[0, 1], [1, 0]])
    np.testing.assert_array_equal(np.asarray(image), [[0, 255], [255, 0]])


@pytest.mark.parametrize(
    "shape",
    [(5,), (1, 5, 5, 3), (5, 5, 2), (5, 5, 5), (0, 5), (5, 0, 3), ()],
)
def test_array_to_image_invalid_shape(shape):
    with pytest.raises(ValueError, match=r"array.*" + r"\(" + ",? ?".join(str(s) for s in shape)):
        array_to_image(np.zeros(shape))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_array_to_image_non_finite(bad):
    array = np.zeros((2, 2))
    array[0, 1] = bad
    with pytest.raises(ValueError, match="array"):
        array_to_image(array)


def test_array_to_image_non_numeric():
    with pytest.raises(TypeError, match="array"):
        array_to_image(np.array([["a", "b"], ["c", "d"]]))


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((4, 5), True),
        ((4, 5, 1), True),
        ((4, 5, 3), True),
        ((4, 5, 4), True),
        ([4, 5, 3], True),
        ((4, 5, 2), False),
        ((4, 5, 5), False),
        ((5,), False),
        ((), False),
        ((1, 4, 5, 3), False),
        ((0, 5), False),
        ((4, 0, 3), False),
    ],
)
def test_is_image_array(shape, expected):
    assert is_image_array(shape) is expected

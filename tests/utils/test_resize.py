"""Rank-generic linear resizing and per-map min-max normalisation."""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.utils.resize import (
    EPSILON,
    constant_maps,
    interpolation_matrix,
    minmax_normalize,
    resize_array,
    resize_linear,
)
from helpers.reference import minmax


def numpy_linear_axis(x, out, axis):
    """Linear resize of one axis: half-pixel centres, source clamped to the edges."""
    n = x.shape[axis]
    src = np.clip((np.arange(out) + 0.5) * n / out - 0.5, 0, n - 1)
    low = np.floor(src).astype(int)
    high = np.minimum(low + 1, n - 1)
    frac = src - low
    x = np.moveaxis(x, axis, -1)
    y = x[..., low] * (1 - frac) + x[..., high] * frac
    return np.moveaxis(y, -1, axis)


def numpy_resize(x, size, first_axis):
    for i, out in enumerate(size):
        x = numpy_linear_axis(x, out, first_axis + i)
    return x


def test_numpy_reference_is_sane():
    # halfway samples of [0, 10] upsampled x2: 0, 2.5, 7.5, 10 (edges clamped)
    np.testing.assert_allclose(numpy_linear_axis(np.array([0.0, 10.0]), 4, 0), [0, 2.5, 7.5, 10])


@pytest.mark.parametrize("src, dst", [((5, 7), (12, 16)), ((12, 16), (5, 7)), ((6, 6), (13, 9)), ((3, 4), (3, 4))])
def test_2d_equals_tf_image_resize_bilinear(src, dst):
    x = np.random.default_rng(0).normal(size=(2, 3) + src).astype(np.float32)
    got = resize_linear(tf.constant(x), dst, first_axis=2).numpy()
    flat = x.reshape((6,) + src + (1,))
    expected = tf.image.resize(flat, dst, method="bilinear").numpy().reshape((2, 3) + dst)
    assert got.shape == (2, 3) + dst
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_2d_channels_last_layout():
    x = np.random.default_rng(1).normal(size=(1, 4, 5, 2)).astype(np.float32)
    got = resize_linear(tf.constant(x), (9, 3), first_axis=1).numpy()
    expected = tf.image.resize(x, (9, 3), method="bilinear").numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("src, dst", [(7, 20), (20, 7), (6, 6), (1, 5)])
def test_1d_equals_numpy_interpolation(src, dst):
    x = np.random.default_rng(2).normal(size=(2, 1, src))
    got = resize_linear(tf.constant(x, tf.float32), (dst,), first_axis=2).numpy()
    np.testing.assert_allclose(got, numpy_resize(x, (dst,), 2), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("src, dst", [((3, 4, 5), (6, 8, 7)), ((8, 6, 4), (3, 5, 4))])
def test_3d_equals_numpy_interpolation(src, dst):
    x = np.random.default_rng(3).normal(size=(1, 2) + src)
    got = resize_linear(tf.constant(x, tf.float32), dst, first_axis=2).numpy()
    assert got.shape == (1, 2) + dst
    np.testing.assert_allclose(got, numpy_resize(x, dst, 2), rtol=1e-5, atol=1e-5)


def test_dynamic_sizes_in_a_tf_function():
    @tf.function(input_signature=[tf.TensorSpec((None, None, None, None)), tf.TensorSpec((2,), tf.int32)])
    def fn(x, size):
        return resize_linear(x, [size[0], size[1]], first_axis=2)

    x = np.random.default_rng(4).normal(size=(1, 1, 4, 6)).astype(np.float32)
    np.testing.assert_allclose(fn(x, [7, 3]).numpy(), numpy_resize(x, (7, 3), 2), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fn(x, [2, 11]).numpy(), numpy_resize(x, (2, 11), 2), rtol=1e-5, atol=1e-5)
    assert fn.experimental_get_tracing_count() == 1


def test_interpolation_matrix():
    w = interpolation_matrix(2, 4).numpy()
    np.testing.assert_allclose(w, [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]])
    w = interpolation_matrix(7, 3).numpy()
    np.testing.assert_allclose(w.sum(axis=1), np.ones(3), rtol=1e-6)
    np.testing.assert_allclose(interpolation_matrix(5, 5).numpy(), np.eye(5))


def test_minmax_normalize_per_map():
    maps = np.array(
        [[[[0.0, 2.0], [4.0, 8.0]], [[-1.0, 1.0], [1.0, 3.0]]], [[[5.0, 5.0], [5.0, 5.0]], [[0.0, 0.0], [0.0, 1e-3]]]],
        np.float32,
    )  # (N=2, T=2, 2, 2)
    got = minmax_normalize(tf.constant(maps), first_axis=2).numpy()
    np.testing.assert_allclose(got, minmax(maps), rtol=1e-6, atol=0)
    np.testing.assert_allclose(got[0, 0], [[0, 0.25], [0.5, 1.0]], atol=1e-6)
    np.testing.assert_array_equal(got[1, 0], np.zeros((2, 2)))  # constant map
    assert got[1, 1].max() == 1.0
    assert EPSILON == 1e-7


def test_minmax_normalize_axes():
    maps = np.arange(12, dtype=np.float32).reshape(2, 6)
    got = minmax_normalize(tf.constant(maps), first_axis=1).numpy()
    expected = (maps - maps.min(1, keepdims=True)) / (maps.max(1, keepdims=True) - maps.min(1, keepdims=True))
    np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("scale", [1e-12, 1e-30, 1.0, 1e30])
def test_minmax_normalize_reaches_one_at_any_scale(scale):
    # an absolute epsilon (max - min + 1e-7) left a map of 1e-12 peaking at 1e-5
    maps = (np.random.default_rng(4).random((2, 3, 5, 4)) * scale).astype(np.float32)
    got = minmax_normalize(tf.constant(maps), first_axis=2).numpy()
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got.max(axis=(2, 3)), np.ones((2, 3)))
    np.testing.assert_array_equal(got.min(axis=(2, 3)), np.zeros((2, 3)))
    np.testing.assert_allclose(got, minmax(maps), rtol=1e-6, atol=1e-7)


def test_constant_maps_are_flagged_and_normalised_to_zero():
    maps = np.zeros((2, 3, 4, 4), np.float32)
    maps[0, 1] = 7.0  # constant, not zero
    maps[1, 0, 2, 3] = 1e-20  # tiny but not constant
    maps[1, 2] = 1.0
    maps[1, 2, 0, 0] = 1.0 + 2e-7  # two float32 steps above 1: resolved, not constant
    flags = constant_maps(tf.constant(maps), first_axis=2).numpy()
    np.testing.assert_array_equal(flags, [[True, True, True], [False, True, False]])
    got = minmax_normalize(tf.constant(maps), first_axis=2).numpy()
    np.testing.assert_array_equal(got[flags], 0.0)
    np.testing.assert_array_equal(got[~flags].max(axis=(1, 2)), [1.0, 1.0])


def test_resize_array_is_the_numpy_face_of_resize_linear():
    volume = np.random.default_rng(3).random((3, 2, 4))
    resized = resize_array(volume, (6, 5, 4))
    assert resized.shape == (6, 5, 4) and resized.dtype == np.float32
    np.testing.assert_allclose(resized, numpy_resize(volume, (6, 5, 4), 0), atol=1e-6)
    assert resize_array(volume, volume.shape) is volume
    with pytest.raises(ValueError, match=r"shape must have 3 sizes"):
        resize_array(volume, (6, 5))


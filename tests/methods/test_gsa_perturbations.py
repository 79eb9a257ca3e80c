"""The global-sensitivity methods' perturbations against numpy: the box blur (OpenCV's
``blur``, mirrored border) on 1-D, 2-D and 3-D inputs, axes shorter than the window
included, and the grid cells against ``tf.image.resize(..., "nearest")``."""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.methods.gsa_perturbations import baseline, box_blur, cell_indices, perturb, upsample_nearest

from helpers.gsa import box_blur as plain_box_blur, nearest_cells, perturbed


@pytest.mark.parametrize("shape", [(2, 16, 2), (1, 3, 1), (1, 12, 7, 3), (1, 6, 2, 5, 1)])
def test_box_blur_is_opencv_blur(shape):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    got = box_blur(tf.constant(x), len(shape) - 2, 10).numpy()
    np.testing.assert_allclose(got, plain_box_blur(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("size, cells", [(12, 8), (7, 8), (224, 8), (13, 5), (100, 7)])
def test_cells_are_tf_nearest_resize(size, cells):
    grid = np.arange(cells * cells, dtype=np.float32).reshape(1, cells, cells, 1)
    expected = tf.image.resize(grid, (size, size), "nearest").numpy()[0, ..., 0]
    index = cell_indices([size, size], [cells, cells])
    np.testing.assert_array_equal(upsample_nearest(tf.constant(grid[..., 0]), index, 1).numpy()[0], expected)
    np.testing.assert_array_equal(index[0].numpy(), nearest_cells(size, cells))


@pytest.mark.parametrize("kind", ["inpainting", "blurring", "amplitude"])
def test_perturbations(kind):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 12, 11, 3)).astype(np.float32)
    masks = rng.uniform(size=(3, 12, 11)).astype(np.float32)
    got = perturb(kind, tf.constant(x), tf.constant(masks[None]), baseline(kind, tf.constant(x), 2)).numpy()
    expected = np.stack([perturbed(x, m, kind) for m in masks], axis=1)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

"""The shared feature seam (``segments=``): labels, masks, feature means, errors, and
the driver's per-chunk side data (labels computed before the graph, sliced per chunk)."""
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras
from eli5_keras.methods.base import MethodOutput
from eli5_keras.methods.segments import (
    SegmentedMethod,
    consecutive,
    feature_masks,
    feature_means,
    grid_labels,
    present,
    resolve,
)


def test_grid_labels_are_nearest_upsampled_cells_row_major():
    labels = grid_labels((6, 4), (3, 2))
    rows = np.floor((np.arange(6) + 0.5) * 3 / 6).astype(int)
    cols = np.floor((np.arange(4) + 0.5) * 2 / 4).astype(int)
    np.testing.assert_array_equal(labels, rows[:, None] * 2 + cols[None, :])
    # not divisible: every cell is used, sizes differ by at most one position
    odd = grid_labels((7,), 3)
    np.testing.assert_array_equal(odd, [0, 0, 1, 1, 1, 2, 2])
    # equal to TensorFlow's nearest resize of the cell index grid
    cells = tf.reshape(tf.range(15, dtype=tf.float32), (1, 3, 5, 1))
    nearest = tf.image.resize(cells, (10, 11), method="nearest")[0, ..., 0].numpy()
    np.testing.assert_array_equal(grid_labels((10, 11), (3, 5)), nearest)
    # 3-D and one feature per position
    assert len(np.unique(grid_labels((4, 4, 4), 2))) == 8
    np.testing.assert_array_equal(grid_labels((5,), None), np.arange(5))


def test_consecutive_renumbers_per_input():
    raw = np.array([[[7, 7], [3, 9]], [[0, 1], [1, 0]]])
    labels, counts = consecutive(raw)
    np.testing.assert_array_equal(labels, [[[1, 1], [0, 2]], [[0, 1], [1, 0]]])
    np.testing.assert_array_equal(counts, [3, 2])
    assert labels.dtype == np.int32 and counts.dtype == np.int32


def test_resolved_labels_for_each_kind():
    x = np.random.default_rng(0).uniform(size=(3, 4, 6, 2)).astype(np.float32)
    labels, counts = resolve(None, grid=2).labels(x, 2)
    np.testing.assert_array_equal(labels, np.broadcast_to(grid_labels((4, 6), 2), (3, 4, 6)))
    np.testing.assert_array_equal(counts, [4, 4, 4])
    one = np.arange(24).reshape(4, 6) // 5
    labels, counts = resolve(one).labels(x, 2)
    np.testing.assert_array_equal(labels[2], one)
    np.testing.assert_array_equal(counts, [5, 5, 5])
    per_input = np.stack([np.zeros((4, 6), int), one, one % 2])
    labels, counts = resolve(per_input).labels(x[1:], 2, start=1, total=3)
    np.testing.assert_array_equal(counts, [5, 2])
    np.testing.assert_array_equal(labels[1], one % 2)
    labels, counts = resolve(lambda xi: (xi[..., 0] > 0.5).astype(int) * 10).labels(x, 2)
    np.testing.assert_array_equal(labels, (x[..., 0] > 0.5).astype(int))


def test_feature_masks_gather_and_present():
    labels = np.array([[0, 1, 1, 2], [1, 0, 0, 0]], np.int32)  # input 1 has K=2 of K_max=3
    z = np.array([[[1, 0, 1], [0, 1, 0]], [[1, 0, 1], [0, 1, 1]]], np.float32)
    masks = feature_masks(tf.constant(z), tf.constant(labels)).numpy()
    expected = np.stack([z[i][:, labels[i]] for i in range(2)])
    np.testing.assert_array_equal(masks, expected)
    np.testing.assert_array_equal(present(tf.constant([3, 2]), 3).numpy(), [[True] * 3, [True, True, False]])


def test_feature_means_is_limes_fudged_image():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(2, 5, 5, 3)).astype(np.float32)
    labels, counts = consecutive(rng.integers(0, 4, size=(2, 5, 5)))
    out = feature_means(tf.constant(x), tf.constant(labels), int(counts.max())).numpy()
    for i in range(2):
        fudged = x[i].copy()
        for k in np.unique(labels[i]):  # lime_image.explain_instance, hide_color=None
            fudged[labels[i] == k] = [np.mean(x[i][labels[i] == k][:, c]) for c in range(3)]
        np.testing.assert_allclose(out[i], fudged, rtol=1e-6)


def test_quickshift_is_the_lime_default():
    from lime.wrappers.scikit_image import SegmentationAlgorithm

    x = np.random.default_rng(2).uniform(size=(1, 16, 16, 3))
    labels, counts = resolve("quickshift").labels(x, 2)
    lime = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2, random_seed=0)(x[0])
    np.testing.assert_array_equal(labels[0], consecutive(lime[None])[0][0])
    labels, counts = resolve("slic").labels(np.random.default_rng(2).uniform(size=(1, 6, 6, 6, 1)), 3)
    assert labels.shape == (1, 6, 6, 6) and counts[0] >= 1


def test_bad_segments():
    with pytest.raises(TypeError, match="segments must be None"):
        resolve(3.5)
    with pytest.raises(TypeError, match="int array"):
        resolve(np.zeros((4, 4), np.float32))
    with pytest.raises(ValueError, match="segments must be one of"):
        resolve("watershed")
    with pytest.raises(ValueError, match="returned dtype"):
        resolve(lambda xi: xi[..., 0]).labels(np.zeros((1, 3, 3, 1), np.float32), 2)
    with pytest.raises(ValueError, match="labels for 2 inputs"):
        resolve(np.zeros((2, 3, 3), int)).labels(np.zeros((1, 3, 3, 1)), 2, total=3)
    with pytest.raises(ValueError, match="spatial shape"):
        resolve(np.zeros((4, 3), int)).check((3, 3), 1)
    with pytest.raises(ValueError, match="at most as many cells"):
        resolve(None, grid=5).check((4, 4), 1)
    with pytest.raises(ValueError, match="quickshift"):
        resolve("quickshift").check((8,), 2)


def test_missing_scikit_image_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage.segmentation", None)
    with pytest.raises(ImportError, match=r"eli5-keras\[superpixels\]"):
        resolve("slic").check((8, 8), 3)


class FeatureLabels(SegmentedMethod):
    """Test method: the map is the chunk's feature labels, the score each input's K_i."""

    name = "test_feature_labels"
    title = summary = "labels"
    uses_layer = False
    per_target_work = False

    def __init__(self, segments=None, grid=2):
        self.segments = resolve(segments, grid)

    def expansion(self, context):
        return 4  # chunks of batch_size // 4 inputs

    def compute(self, context, inputs, data, block, side):
        labels, counts = side
        fwd = context.probe.forward(inputs, data)
        maps = tf.cast(labels, tf.float32)[:, None]
        return MethodOutput(maps, fwd.labels, tf.cast(counts, tf.float32)[:, None])


def test_driver_slices_per_input_segments_per_chunk():
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    x = np.random.default_rng(3).uniform(size=(5, 4, 4, 1)).astype(np.float32)
    per_input = np.stack([np.arange(16).reshape(4, 4) % (i + 2) for i in range(5)])
    method = FeatureLabels(per_input)
    result = eli5_keras.explain(model, x, method=method, batch_size=8, relu=False, normalize=False)  # chunks of 2
    np.testing.assert_array_equal(result.maps[:, 0], per_input)
    np.testing.assert_array_equal(result.scores[:, 0], [2, 3, 4, 5, 6])
    with pytest.raises(ValueError, match="labels for 5 inputs"):
        eli5_keras.explain(model, x[:3], method=method, relu=False, normalize=False)


def test_explainers_are_cached_per_segmentation_content():
    """Two label arrays with the same shape (and the same truncated repr) never share an
    explainer: the cache key holds a digest of the labels."""
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
    x = np.zeros((1, 4, 4, 1), np.float32)
    first = np.zeros((4, 4), int)
    second = first.copy()
    second[3, 3] = 1
    for labels in (first, second, first):
        result = eli5_keras.explain(model, x, method=FeatureLabels(labels), relu=False, normalize=False)
        np.testing.assert_array_equal(result.maps[0, 0], labels)

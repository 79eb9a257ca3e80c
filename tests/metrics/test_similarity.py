"""SSIM and Spearman rank correlation against their formulas written plainly (one pair,
one window at a time), and SSIM against tf.image.ssim."""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.metrics import spearman, spearman_abs, ssim

from helpers.metrics import plain_spearman, plain_ssim_2d


def pairs(shape, seed=0, noise=0.7):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=shape)
    return a, a + noise * rng.normal(size=shape)


@pytest.mark.parametrize("shape", [(3, 14, 17), (2, 5, 8)])
def test_ssim_is_the_plain_formula(shape):
    a, b = pairs(shape)
    size = min(11, min(shape[1:]))
    size -= 1 - size % 2  # the window shrinks to the smallest side, made odd
    want = [plain_ssim_2d(a[i], b[i], size) for i in range(len(a))]
    np.testing.assert_allclose(ssim(a, b), want, rtol=1e-10)


def test_ssim_is_tensorflows_on_images():
    a, b = pairs((3, 16, 20), seed=1)
    for i, value in enumerate(ssim(a, b)):
        span = max(a[i].max(), b[i].max()) - min(a[i].min(), b[i].min())
        want = tf.image.ssim(tf.constant(a[i][..., None]), tf.constant(b[i][..., None]), max_val=span)
        assert value == pytest.approx(float(want), rel=1e-5)


def test_ssim_on_any_rank_is_one_for_equal_maps_and_separable():
    for shape in [(2, 30), (2, 12, 13), (2, 11, 12, 13)]:
        a, b = pairs(shape, seed=2)
        np.testing.assert_allclose(ssim(a, a), 1.0)
        assert np.all(ssim(a, b) < 1.0)
    flat = np.full((1, 12, 12), 3.0)
    np.testing.assert_allclose(ssim(flat, flat), 1.0)
    # a 3-D map constant along its last axis scores as its 2-D slice (the window is separable)
    a, b = pairs((2, 13, 14), seed=3)
    deep_a, deep_b = np.repeat(a[..., None], 11, -1), np.repeat(b[..., None], 11, -1)
    np.testing.assert_allclose(ssim(deep_a, deep_b), ssim(a, b), rtol=1e-10)


def test_spearman_is_the_plain_rank_correlation_with_ties():
    a, b = pairs((4, 6, 5), seed=4)
    a = np.round(a, 0)  # ties
    np.testing.assert_allclose(spearman(a, b), [plain_spearman(a[i], b[i]) for i in range(4)], rtol=1e-12)
    np.testing.assert_allclose(spearman_abs(a, b), [plain_spearman(abs(a[i]), abs(b[i])) for i in range(4)],
                               rtol=1e-12)
    np.testing.assert_allclose(spearman(a, np.exp(a)), 1.0)
    assert np.isnan(spearman(np.ones((1, 6, 5)), a[:1])[0])

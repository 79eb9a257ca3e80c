"""LIME's engine options (kernels in input space, per-channel hidden values, a user
regressor, Bernoulli probability, the original sample, Shapley sampling) against the
formulas written in numpy and fitted with scikit-learn on the same samples."""
import numpy as np
import pytest
import tensorflow as tf
from sklearn.linear_model import Lasso, LinearRegression, Ridge

import eli5_keras as eli5
from eli5_keras.methods.lime import Lime, sampled_design
from eli5_keras.methods.segments import grid_labels

from helpers.data import images
from helpers.models import token_model

LABELS = grid_labels((12, 12), 3)  # 9 features
K = 9
HIDE = (0.5, -0.25, 0.1)


def design(samples=60, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (samples, K))


def numpy_weights(kernel, width, x, copies, z):
    diff = (copies - x[None]).reshape(len(z), -1).astype(np.float64)
    if kernel == "euclidean":
        return np.exp(-(diff ** 2).sum(-1) / width ** 2)
    if kernel == "cosine":
        a, b = x.reshape(-1).astype(np.float64), copies.reshape(len(z), -1).astype(np.float64)
        cos = b @ a / (np.linalg.norm(a) * np.linalg.norm(b, axis=-1))
        return np.exp(-(1 - cos) ** 2 / width ** 2)
    if kernel == "lime":
        return np.sqrt(np.exp(-(1 - np.sqrt(z.sum(-1) / K)) ** 2 / width ** 2))
    return np.ones(len(z))


def numpy_lime(model, x, z, hide, kernel, width, estimator, target):
    """The samples' copies ``x`` where kept, ``hide`` (per channel) elsewhere; the model's
    scores; weights; ``estimator`` fitted with them: (coef (K,), intercept)."""
    masks = z[:, LABELS][..., None].astype(np.float32)
    copies = x[None] * masks + (1 - masks) * np.asarray(hide, np.float32)
    y = np.asarray(model(copies))[:, target].astype(np.float64)
    w = numpy_weights(kernel, width, x, copies, z)
    estimator.fit(z.astype(np.float64), y, sample_weight=w)
    return estimator.coef_, estimator.intercept_


@pytest.mark.parametrize("kernel, alpha, reference", [
    ("euclidean", 2.0, Ridge(alpha=2.0)), ("cosine", 1.0, Ridge(alpha=1.0)), ("lime", 0.5, Ridge(alpha=0.5)),
    ("uniform", 0.0, LinearRegression()),
])
def test_kernels_and_ridge_equal_scikit_learn_on_the_same_samples(seq_model, kernel, alpha, reference):
    x, z, width = images(2, seed=20), design(), 3.0
    result = eli5.explain(seq_model, x, method="lime", segments=LABELS, design=z, kernel=kernel, kernel_width=width,
                          alpha=alpha, hide_value=HIDE, targets=[2], batch_size=25, relu=False, normalize=False)
    for i in range(2):
        coef, intercept = numpy_lime(seq_model, x[i], z, HIDE, kernel, width, reference, 2)
        np.testing.assert_allclose(result.maps[i, 0], coef[LABELS], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(result.extras["intercept"][i, 0], intercept, rtol=1e-4, atol=1e-6)


def test_callable_kernel_is_called_per_input_on_the_copies(seq_model):
    x, z = images(2, seed=21), design(40, seed=1)

    def kernel(xi, zi, copies):  # Xplique's similarity_kernel signature: one input at a time
        assert xi.shape.rank == 3 and zi.dtype == tf.int32 and copies.shape.rank == 4
        d = tf.norm(tf.reshape(copies - xi[None], [tf.shape(zi)[0], -1]), axis=1)
        return tf.exp(-(d ** 2) / 4.0 ** 2)

    common = dict(segments=LABELS, design=z, hide_value=HIDE, targets=[1], relu=False, normalize=False)
    got = eli5.explain(seq_model, x, method="lime", kernel=kernel, batch_size=16, **common)
    expected = eli5.explain(seq_model, x, method="lime", kernel="euclidean", kernel_width=4.0, **common)
    np.testing.assert_allclose(got.maps, expected.maps, rtol=1e-5, atol=1e-7)


def test_user_regressor_is_fitted_on_a_copy(seq_model):
    x, z = images(2, seed=22), design(50, seed=2)
    regressor = Lasso(alpha=1e-5)
    result = eli5.explain(seq_model, x, method="lime", segments=LABELS, design=z, kernel="euclidean", kernel_width=5.0,
                          hide_value=0.0, regressor=regressor, targets=np.array([[0, 3], [0, 3]]), batch_size=20,
                          relu=False, normalize=False)
    assert not hasattr(regressor, "coef_")  # the user's object is left unfitted
    for i in range(2):
        for t, target in enumerate((0, 3)):
            coef, intercept = numpy_lime(seq_model, x[i], z, 0.0, "euclidean", 5.0, Lasso(alpha=1e-5), target)
            np.testing.assert_allclose(result.maps[i, t], coef[LABELS], rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(result.extras["intercept"][i, t], intercept, rtol=1e-4, atol=1e-6)
    assert np.all(result.extras["r2"] <= 1.0) and np.count_nonzero(result.maps) > result.maps.size // 2


def test_sampled_designs(seq_model):
    counts, rows = tf.constant([K, 4]), tf.range(4000)
    z = sampled_design(0, rows, counts, K, prob=0.3, original_sample=False).numpy()
    assert z.shape == (2, 4000, K) and set(np.unique(z)) == {0.0, 1.0}
    assert abs(z[0].mean() - 0.3) < 0.01 and not z[1, :, 4:].any()  # padded features stay 0
    assert not z[0, 0].all() and sampled_design(0, rows[:1], counts, K).numpy()[0, 0].all()  # z_0 = 1 by default
    shapley = sampled_design(0, rows, counts, K, sampling="shapley").numpy()[0, 1:]
    sizes = shapley.sum(-1).astype(int)
    assert sizes.min() >= 1 and sizes.max() <= K - 1
    p = 1 / (np.arange(1, K) * (K - np.arange(1, K)))
    np.testing.assert_allclose(np.bincount(sizes, minlength=K)[1:] / len(sizes), p / p.sum(), atol=0.02)
    # a call's samples are these rows: the same maps as the design given explicitly
    x = images(1, seed=23)
    common = dict(segments=LABELS, kernel="uniform", alpha=0.0, hide_value=0.0, relu=False, normalize=False)
    sampled = eli5.explain(seq_model, x, method="lime", samples=30, prob=0.3, original_sample=False, seed=5,
                           sampling="shapley", batch_size=7, **common)
    drawn = sampled_design(5, tf.range(30), tf.constant([K]), K, 0.3, "shapley", False).numpy()[0]
    given = eli5.explain(seq_model, x, method="lime", design=drawn, **common)
    np.testing.assert_allclose(sampled.maps, given.maps, rtol=1e-6, atol=1e-8)


def test_bad_options(seq_model):
    with pytest.raises(ValueError, match="kernel must be one of 'lime', 'euclidean', 'cosine', 'uniform'; got 'l2'"):
        Lime(kernel="l2")
    with pytest.raises(ValueError, match=r"prob must be in \[0.0, 1.0\]; got 1.5"):
        Lime(prob=1.5)
    with pytest.raises(ValueError, match="sampling must be one of"):
        Lime(sampling="kernel")
    with pytest.raises(TypeError, match="regressor must be a scikit-learn-style regressor"):
        Lime(regressor=object())
    with pytest.raises(ValueError, match="with a regressor every feature is fitted"):
        Lime(regressor=Ridge(), num_features=3)
    with pytest.raises(ValueError, match="hide_value has 2 values .one per channel. but input 0 has 3 channels"):
        eli5.explain(seq_model, images(1), method="lime", hide_value=(0.0, 1.0), samples=10)
    with pytest.raises(ValueError, match="kernel='euclidean' measures distances between inputs"):
        eli5.explain(token_model(), np.zeros((1, 8), np.int32), method="lime", kernel="euclidean", samples=10)


def test_weights_that_all_underflow_fall_back_to_equal_weights(seq_model):
    # every sample hides something and exp(-d^2 / 1e-3^2) underflows: Xplique's uniform fallback
    x, z = images(1, seed=24), design(30, seed=3)
    z[z.sum(-1) == K, 0] = 0
    common = dict(segments=LABELS, design=z, hide_value=0.0, targets=[1], relu=False, normalize=False)
    uniform = eli5.explain(seq_model, x, method="lime", kernel="uniform", **common)
    for extra in ({}, {"regressor": Ridge(alpha=1.0)}):
        tiny = eli5.explain(seq_model, x, method="lime", kernel="euclidean", kernel_width=1e-3, **common, **extra)
        np.testing.assert_allclose(tiny.maps, uniform.maps, rtol=1e-5, atol=1e-8)
    assert np.abs(uniform.maps).max() > 0

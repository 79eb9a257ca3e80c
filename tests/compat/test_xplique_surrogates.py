"""Xplique's ``Lime`` and ``KernelShap`` facades against Xplique 2.0.2's formulas written
plainly (numpy + scikit-learn) on the samples the engine drew (``sampled_design``, the
same seeded rows the call used) or that a ``pertub_func`` gave.

Xplique's conventions restated: per input, ``z_j`` (no all-ones row), copies
``x ⊙ M_j + (1 − M_j) ref_value`` (``ref_value`` 0.5 per channel on RGB), scores
``sum(f(x_j) * y)``, weights ``exp(−||x − x_j||² / kernel_width²)`` (``"cosine"``:
``d = 1 − keras' cosine_similarity = 1 + cos``), ``interpretable_model.fit(z, y,
sample_weight=w).coef_`` painted on the features, ``(N, H, W, 1)``. KernelShap: sizes from
the Shapley kernel, weights 1, ``LinearRegression``.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.linear_model import Lasso, LinearRegression, Ridge

from eli5_keras.compat import xplique as xq
from eli5_keras.compat.xplique import surrogates
from eli5_keras.methods.lime import sampled_design
from eli5_keras.methods.segments import grid_labels

from helpers.data import NUM_CLASSES, images
from helpers.models import conv_classifier

L = keras.layers
LABELS = grid_labels((12, 12), 3)  # 9 features, labels 0..8 as Xplique's maps give them
K = 9
TOL = dict(rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def model():
    return conv_classifier(7, "xq_surrogate_model", (12, 12, 3), lambda: [
        L.Conv2D(4, 3, padding="same", activation="relu"), L.GlobalAveragePooling2D(),
        L.Dense(NUM_CLASSES, activation="softmax"),
    ])


def grid_map(x):
    """A ``map_to_interpret_space`` as Xplique calls it: a tf.Tensor in, labels out."""
    assert isinstance(x, tf.Tensor) and x.shape == (12, 12, 3)
    return tf.constant(LABELS, tf.int32)


def one_hot(classes):
    return np.eye(NUM_CLASSES, dtype=np.float32)[classes]


def drawn(samples, sampling="bernoulli", prob=0.5, seed=0, k=K):
    """The rows a facade call drew (Xplique: no all-ones row)."""
    return sampled_design(seed, tf.range(samples), tf.constant([k]), k, prob, sampling, False).numpy()[0]


def xplique_formula(model, x, y, z, labels, ref, weights, estimator):
    """Xplique's ``Lime.explain`` for one input, in numpy: (H, W, 1)."""
    masks = z[:, labels][..., None].astype(np.float32)
    copies = x[None] * masks + (1 - masks) * np.asarray(ref, np.float32)
    scores = (np.asarray(model(copies)) * y).sum(-1)
    flat = (copies - x[None]).reshape(len(z), -1).astype(np.float64)
    estimator.fit(z, scores, sample_weight=weights(flat, copies.reshape(len(z), -1), x.reshape(-1)))
    return estimator.coef_[labels][..., None]


def euclidean(width):
    return lambda diff, copies, x: np.exp(-(diff ** 2).sum(-1) / width ** 2)


def test_lime_default_formula_on_the_drawn_samples(model):
    x, y = images(2, seed=30), one_hot([1, 3])
    got = xq.Lime(model, map_to_interpret_space=grid_map, nb_samples=40, kernel_width=4.0, batch_size=16).explain(x, y)
    assert isinstance(got, tf.Tensor) and got.shape == (2, 12, 12, 1)
    z = drawn(40)
    for i in range(2):
        expected = xplique_formula(model, x[i], y[i], z, LABELS, (0.5, 0.5, 0.5), euclidean(4.0), Ridge(alpha=2))
        np.testing.assert_allclose(got.numpy()[i], expected, **TOL)


def test_lime_cosine_prob_ref_value_and_default_map(model):
    x, y = images(1, seed=31), one_hot([2])
    ref = np.array([0.1, -0.2, 0.3], np.float32)
    got = xq.Lime(model, nb_samples=30, distance_mode="cosine", kernel_width=0.5, prob=0.7, ref_value=ref,
                  interpretable_model=Ridge(alpha=0.5)).explain(x, y).numpy()[0]
    from skimage.segmentation import quickshift

    labels = quickshift(x[0].astype(np.float64), ratio=0.5, kernel_size=2)  # Xplique's RGB map
    k = int(labels.max()) + 1
    assert k > 2

    def cosine(diff, copies, xi):  # Xplique's: 1 - keras cosine_similarity, i.e. 1 + cos
        cos = copies.astype(np.float64) @ xi / (np.linalg.norm(copies, axis=-1) * np.linalg.norm(xi))
        return np.exp(-(1 + cos) ** 2 / 0.5 ** 2)

    expected = xplique_formula(model, x[0], y[0], drawn(30, prob=0.7, k=k), labels, ref, cosine, Ridge(alpha=0.5))
    np.testing.assert_allclose(got, expected, **TOL)


def test_kernelshap_formula_and_linear_invariant(model):
    x, y = images(2, seed=32), one_hot([0, 4])
    got = xq.KernelShap(model, map_to_interpret_space=grid_map, nb_samples=50).explain(x, y).numpy()
    z = drawn(50, sampling="shapley")
    assert 1 <= z.sum(-1).min() and z.sum(-1).max() <= K - 1
    ones = lambda diff, copies, xi: np.ones(len(diff))  # noqa: E731
    for i in range(2):
        expected = xplique_formula(model, x[i], y[i], z, LABELS, (0.5,) * 3, ones, LinearRegression())
        np.testing.assert_allclose(got[i], expected, rtol=1e-4, atol=1e-6)
    # invariant: a linear model is linear in z, so the fit recovers each feature's contribution exactly
    keras.utils.set_random_seed(3)
    linear = keras.Sequential([keras.Input((12, 12, 3)), L.Flatten(), L.Dense(2)])
    w = linear.layers[-1].kernel.numpy()[:, 1].reshape(12, 12, 3)
    maps = xq.KernelShap(linear, map_to_interpret_space=grid_map, nb_samples=60, ref_value=np.zeros(3)).explain(
        x, np.eye(2, dtype=np.float32)[[1, 1]]).numpy()[..., 0]
    for i in range(2):
        contribution = (x[i] * w).sum(-1)
        per_feature = np.array([contribution[LABELS == j].sum() for j in range(K)])
        np.testing.assert_allclose(maps[i], per_feature[LABELS], rtol=1e-4, atol=1e-5)


def test_user_pertub_func_kernel_and_interpretable_model(model):
    x, y = images(2, seed=33), one_hot([3, 1])
    design = np.random.default_rng(4).integers(0, 2, (25, K)).astype(np.int32)
    calls = []

    def pertub_func(num_features, nb_samples):
        calls.append((num_features.numpy().tolist(), nb_samples))
        return tf.constant(design)

    def similarity_kernel(original_input, interp_samples, perturbed_samples):
        return tf.ones(tf.shape(interp_samples)[0])

    regressor = Lasso(alpha=1e-5)
    got = xq.Lime(model, map_to_interpret_space=grid_map, nb_samples=25, pertub_func=pertub_func,
                  similarity_kernel=similarity_kernel, interpretable_model=regressor).explain(x, y).numpy()
    assert calls == [([K], 25), ([K], 25)] and not hasattr(regressor, "coef_")
    ones = lambda diff, copies, xi: np.ones(len(diff))  # noqa: E731
    for i in range(2):
        expected = xplique_formula(model, x[i], y[i], design, LABELS, (0.5,) * 3, ones, Lasso(alpha=1e-5))
        np.testing.assert_allclose(got[i], expected, **TOL)


def test_operator_dataset_and_default_targets(model):
    x = images(3, seed=34)
    top = one_hot(model(x).numpy().argmax(-1))
    explainer = xq.Lime(model, map_to_interpret_space=grid_map, nb_samples=20, batch_size=7)
    expected = explainer.explain(x, top).numpy()
    np.testing.assert_allclose(explainer(x).numpy(), expected, **TOL)
    for ds in (tf.data.Dataset.from_tensor_slices((x, top)), tf.data.Dataset.from_tensor_slices((x, top)).batch(2)):
        np.testing.assert_allclose(explainer.explain(ds).numpy(), expected, **TOL)

    def doubled(f, inputs, targets):
        return 2.0 * tf.reduce_sum(f(inputs) * targets, axis=-1)

    twice = xq.Lime(model, map_to_interpret_space=grid_map, nb_samples=20, operator=doubled).explain(x, top).numpy()
    np.testing.assert_allclose(twice, 2 * expected, rtol=1e-4, atol=1e-6)  # the ridge is linear in y


def test_defaults_per_channel_count_and_bad_arguments(model):
    # Xplique's shape-dependent defaults: quickshift and grey 0.5 on RGB, felzenszwalb and 0 on one channel
    rgb = xq.Lime(model).engine_options(images(1))
    grey = xq.KernelShap(model).engine_options(np.zeros((1, 12, 12, 1), np.float32))
    assert rgb["segments"] is surrogates._xplique_quickshift and rgb["hide_value"] == (0.5, 0.5, 0.5)
    assert grey["segments"] is surrogates._xplique_felzenszwalb and grey["hide_value"] == 0.0
    assert (rgb["alpha"], rgb["kernel"], rgb["kernel_width"], rgb["samples"]) == (2.0, "euclidean", 45.0, 150)
    assert (grey["alpha"], grey["kernel"], grey["sampling"], grey["samples"]) == (0.0, "uniform", "shapley", 800)
    # Ridge / LinearRegression with an intercept run as the engine's least squares; anything else is fitted
    assert surrogates.surrogate_options(Ridge(alpha=3.0, solver="svd")) == {"alpha": 3.0}
    assert surrogates.surrogate_options(LinearRegression()) == {"alpha": 0.0}
    assert set(surrogates.surrogate_options(LinearRegression(fit_intercept=False))) == {"regressor"}
    assert set(surrogates.surrogate_options(Ridge(alpha=1.0, positive=True))) == {"regressor"}
    with pytest.raises(ValueError, match="distance_mode must be one of 'euclidean', 'cosine'; got 'l1'"):
        xq.Lime(model, distance_mode="l1")
    with pytest.raises(ValueError, match="interpretable_model must have fit and predict"):
        xq.Lime(model, interpretable_model=object())
    with pytest.raises(ValueError, match="nb_samples must be an int >= 2"):
        xq.KernelShap(model, nb_samples=1)
    with pytest.raises(ValueError, match="kernel_width must be in"):
        xq.Lime(model, kernel_width=0.0)
    with pytest.raises(ValueError, match=r"ref_value must have shape \(C,\) = \(3,\); got \(2,\)"):
        xq.Lime(model, ref_value=np.zeros(2)).explain(images(1))
    with pytest.raises(ValueError, match="with 1 or 3 channels; the inputs have 2: pass map_to_interpret_space"):
        xq.Lime(model).explain(np.zeros((1, 12, 12, 2), np.float32), one_hot([0]))

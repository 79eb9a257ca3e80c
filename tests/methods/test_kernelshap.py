"""KernelSHAP against Shapley values enumerated by hand, against shap's KernelExplainer
(enumerated, and sampled with shap's own coalitions and weights injected), efficiency,
linear models on every rank (sampled), its coalition-size law, seeding and the bound."""
import itertools
import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.methods.kernelshap import KernelSHAP, kernel_sizes
from eli5_keras.methods.segments import grid_labels

from helpers.checks import check_in_flight_bound
from helpers.data import images, signals, volumes
from helpers.models import token_model
from test_lime import linear_model, per_feature


def masked(x, labels, z, hidden):
    """x (*S, C) with features where z == 0 taken from ``hidden``."""
    keep = np.asarray(z)[labels][..., None] > 0
    return np.where(keep, x, hidden)


def brute_force_shapley(f, k):
    """phi_i = sum over S without i of |S|! (K - |S| - 1)! / K! (v(S + i) - v(S));
    ``f`` maps coalitions (B, K) to values (B, ...) in one call."""
    subsets = [s for r in range(k + 1) for s in itertools.combinations(range(k), r)]
    values = f(np.stack([np.isin(np.arange(k), s).astype(float) for s in subsets]))
    value = dict(zip(subsets, values))
    phi = np.zeros((k,) + np.shape(value[()]))
    for i in range(k):
        for s, v in value.items():
            if i in s:
                continue
            with_i = tuple(sorted(s + (i,)))
            phi[i] += math.factorial(len(s)) * math.factorial(k - len(s) - 1) / math.factorial(k) * (value[with_i] - v)
    return phi


@pytest.mark.parametrize("baseline", [0.0, "mean"])
def test_exact_shapley_values_and_efficiency(seq_model, baseline):
    x = images(2, seed=21)
    labels = grid_labels((12, 12), 2)  # 4 features: 14 proper coalitions, enumerated
    result = eli5.explain(seq_model, x, method="kernelshap", grid=2, baseline=baseline, top_k=2)
    for i in range(2):
        if baseline == "mean":
            hidden = np.stack([x[i][labels == j].mean(axis=0) for j in range(4)])[labels]
        else:
            hidden = np.zeros_like(x[i])
        def probs(z):
            return seq_model.predict(np.stack([masked(x[i], labels, row, hidden) for row in z]), verbose=0)

        phi = brute_force_shapley(probs, 4)[:, result.targets[i]].T  # (T, K)
        values = per_feature(result.maps[i], labels)
        np.testing.assert_allclose(values, phi, atol=1e-5)
        # efficiency: the values add up to f(x) - f(baseline)
        np.testing.assert_allclose(values.sum(axis=1), result.scores[i] - result.extras["base_value"][i], atol=1e-5)
        np.testing.assert_allclose(result.extras["base_value"][i], probs(np.zeros((1, 4)))[0, result.targets[i]], atol=1e-6)


def shap_setup(model, x, labels, k, column):
    import shap

    def f(z):
        return model.predict(np.stack([masked(x, labels, row, 0.0) for row in z]), verbose=0)[:, column]

    return shap.KernelExplainer(f, np.zeros((1, k)))


def test_enumerated_equals_shap(seq_model):
    x = images(1, seed=22)
    labels = grid_labels((12, 12), (2, 3))  # 6 features: shap enumerates 62 coalitions
    explainer = shap_setup(seq_model, x[0], labels, 6, column=2)
    expected = explainer.shap_values(np.ones((1, 6)), nsamples=62, l1_reg=False, silent=True)[0]
    result = eli5.explain(seq_model, x, method="kernelshap", grid=(2, 3), targets=[2], samples=62)
    np.testing.assert_allclose(per_feature(result.maps[0], labels)[0], expected, atol=1e-5)


def test_sampled_with_shaps_coalitions_equals_shap(seq_model):
    x = images(1, seed=23)
    labels = grid_labels((12, 12), 4)  # 16 features, 200 of 65534 coalitions
    explainer = shap_setup(seq_model, x[0], labels, 16, column=1)
    np.random.seed(0)
    expected = explainer.shap_values(np.ones((1, 16)), nsamples=200, l1_reg=False, silent=True)[0]
    design, weights = explainer.maskMatrix.copy(), explainer.kernelWeights.copy()
    assert len(design) < 65534
    result = eli5.explain(seq_model, x, method="kernelshap", grid=4, targets=[1], design=design,
                          design_weights=weights)
    np.testing.assert_allclose(per_feature(result.maps[0], labels)[0], expected, atol=1e-4)


@pytest.mark.parametrize(
    "shape,inputs,grid",
    [((12, 12, 3), lambda: images(2, seed=1), 6), ((16, 2), lambda: signals(2, seed=2), 16),
     ((6, 6, 6, 1), lambda: volumes(2, seed=3), (3, 2, 3))],
    ids=["2d", "1d", "3d"],
)
def test_linear_model_sampled_coalitions_recover_contributions(shape, inputs, grid):
    """More features than 2048 samples enumerate: the sampled regression of a linear
    model is still exact (phi_k = (w . x)_k with a 0 baseline)."""
    model, w, _ = linear_model(shape, seed=len(shape) + 10)
    x = inputs()
    result = eli5.explain(model, x, method="kernelshap", grid=grid, samples=300, targets=[0])
    labels = grid_labels(shape[:-1], grid)
    assert labels.max() + 1 > 11  # not enumerable in 300 samples
    for i in range(2):
        contribution = (x[i] * w[:, 0].reshape(shape)).sum(axis=-1)
        expected = np.array([contribution[labels == k].sum() for k in range(labels.max() + 1)])
        np.testing.assert_allclose(per_feature(result.maps[i], labels)[0], expected, atol=1e-4)


def test_coalition_sizes_follow_the_shapley_kernel():
    k = 10
    u = (np.arange(20000) + 0.5) / 20000
    sizes = kernel_sizes(tf.constant([k, 4]), tf.constant(k), tf.constant(u, tf.float64)).numpy()
    for features, row in zip((k, 4), sizes):
        s = np.arange(1, features)
        p = 1.0 / (s * (features - s))
        p /= p.sum()
        counts = np.bincount(row, minlength=features)[1:features] / len(u)
        np.testing.assert_allclose(counts, p, atol=1e-3)
        assert row.min() >= 1 and row.max() <= features - 1


def test_same_seed_same_maps_whatever_the_batch_size(seq_model):
    x = images(3, seed=25)
    one = eli5.explain(seq_model, x, method="kernelshap", grid=4, samples=60, seed=3, batch_size=7)
    two = eli5.explain(seq_model, x, method="kernelshap", grid=4, samples=60, seed=3, batch_size=300)
    np.testing.assert_allclose(one.maps, two.maps, atol=1e-6)
    other = eli5.explain(seq_model, x, method="kernelshap", grid=4, samples=60, seed=4)
    assert not np.allclose(one.maps, other.maps)


def test_masked_copies_in_flight_are_bounded_by_batch_size(seq_model):
    check_in_flight_bound(seq_model, images(2, seed=8), KernelSHAP(samples=40, grid=4), 16, 16, column=1)


def test_tokens_exact():
    model = token_model(length=6, vocabulary=10, seed=6)
    docs = np.array([[3, 1, 4, 1, 5, 9]], np.int32)
    result = eli5.explain(model, docs, method="kernelshap", targets=[1])  # 6 tokens: enumerated

    def v(z):
        return model.predict(np.where(z > 0, docs[0], 0), verbose=0)[:, 1]

    np.testing.assert_allclose(result.maps[0, 0], brute_force_shapley(v, 6), atol=1e-5)


def test_bad_options():
    with pytest.raises(ValueError, match="design_weights needs design"):
        KernelSHAP(design_weights=[1.0])
    with pytest.raises(ValueError, match="design_weights must be 2 finite"):
        KernelSHAP(design=np.eye(2), design_weights=[1.0, -1.0])
    with pytest.raises(TypeError, match="baseline must be a finite number"):
        KernelSHAP(baseline=True)
    with pytest.raises(ValueError, match=r"baseline must be a number or one number per channel \(C,\); got shape \(1, 1\)"):
        KernelSHAP(baseline=[[0.0]])
    with pytest.raises(ValueError, match="design has 3 columns"):
        model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(2)])
        eli5.explain(model, np.zeros((1, 4, 4, 1), np.float32), method="kernelshap", grid=2, design=np.eye(3))

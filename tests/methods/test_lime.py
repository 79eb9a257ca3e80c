"""LIME against the ``lime`` package on the same segmentation and samples, against a
linear model whose coefficients are known, its views, seeding, the batch-size bound,
and 1-D / 3-D / token inputs."""
import keras
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras.compat.text import text_explanations
from eli5_keras.methods.lime import Lime
from eli5_keras.methods.segments import grid_labels

from helpers.checks import check_in_flight_bound
from helpers.data import images, signals, volumes
from helpers.models import token_model

RAW = dict(relu=False, normalize=False)


def per_feature(maps, labels):
    """(T, *S) maps that are constant per feature -> (T, K) values (checking the constancy)."""
    k = labels.max() + 1
    values = np.stack([maps[:, labels == j][:, 0] for j in range(k)], axis=1)
    np.testing.assert_array_equal(maps, values[:, labels])
    return values


@pytest.mark.parametrize("options", [dict(), dict(num_features=5, feature_selection="highest_weights")])
def test_coefficients_equal_the_lime_package(seq_model, options):
    from lime.lime_image import LimeImageExplainer

    x = images(1, seed=11)
    labels = grid_labels(x.shape[1:3], 4)  # 16 features, shared with lime
    k, samples = 16, 300
    design = np.random.RandomState(0).randint(0, 2, samples * k).reshape(samples, k)  # lime's data_labels draw
    design[0, :] = 1
    selection = options.get("feature_selection", "auto")
    explanation = LimeImageExplainer(random_state=0, feature_selection=selection).explain_instance(
        x[0].astype(np.float64), lambda batch: seq_model.predict(batch.astype(np.float32), verbose=0),
        top_labels=2, num_samples=samples, segmentation_fn=lambda image: labels, random_seed=0, batch_size=samples,
        num_features=options.get("num_features", 100000),
    )
    result = eli5.explain(seq_model, x, method="lime", segments=labels, design=design, top_k=2, **options)
    assert list(result.targets[0]) == explanation.top_labels
    values = per_feature(result.maps[0], labels)
    for t, label in enumerate(explanation.top_labels):
        expected = np.zeros(k)
        for feature, weight in explanation.local_exp[label]:
            expected[feature] = weight
        np.testing.assert_allclose(values[t], expected, atol=1e-4)
        np.testing.assert_allclose(result.extras["intercept"][0, t], explanation.intercept[label], atol=1e-4)
    # lime keeps the score of the last label it fits: the top one (it loops in increasing probability)
    np.testing.assert_allclose(result.extras["r2"][0, 0], explanation.score, atol=1e-4)


def linear_model(shape, seed):
    """A linear regression ``f(x) = sum w x + b`` (two outputs) with known weights."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(2)])
    w, b = (v.numpy() for v in model.layers[-1].weights)
    return model, w, b


@pytest.mark.parametrize(
    "shape,inputs,grid",
    [((12, 12, 3), lambda: images(2, seed=1), 3), ((16, 2), lambda: signals(2, seed=2), 4),
     ((6, 6, 6, 1), lambda: volumes(2, seed=3), 2)],
    ids=["2d", "1d", "3d"],
)
def test_linear_model_recovers_its_feature_contributions(shape, inputs, grid):
    """f(x_z) = b + sum_k z_k (w . x)_k is linear in z: unregularised LIME is exact."""
    model, w, _ = linear_model(shape, seed=len(shape))
    x = inputs()
    result = eli5.explain(model, x, method="lime", grid=grid, alpha=0.0, hide_value=0.0, samples=200,
                          targets=[1], batch_size=64)
    labels = grid_labels(shape[:-1], grid)
    for i in range(2):
        contribution = (x[i] * w[:, 1].reshape(shape)).sum(axis=-1)  # (*S)
        expected = np.array([contribution[labels == k].sum() for k in range(labels.max() + 1)])
        np.testing.assert_allclose(per_feature(result.maps[i], labels)[0], expected, atol=1e-4)
        np.testing.assert_allclose(result.extras["r2"][i, 0], 1.0, atol=1e-6)


def test_views_top_features_and_positive_only(seq_model):
    x = images(2, seed=4)
    full = eli5.explain(seq_model, x, method="lime", grid=3, samples=100)
    labels = grid_labels((12, 12), 3)
    top = eli5.explain(seq_model, x, method="lime", grid=3, samples=100, top_features=2)
    pro = eli5.explain(seq_model, x, method="lime", grid=3, samples=100, positive_only=True)
    for i in range(2):
        values = per_feature(full.maps[i], labels)[0]
        kept = np.argsort(-np.abs(values))[:2]
        expected = np.where(np.isin(np.arange(9), kept), values, 0.0)
        np.testing.assert_allclose(per_feature(top.maps[i], labels)[0], expected, atol=1e-7)
        np.testing.assert_allclose(per_feature(pro.maps[i], labels)[0], np.maximum(values, 0), atol=1e-7)
    assert (full.maps < 0).any() and (full.maps > 0).any()  # pro and con


def test_same_seed_same_maps_whatever_the_batch_size(seq_model):
    x = images(3, seed=5)
    one = eli5.explain(seq_model, x, method="lime", grid=3, samples=50, seed=3, batch_size=7)
    two = eli5.explain(seq_model, x, method="lime", grid=3, samples=50, seed=3, batch_size=200)
    np.testing.assert_allclose(one.maps, two.maps, atol=1e-6)
    other = eli5.explain(seq_model, x, method="lime", grid=3, samples=50, seed=4)
    assert not np.allclose(one.maps, other.maps)


def test_masked_copies_in_flight_are_bounded_by_batch_size(seq_model):
    check_in_flight_bound(seq_model, images(2, seed=8), Lime(samples=40, grid=3), 16, 16, column=1)


def test_tokens_and_weighted_spans():
    """One feature per token; a hidden token becomes the padding id 0; on the linear
    bag-of-embeddings model the coefficients are the per-token drops in the score."""
    model = token_model(length=6, vocabulary=10, seed=5)
    docs = np.array([[3, 1, 4, 1, 5, 9]], np.int32)
    result = eli5.explain(model, docs, method="lime", samples=400, targets=[0])
    assert result.maps.shape == (1, 1, 6)
    # the first-order effect of dropping token p: f(x) - f(x with p -> 0), same sign as LIME's coefficient
    probs = model.predict(docs, verbose=0)[0, 0]
    drops = []
    for p in range(6):
        hidden = docs.copy()
        hidden[0, p] = 0
        drops.append(probs - model.predict(hidden, verbose=0)[0, 0])
    strong = np.abs(drops) > 0.01
    np.testing.assert_array_equal(np.sign(result.maps[0, 0][strong]), np.sign(np.array(drops)[strong]))
    explanation = text_explanations(result, tokens=[["a", "b", "c", "b", "d", "e"]])[0]
    spans = explanation.targets[0].weighted_spans.docs_weighted_spans[0].spans
    assert [s[0] for s in spans] == ["a", "b", "c", "b", "d", "e"]
    np.testing.assert_allclose([s[2] for s in spans], result.maps[0, 0], atol=1e-6)


def test_bad_options(seq_model):
    with pytest.raises(TypeError, match="samples must be an int"):
        Lime(samples=2.5)
    with pytest.raises(ValueError, match="feature_selection must be one of"):
        Lime(feature_selection="forward")
    with pytest.raises(ValueError, match="design must be a binary"):
        Lime(design=np.full((3, 4), 0.5))
    with pytest.raises(ValueError, match="needs num_features"):
        Lime(feature_selection="highest_weights")
    with pytest.raises(ValueError, match="hide_value must be one of"):
        Lime(hide_value="median")
    with pytest.raises(ValueError, match="hide_value must be a token id"):
        eli5.explain(token_model(), np.zeros((1, 8), np.int32), method="lime", hide_value=0.5)


def test_wrappers_refuse_feature_methods():
    from eli5_keras.methods import get

    with pytest.raises(ValueError, match="base 'lime' computes its features"):
        get("smoothgrad", base="lime")
    with pytest.raises(ValueError, match="base 'kernelshap' computes its features"):
        get("tta", base=get("kernelshap"))


def test_quickshift_segments_are_limes(seq_model):
    from lime.wrappers.scikit_image import SegmentationAlgorithm

    x = images(1, seed=12) * 0.5 + 0.5
    lime_labels = SegmentationAlgorithm("quickshift", kernel_size=4, max_dist=200, ratio=0.2)(x[0].astype(np.float64))
    by_name = eli5.explain(seq_model, x, method="lime", segments="quickshift", samples=64)
    by_array = eli5.explain(seq_model, x, method="lime", segments=lime_labels, samples=64)
    np.testing.assert_array_equal(by_name.maps, by_array.maps)
    per_feature(by_name.maps[0], lime_labels)  # constant on each of lime's superpixels

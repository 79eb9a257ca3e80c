"""relu=False and counterfactual=True for eli5's gradcam() and image explain_prediction."""
import numpy as np
import pytest

import eli5_keras as eli5
from helpers.data import images
from helpers.reference import plain_eli5_backend
from eli5_keras import explain_prediction, gradcam

EPS = 1e-7


def linear_map(weights, activations):
    return np.tensordot(activations.astype(np.float64), weights.astype(np.float64), axes=([-1], [0]))


@pytest.fixture(scope="module")
def terms():
    rng = np.random.default_rng(0)
    return rng.normal(size=4), rng.normal(size=(5, 6, 4))


def test_relu_is_eli5_by_default(terms):
    weights, activations = terms
    lmap = np.maximum(linear_map(weights, activations), 0)
    np.testing.assert_array_equal(gradcam(weights, activations), lmap / (lmap.max() + EPS))
    np.testing.assert_array_equal(gradcam(weights, activations, relu=True), gradcam(weights, activations))


def test_signed_map_is_scaled_by_its_largest_magnitude(terms):
    weights, activations = terms
    lmap = linear_map(weights, activations)
    signed = gradcam(weights, activations, relu=False)
    np.testing.assert_allclose(signed, lmap / (np.abs(lmap).max() + EPS))
    assert signed.min() < 0 < signed.max() and np.abs(signed).max() < 1
    np.testing.assert_array_equal(gradcam(np.zeros(4), activations, relu=False), 0.0)


def test_counterfactual_negates_the_weights(terms):
    weights, activations = terms
    np.testing.assert_allclose(gradcam(weights, activations, counterfactual=True), gradcam(-weights, activations))
    np.testing.assert_allclose(
        gradcam(weights, activations, relu=False, counterfactual=True), -gradcam(weights, activations, relu=False)
    )


def test_image_explanation_relu_false(seq_model, seq_parts):
    features, _, probs = seq_parts
    x = images(1, seed=9)
    weights, acts, _, idx, _ = plain_eli5_backend(features, probs, x, target=3)
    lmap = linear_map(weights, acts)
    raw = lmap / (np.abs(lmap).max() + EPS)
    expl = explain_prediction(seq_model, x, targets=[3], relu=False)
    (target,) = expl.targets
    assert expl.signed and target.target == idx == 3
    np.testing.assert_allclose(target.raw_heatmap, raw, atol=1e-5)
    low = min(raw.min(), 0.0)
    np.testing.assert_allclose(target.heatmap, (raw - low) / (raw.max() - low + EPS), atol=1e-5)
    assert 0.0 <= target.heatmap.min() and target.heatmap.max() <= 1.0
    # drawable like any image explanation
    assert eli5.format_as_image(expl).size == expl.image.size
    assert eli5.show_prediction(seq_model, x, targets=[3], relu=False).size == expl.image.size


def test_image_explanation_counterfactual(seq_model, seq_parts):
    features, _, probs = seq_parts
    x = images(1, seed=10)
    weights, acts, _, _, score = plain_eli5_backend(features, probs, x, target=1)
    lmap = np.maximum(-linear_map(weights, acts), 0)
    expl = explain_prediction(seq_model, x, targets=[1], counterfactual=True)
    (target,) = expl.targets
    np.testing.assert_allclose(target.heatmap, lmap / (lmap.max() + EPS), atol=1e-5)
    assert target.score == pytest.approx(score, rel=1e-5) and target.raw_heatmap is None and not expl.signed


def test_flags_must_be_bools(seq_model):
    with pytest.raises(TypeError, match="relu must be a bool"):
        explain_prediction(seq_model, images(1), relu=None)
    with pytest.raises(TypeError, match="counterfactual must be a bool"):
        explain_prediction(seq_model, images(1), counterfactual="yes")

"""eli5's explain_prediction for Keras (ported from eli5's tests/test_keras.py) and
its numbers against a plain-TF computation."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import eli5_keras as eli5
from eli5_keras.base import Explanation, TargetExplanation
from eli5_keras.compat.explain_prediction import (
    _get_activation_layer,
    _validate_doc,
    explain_prediction,
    explain_prediction_keras,
)

from helpers.data import SIZE, images
from helpers.reference import plain_eli5_backend

L = keras.layers


def numpy_gradcam(weights, activations):
    lmap = np.maximum(np.tensordot(activations.astype(np.float64), weights, axes=([-1], [0])), 0)
    return lmap / (lmap.max() + 1e-7)


# --------------------------------------------------------------------------
# eli5 ports
# --------------------------------------------------------------------------


def test_get_activation_layer_valid(simple_seq):
    assert _get_activation_layer(simple_seq, -3) is simple_seq.get_layer("layer1")
    assert _get_activation_layer(simple_seq, "layer0") is simple_seq.get_layer("layer0")
    layer2 = simple_seq.get_layer("layer2")
    assert _get_activation_layer(simple_seq, layer2) is layer2
    assert _get_activation_layer(simple_seq, None) is layer2


@pytest.mark.parametrize("layer, error", [("layer3", ValueError), (2.5, TypeError), ("nope", ValueError)])
def test_get_activation_layer_invalid(simple_seq, layer, error):
    with pytest.raises(error):
        _get_activation_layer(simple_seq, layer)


def test_get_activation_layer_rank_message(simple_seq):
    with pytest.raises(ValueError, match="layer3.*rank of the input"):
        _get_activation_layer(simple_seq, "layer3")


def test_get_activation_layer_empty_model():
    with pytest.raises(ValueError):
        _get_activation_layer(keras.Sequential(), None)


def test_get_activation_layer_no_spatial_layer(dense_model):
    with pytest.raises(ValueError, match="Could not find a suitable target layer automatically"):
        _get_activation_layer(dense_model, None)


def test_validate_doc(simple_seq):
    _validate_doc(simple_seq, np.zeros((1, 32, 32, 1)))
    with pytest.raises(ValueError, match="Batch size does not match"):
        _validate_doc(simple_seq, np.zeros((3, 32, 32, 1)))
    with pytest.raises(TypeError):
        _validate_doc(simple_seq, 10)
    with pytest.raises(ValueError):
        _validate_doc(simple_seq, np.zeros((5, 5)))
    with pytest.raises(ValueError):
        _validate_doc(simple_seq, np.zeros((1, 31, 32, 1)))


def test_validate_doc_other_rank():
    model = keras.Sequential([keras.Input((2, 3)), L.Dense(1)])
    _validate_doc(model, np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="Input and doc shapes do not match"):
        _validate_doc(model, np.zeros((5, 3)))


def test_explain_prediction_score_and_no_proba(simple_seq):
    doc = np.random.default_rng(0).uniform(size=(1, 32, 32, 1)).astype(np.float32)
    expl = explain_prediction(simple_seq, doc)
    assert len(expl.targets) == 1
    assert expl.targets[0].score is not None
    assert expl.targets[0].proba is None
    assert expl.layer == "layer2"
    assert expl.targets[0].heatmap.shape == (28, 28)
    # eli5's scaling, as the formatters describe it: ReLU then divided by the maximum
    assert expl.normalization.startswith("ReLU (negative evidence dropped), then divided by the maximum")
    heatmap = expl.targets[0].heatmap
    assert heatmap.min() >= 0 and 0.999 < heatmap.max() < 1
    signed = explain_prediction(simple_seq, doc, relu=False)
    assert signed.normalization.startswith("signed: L / (max|L| + 1e-7)")


@pytest.mark.parametrize("targets, error", [("somestring", TypeError), ((1,), TypeError), ([], TypeError),
                                            (["x"], TypeError), ([True], TypeError), ([20], ValueError)])
def test_explain_prediction_invalid_targets(simple_seq, targets, error):
    with pytest.raises(error):
        explain_prediction(simple_seq, np.zeros((1, 32, 32, 1), np.float32), targets=targets)


# --------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------


def test_heatmap_matches_plain_tf(seq_model, seq_parts):
    features, _, probs = seq_parts
    x = images(1, seed=1)
    weights, acts, _, idx, val = plain_eli5_backend(features, probs, x)
    expl = explain_prediction(seq_model, x)
    assert isinstance(expl, Explanation) and not expl.error
    assert expl.method == "Grad-CAM" and expl.layer == "conv2"
    (target,) = expl.targets
    assert isinstance(target, TargetExplanation)
    assert target.target == idx == int(np.argmax(seq_model(x).numpy()[0]))
    assert target.score == pytest.approx(val, rel=1e-5)
    assert target.proba is None
    assert target.heatmap.shape == (6, 6)
    np.testing.assert_allclose(target.heatmap, numpy_gradcam(weights, acts), rtol=1e-4, atol=1e-5)
    assert target.heatmap.max() > 0.9  # not a degenerate map


def test_several_targets(seq_model, seq_parts):
    features, _, probs = seq_parts
    x = images(1, seed=2)
    expl = explain_prediction(seq_model, x, targets=[4, 0, np.int64(2)])
    assert [t.target for t in expl.targets] == [4, 0, 2]
    out = seq_model(x).numpy()[0]
    for target in expl.targets:
        weights, acts, _, _, _ = plain_eli5_backend(features, probs, x, target.target)
        np.testing.assert_allclose(target.heatmap, numpy_gradcam(weights, acts), rtol=1e-4, atol=1e-5)
        assert target.score == pytest.approx(float(out[target.target]), rel=1e-5)


def test_layer_argument_kinds(seq_model):
    x = images(1, seed=3)
    by_name = explain_prediction(seq_model, x, layer="conv1")
    by_index = explain_prediction(seq_model, x, layer=0)
    by_instance = explain_prediction(seq_model, x, layer=seq_model.get_layer("conv1"))
    assert by_name.layer == by_index.layer == by_instance.layer == "conv1"
    assert by_name.targets[0].heatmap.shape == (SIZE, SIZE)
    np.testing.assert_array_equal(by_name.targets[0].heatmap, by_index.targets[0].heatmap)
    np.testing.assert_array_equal(by_name.targets[0].heatmap, by_instance.targets[0].heatmap)


def test_nested_layer_path(nested_model, nested_parts):
    features, logits = nested_parts
    x = images(1, seed=4)
    weights, acts, _, idx, _ = plain_eli5_backend(features, lambda a: tf.nn.softmax(logits(a)), x)
    expl = explain_prediction(nested_model, x)
    assert expl.layer == "backbone/b_conv2"
    assert expl.targets[0].target == idx
    np.testing.assert_allclose(expl.targets[0].heatmap, numpy_gradcam(weights, acts), rtol=1e-4, atol=1e-5)


def test_image_is_made_from_doc_or_passed_through(seq_model, simple_seq):
    x = images(1, seed=5)
    expl = explain_prediction(seq_model, x)
    assert isinstance(expl.image, Image.Image)
    assert expl.image.size == (SIZE, SIZE) and expl.image.mode == "RGB"
    grey = explain_prediction(simple_seq, np.ones((1, 32, 32, 1), np.float32))
    assert grey.image.mode == "L" and grey.image.size == (32, 32)
    given = Image.new("RGB", (40, 30))
    assert explain_prediction(seq_model, x, image=given).image is given
    with pytest.raises(TypeError, match="PIL"):
        explain_prediction(seq_model, x, image=np.zeros((SIZE, SIZE, 3)))


def test_tensor_doc_is_accepted(seq_model):
    x = images(1, seed=6)
    a = explain_prediction(seq_model, tf.constant(x))
    b = explain_prediction(seq_model, x)
    np.testing.assert_allclose(a.targets[0].heatmap, b.targets[0].heatmap, rtol=1e-6)


def test_not_an_image_model(dense_model):
    expl = explain_prediction(dense_model, np.zeros((1, 10), np.float32))
    assert isinstance(expl, Explanation)
    assert "not supported" in expl.error and "image" in expl.error
    assert expl.targets is None and expl.image is None


def test_image_input_to_a_model_without_image_layers():
    model = keras.Sequential([keras.Input((4, 4, 3)), L.Flatten(), L.Dense(2)])
    expl = explain_prediction(model, np.zeros((1, 4, 4, 3), np.float32))
    assert "not supported" in expl.error


@pytest.mark.parametrize("estimator", ["model", object(), None])
def test_not_a_keras_model(estimator):
    expl = explain_prediction(estimator, np.zeros((1, SIZE, SIZE, 3)))
    assert isinstance(expl, Explanation)
    assert "not supported" in expl.error


def test_explain_prediction_keras_alias():
    assert explain_prediction_keras is explain_prediction
    assert eli5.explain_prediction_keras is eli5.explain_prediction is explain_prediction


def test_subclassed_chain_model():
    class Chain(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = L.Conv2D(3, 3, name="ch_conv")
            self.gap = L.GlobalAveragePooling2D()
            self.dense = L.Dense(4, activation="softmax")

        def call(self, x):
            return self.dense(self.gap(self.conv(x)))

    keras.utils.set_random_seed(7)
    model = Chain()
    x = images(1, seed=7)
    model(x)
    weights, acts, _, idx, val = plain_eli5_backend(
        lambda v: model.conv(tf.convert_to_tensor(v)), lambda a: model.dense(model.gap(a)), x
    )
    expl = explain_prediction(model, x, layer=model.conv)
    assert not expl.error and expl.layer == "ch_conv"
    assert expl.targets[0].target == idx
    assert expl.targets[0].score == pytest.approx(val, rel=1e-5)
    np.testing.assert_allclose(expl.targets[0].heatmap, numpy_gradcam(weights, acts), rtol=1e-4, atol=1e-5)

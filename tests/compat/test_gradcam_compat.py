"""eli5's gradcam / gradcam_backend, against numpy and a plain-TF computation."""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras import gradcam, gradcam_backend
from eli5_keras.backend import cache
from eli5_keras.compat.gradcam import _Eli5Backend, validate_target, validate_targets

from helpers.data import images
from helpers.reference import plain_eli5_backend


def numpy_gradcam(weights, activations):
    lmap = np.maximum(np.tensordot(activations, weights, axes=([-1], [0])), 0)
    return lmap / (lmap.max() + 1e-7)


# --------------------------------------------------------------------------
# gradcam (numpy)
# --------------------------------------------------------------------------


def test_gradcam_zeros():
    shape = (5, 5)
    np.testing.assert_array_equal(gradcam(np.zeros(10), np.zeros(shape + (10,))), np.zeros(shape))


def test_gradcam_ones():
    shape = (5, 5)
    np.testing.assert_allclose(gradcam(np.ones(10), np.ones(shape + (10,))), np.ones(shape), rtol=1e-07)


@pytest.mark.parametrize("spatial", [(7,), (4, 6), (3, 4, 5)])
def test_gradcam_any_rank_matches_formula(spatial):
    rng = np.random.default_rng(len(spatial))
    weights = rng.normal(size=4)
    activations = rng.normal(size=spatial + (4,))
    lmap = gradcam(weights, activations)
    assert lmap.shape == spatial
    np.testing.assert_allclose(lmap, numpy_gradcam(weights, activations), rtol=1e-12)
    assert lmap.min() == 0.0 and 0.99 < lmap.max() < 1.0


def test_gradcam_all_negative_is_zero():
    np.testing.assert_array_equal(gradcam(np.array([1.0, 1.0]), -np.ones((3, 3, 2))), np.zeros((3, 3)))


@pytest.mark.parametrize("weights, activations", [(np.ones(3), np.ones((4, 4, 2))), (np.ones((2, 2)), np.ones((4, 2)))])
def test_gradcam_shape_mismatch(weights, activations):
    with pytest.raises(ValueError, match="weights must have shape"):
        gradcam(weights, activations)


# --------------------------------------------------------------------------
# target validation (eli5's rules)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "targets, error",
    [
        ("somestring", TypeError),
        ((1,), TypeError),
        ([1, 2], ValueError),
        ([], ValueError),
        (["x"], TypeError),
        ([1.0], TypeError),
        ([True], TypeError),
        ([np.bool_(True)], TypeError),
        ([20], ValueError),
        ([-1], ValueError),
    ],
)
def test_invalid_targets(simple_seq, targets, error):
    with pytest.raises(error):
        validate_targets(targets, (None, 20))
    with pytest.raises(error):
        gradcam_backend(simple_seq, np.zeros((1, 32, 32, 1), np.float32), targets, "layer2")


def test_valid_targets():
    assert validate_targets(None, (None, 20)) is None
    assert validate_targets([19], (None, 20)) == 19
    assert validate_targets([np.int64(3)], (None, 20)) == 3
    validate_target(np.int32(0), (None, 20))
    with pytest.raises(ValueError, match=r"\[0, 20\). Got 20"):
        validate_target(20, (None, 20))


def test_numpy_int_target_accepted(simple_seq):
    _, _, _, idx, _ = gradcam_backend(simple_seq, np.ones((1, 32, 32, 1), np.float32), [np.int64(7)], "layer2")
    assert idx == 7


# --------------------------------------------------------------------------
# gradcam_backend numbers
# --------------------------------------------------------------------------


@pytest.mark.parametrize("targets", [None, [3]])
def test_backend_against_plain_tf(seq_model, seq_parts, targets):
    features, _, probs = seq_parts
    x = images(1, seed=1)
    expected = plain_eli5_backend(features, probs, x, None if targets is None else targets[0])
    weights, acts, grads, idx, val = gradcam_backend(seq_model, x, targets, seq_model.get_layer("conv2"))
    assert weights.shape == (6,) and acts.shape == (6, 6, 6) and grads.shape == (6, 6, 6)
    np.testing.assert_allclose(grads, expected[2], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.sum(grads.astype(np.float64) ** 2), 1.0, rtol=1e-5)
    np.testing.assert_allclose(weights, expected[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(acts, expected[1], rtol=1e-5, atol=1e-6)
    assert isinstance(idx, int) and idx == expected[3]
    assert isinstance(val, float)
    out = seq_model(x).numpy()
    assert val == pytest.approx(float(out[0, idx]), rel=1e-5)
    if targets is None:
        assert idx == int(np.argmax(out[0]))


def test_backend_differentiates_the_softmax_output_layer(func_model, func_parts):
    features, _, probs = func_parts
    x = images(1, seed=2)
    expected = plain_eli5_backend(features, probs, x, 1)
    weights, acts, grads, idx, val = gradcam_backend(func_model, x, [1], "f_conv2")
    np.testing.assert_allclose(weights, expected[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(grads, expected[2], rtol=1e-4, atol=1e-6)
    assert idx == 1 and val == pytest.approx(expected[4], rel=1e-5)


def test_backend_in_a_nested_model(nested_model, nested_parts):
    features, logits = nested_parts
    x = images(1, seed=3)
    expected = plain_eli5_backend(features, lambda a: tf.nn.softmax(logits(a)), x)
    weights, acts, _, idx, val = gradcam_backend(nested_model, x, None, "backbone/b_conv2")
    np.testing.assert_allclose(weights, expected[0], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(acts, expected[1], rtol=1e-5, atol=1e-6)
    assert idx == expected[3]


def test_backend_needs_one_batched_input(seq_model):
    with pytest.raises(ValueError, match="batch size 1"):
        gradcam_backend(seq_model, images(2), None, "conv2")
    with pytest.raises(ValueError, match="doc has shape"):
        gradcam_backend(seq_model, images(1)[0], None, "conv2")


def eli5_backends(model):
    return [v for v in cache._CACHES.get(model, {}).values() if isinstance(v, _Eli5Backend)]


def test_backend_compiles_once(seq_model):
    layer = seq_model.get_layer("conv1")
    gradcam_backend(seq_model, images(1, seed=4), None, layer)
    gradcam_backend(seq_model, images(1, seed=5), [2], "conv1")
    gradcam_backend(seq_model, images(1, seed=6), None, 0)  # conv1 by index
    backends = [b for b in eli5_backends(seq_model) if b.probe.path == (layer,)]
    assert len(backends) == 1
    assert backends[0].function.experimental_get_tracing_count() == 1

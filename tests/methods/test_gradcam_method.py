"""The Grad-CAM method: channel weights and weighted sums, and the method registry."""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras import methods
from eli5_keras.methods.base import Method, spatial_axes, weighted_channel_sum
from eli5_keras.methods.gradcam import GradCAM


def random_result(spatial, n=2, t=3, c=4, seed=0):
    rng = np.random.default_rng(seed)
    acts = rng.normal(size=(n,) + spatial + (c,)).astype(np.float32)
    grads = rng.normal(size=(n, t) + spatial + (c,)).astype(np.float32)
    return acts, grads


@pytest.mark.parametrize("spatial", [(5,), (4, 3), (2, 3, 4)])
def test_channel_weights_are_spatial_means(spatial):
    acts, grads = random_result(spatial)
    weights = GradCAM().channel_weights(tf.constant(acts), tf.constant(grads)).numpy()
    axes = tuple(range(2, 2 + len(spatial)))
    assert weights.shape == (2, 3, 4)
    np.testing.assert_allclose(weights, grads.mean(axis=axes), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("spatial", [(5,), (4, 3), (2, 3, 4)])
def test_weighted_channel_sum(spatial):
    acts, grads = random_result(spatial, seed=1)
    weights = grads.mean(axis=tuple(range(2, 2 + len(spatial))))
    maps = weighted_channel_sum(tf.constant(acts), tf.constant(weights)).numpy()
    expected = np.einsum("n...c,ntc->nt...", acts.astype(np.float64), weights.astype(np.float64))
    assert maps.shape == (2, 3) + spatial
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-5)


def test_maps_are_raw_unrelu_grad_cam():
    acts, grads = random_result((3, 3), seed=2)
    maps = GradCAM().cam(tf.constant(acts), tf.constant(grads)).numpy()
    weights = grads.astype(np.float64).mean(axis=(2, 3))
    expected = np.einsum("nijc,ntc->ntij", acts.astype(np.float64), weights)
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-5)
    assert maps.min() < 0  # no ReLU at this stage


def test_weighted_channel_sum_with_dynamic_shapes():
    fn = tf.function(
        weighted_channel_sum,
        input_signature=[tf.TensorSpec((None, None, None, 2)), tf.TensorSpec((None, None, 2))],
    )
    acts, grads = random_result((3, 5), n=1, t=2, c=2, seed=3)
    weights = grads.mean(axis=(2, 3))
    np.testing.assert_allclose(
        fn(acts, weights).numpy(), np.einsum("nijc,ntc->ntij", acts, weights), rtol=1e-5, atol=1e-5
    )


def test_spatial_axes():
    assert spatial_axes(tf.zeros((1, 2, 3, 4, 5))) == [2, 3]
    assert spatial_axes(tf.zeros((1, 2, 3, 5))) == [2]


def test_registry():
    assert "gradcam" in methods.available()
    assert methods.available() == sorted(methods.available())
    assert set(methods.describe()) == set(methods.available())
    method = methods.get("gradcam")
    assert isinstance(method, GradCAM) and isinstance(method, Method)
    assert method.title == "Grad-CAM"
    assert isinstance(methods.get("GradCAM"), GradCAM)  # case-insensitive
    assert methods.get(method) is method


def test_unknown_method_lists_the_available_ones():
    with pytest.raises(ValueError, match="unknown method 'nope'; available methods: .*gradcam"):
        methods.get("nope")


@pytest.mark.parametrize("name", [None, 1, GradCAM])
def test_method_name_type(name):
    with pytest.raises(TypeError, match="method must be"):
        methods.get(name)

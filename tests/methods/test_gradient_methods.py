"""Saliency and gradient x input against plain tf.GradientTape gradients."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras import methods

from helpers.checks import check_batch_size_and_tracing
from helpers.data import images, signals, volumes
from helpers.methods import input_gradient_methods
from helpers.reference import chain_logits, dense_logits, input_gradients, relu_minmax, top_classes

L = keras.layers
RAW = dict(relu=False, normalize=False)


def reduce(grads, x, method, how=None):
    if method == "gradient_input":
        return (grads * x[:, None]).sum(axis=-1)
    how = how or "max_abs"
    if how == "max_abs":
        return np.abs(grads).max(axis=-1)
    if how == "sum_abs":
        return np.abs(grads).sum(axis=-1)
    return np.sqrt((grads**2).sum(axis=-1))


def data_for(name, n):
    return {"seq_model": images, "signal_model": signals, "volume_model": volumes}[name](n, seed=3)


@pytest.mark.parametrize("method", ["saliency", "gradient_input"])
@pytest.mark.parametrize("fixture", ["seq_model", "signal_model", "volume_model"])
def test_maps_match_plain_gradients_for_every_rank(request, fixture, method):
    model = request.getfixturevalue(fixture)
    x = data_for(fixture, 3)
    logits_fn = chain_logits(model)
    classes = top_classes(logits_fn(x).numpy(), 2)
    grads, logits = input_gradients(logits_fn, x, classes)
    result = eli5.explain(model, x, method=method, top_k=2, **RAW)
    expected = reduce(grads, x, method)
    assert result.maps.shape == (3, 2) + x.shape[1:-1]
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    probabilities = tf.nn.softmax(logits).numpy()
    np.testing.assert_allclose(result.scores, np.take_along_axis(probabilities, classes, 1), rtol=1e-5)


@pytest.mark.parametrize("how", ["sum_abs", "l2"])
def test_saliency_reductions(seq_model, how):
    x = images(2, seed=4)
    classes = np.array([[1], [3]])
    grads, _ = input_gradients(chain_logits(seq_model), x, classes)
    result = eli5.explain(seq_model, x, method="saliency", targets=[1, 3], reduce=how, **RAW)
    np.testing.assert_allclose(result.maps, reduce(grads, x, "saliency", how), rtol=1e-4, atol=1e-7)


def test_saliency_default_pipeline_is_minmax_of_the_magnitude(seq_model):
    x = images(2, seed=5)
    classes = np.array([[0], [4]])
    grads, _ = input_gradients(chain_logits(seq_model), x, classes)
    result = eli5.explain(seq_model, x, method="saliency", targets=[0, 4])
    np.testing.assert_allclose(result.maps, relu_minmax(np.abs(grads).max(axis=-1)), atol=1e-5)
    assert result.normalized and not result.signed


def test_gradient_input_is_signed_and_raw_by_default(seq_model):
    x = images(2, seed=6)
    grads, _ = input_gradients(chain_logits(seq_model), x, [[2], [2]])
    result = eli5.explain(seq_model, x, method="gradient_input", targets=2)
    np.testing.assert_allclose(result.maps, reduce(grads, x, "gradient_input"), rtol=1e-4, atol=1e-7)
    assert result.signed and not result.normalized
    assert result.maps.min() < 0 < result.maps.max()


def test_gradient_input_of_a_linear_model_sums_to_the_score():
    keras.utils.set_random_seed(20)
    inp = keras.Input((5, 2))
    model = keras.Model(inp, L.Dense(3, use_bias=False)(L.Flatten()(inp)))
    x = signals(2, seed=1)[:, :5]
    result = eli5.explain(model, x, method="gradient_input", targets=[[0, 2]] * 2)
    logits = x.reshape(2, -1) @ model.layers[-1].kernel.numpy()
    np.testing.assert_allclose(result.maps.sum(axis=2), logits[:, [0, 2]], rtol=1e-5, atol=1e-6)


def test_nested_model(nested_model, nested_parts):
    features, logits = nested_parts
    x = images(2, seed=7)
    grads, _ = input_gradients(lambda v: logits(features(v)), x, [[1], [2]])
    result = eli5.explain(nested_model, x, method="gradient_input", targets=[1, 2])
    np.testing.assert_allclose(result.maps, reduce(grads, x, "gradient_input"), rtol=1e-4, atol=1e-7)


def test_multi_input_model_differentiates_the_image_only(multi_input_model):
    conv, gap, concat, dense = (multi_input_model.get_layer(n) for n in ("m_conv", "m_gap", "m_concat", "m_dense"))
    x = images(2, seed=8)
    vec = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    grads, _ = input_gradients(lambda v: dense_logits(dense, concat([gap(conv(v)), vec])), x, [[0, 3]] * 2)
    result = eli5.explain(multi_input_model, [x, vec], method="saliency", targets=[[0, 3]] * 2, **RAW)
    assert result.maps.shape == (2, 2, 12, 12)
    np.testing.assert_allclose(result.maps, np.abs(grads).max(axis=-1), rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="no spatial axes"):
        eli5.explain(multi_input_model, [x, vec], method="saliency", input_index=1)


@pytest.mark.parametrize("method", ["saliency", "gradient_input"])
def test_batch_size_does_not_change_maps_and_nothing_retraces(seq_model, method):
    check_batch_size_and_tracing(seq_model, images(5, seed=9), images(3, seed=10), method)


def test_constant_input_gives_finite_maps(seq_model):
    x = np.zeros((2, 12, 12, 3), np.float32)
    for method in ("saliency", "gradient_input"):
        result = eli5.explain(seq_model, x, method=method)
        assert np.all(np.isfinite(result.maps))
    np.testing.assert_array_equal(result.maps, 0.0)  # x = 0: gradient x input is 0


def token_model():
    keras.utils.set_random_seed(21)
    inp = keras.Input((8,), dtype="int32")
    h = L.Embedding(20, 4, name="embedding")(inp)
    h = L.Conv1D(3, 3, activation="relu", name="tok_conv")(h)
    out = L.Dense(2)(L.GlobalAveragePooling1D()(h))
    return keras.Model(inp, out, name="token_model")


@pytest.mark.parametrize("method", input_gradient_methods())
def test_token_ids_cannot_be_differentiated(method):
    model = token_model()
    tokens = np.arange(16).reshape(2, 8) % 20
    with pytest.raises(ValueError, match="token ids.*has no gradient.*CAM method.*embedding"):
        eli5.explain(model, tokens, method=method)
    with pytest.raises(ValueError, match="token ids"):
        eli5.explain(model, tokens, method="guided_gradcam", layer="tok_conv")
    assert eli5.explain(model, tokens, method="gradcam", layer="tok_conv").maps.shape == (2, 1, 8)


def test_options_are_validated():
    with pytest.raises(ValueError, match="reduce must be one of 'max_abs', 'sum_abs', 'l2', 'sum', 'mean', 'max'; got 'min'"):
        methods.get("saliency", reduce="min")
    assert methods.get("saliency", reduce="max").signed and not methods.get("saliency").signed
    with pytest.raises(ValueError, match="reduce must be one of"):
        methods.get("integrated_gradients", reduce="min")
    with pytest.raises(TypeError, match="gradient_input"):
        methods.get("gradient_input", reduce="sum")


def test_registry_lists_the_gradient_family():
    names = {"saliency", "gradient_input", "integrated_gradients", "guided_backprop", "deconvnet", "guided_gradcam"}
    assert names <= set(methods.available())
    assert not any(methods.REGISTRY[n].uses_layer for n in names - {"guided_gradcam"})
    assert methods.REGISTRY["guided_gradcam"].uses_layer and methods.REGISTRY["guided_gradcam"].maps_at_input
    assert methods.REGISTRY["gradient_input"].signed and methods.REGISTRY["integrated_gradients"].signed

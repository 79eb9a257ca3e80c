"""Guided backprop, DeconvNet and Guided Grad-CAM against hand-written backward passes."""
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras import methods
from eli5_keras.backend.relu_rules import NonReLUWarning
from eli5_keras.explain import get_explainer
from eli5_keras.utils.resize import resize_linear

from helpers.checks import DEFAULT_OPTIONS, check_batch_size_and_tracing
from helpers.data import images, signals, volumes
from helpers.reference import (
    chain_layers,
    chain_logits,
    deconv_relu,
    guided_relu,
    input_gradients,
    plain_gradcam,
    relu_minmax,
    rule_chain_logits,
    top_classes,
    upsample_maps,
)

L = keras.layers
RAW = dict(relu=False, normalize=False)


# -- a two-ReLU model and its backward pass by hand --------------------------------------


def two_relu_layers():
    return [L.Dense(4, activation="relu", name="d1"), L.Dense(5, name="d2"), L.ReLU(name="r2")]


def flat_model():
    """x (6, 2) -> Dense(4, relu) -> Dense(5) -> ReLU -> Flatten -> Dense(3, softmax)."""
    keras.utils.set_random_seed(50)
    inp = keras.Input((6, 2))
    h = inp
    for layer in two_relu_layers():
        h = layer(h)
    out = L.Dense(3, activation="softmax", name="out")(L.Flatten()(h))
    return keras.Model(inp, out, name="flat_relu")


def nested_copy(flat):
    """The same network with its ReLU layers inside a backbone, weights copied."""
    b_in = keras.Input((6, 2))
    h = b_in
    for layer in two_relu_layers():
        h = layer(h)
    backbone = keras.Model(b_in, h, name="backbone")
    inp = keras.Input((6, 2))
    out = L.Dense(3, activation="softmax", name="out")(L.Flatten()(backbone(inp)))
    model = keras.Model(inp, out, name="nested_relu")
    model.set_weights(flat.get_weights())
    return model


@pytest.fixture(scope="module")
def flat():
    return flat_model()


def hand_backward(model, x, classes, rule):
    """Guided / DeconvNet / ordinary ("plain") gradient of the logits, in numpy."""
    w1, b1, w2, b2, w3, _ = [v.astype(np.float64) for v in model.get_weights()]
    z1 = x @ w1 + b1
    z2 = np.maximum(z1, 0) @ w2 + b2
    maps = []
    for c in np.asarray(classes).T:
        d_h2 = w3[:, c].T.reshape(len(x), 6, 5)
        if rule == "plain":
            d_z2 = d_h2 * (z2 > 0)
            d_z1 = (d_z2 @ w2.T) * (z1 > 0)
        elif rule == "guided":
            d_z2 = np.maximum(d_h2, 0) * (z2 > 0)
            d_z1 = np.maximum(d_z2 @ w2.T, 0) * (z1 > 0)
        else:
            d_z2 = np.maximum(d_h2, 0)
            d_z1 = np.maximum(d_z2 @ w2.T, 0)
        maps.append(d_z1 @ w1.T)
    return np.stack(maps, axis=1)  # (N, T, 6, 2)


@pytest.mark.parametrize("reduce", ["sum", "max_abs"])
@pytest.mark.parametrize("method, rule", [("guided_backprop", "guided"), ("deconvnet", "deconvnet")])
def test_numbers_against_a_hand_written_backward(flat, method, rule, reduce):
    x = signals(3, seed=1)[:, :6]
    classes = [[0, 2], [1, 0], [2, 1]]
    expected = hand_backward(flat, x.astype(np.float64), classes, rule)
    result = eli5.explain(flat, x, method=method, targets=classes, reduce=reduce, **RAW)
    reduced = expected.sum(-1) if reduce == "sum" else np.abs(expected).max(-1)
    np.testing.assert_allclose(result.maps, reduced, rtol=1e-4, atol=1e-6)
    plain = hand_backward(flat, x.astype(np.float64), classes, "plain")
    assert not np.allclose(expected, plain, atol=1e-3)  # the rule changes the numbers here
    probabilities = flat(x).numpy()
    np.testing.assert_allclose(result.scores, np.take_along_axis(probabilities, np.array(classes), 1), rtol=1e-5)


def test_relus_inside_a_backbone_get_the_rule(flat):
    nested = nested_copy(flat)
    x = signals(2, seed=2)[:, :6]
    for method, rule in (("guided_backprop", "guided"), ("deconvnet", "deconvnet")):
        result = eli5.explain(nested, x, method=method, targets=[[1], [2]], **RAW)
        expected = hand_backward(flat, x.astype(np.float64), [[1], [2]], rule).sum(-1)
        np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


def snapshot(model):
    return (
        [w.copy() for w in model.get_weights()],
        [(layer, getattr(layer, "activation", None), sorted(vars(layer))) for layer in model.layers],
    )


def test_the_users_model_is_unchanged(flat):
    model = nested_copy(flat)
    x = signals(2, seed=3)[:, :6]
    before_predictions = model(x).numpy()
    weights, layers = snapshot(model)
    backbone = model.get_layer("backbone")
    inner = [(layer, getattr(layer, "activation", None), sorted(vars(layer))) for layer in backbone.layers]
    for method in ("guided_backprop", "deconvnet"):
        eli5.explain(model, x, method=method)
    after_weights, after_layers = snapshot(model)
    for a, b in zip(weights, after_weights):
        np.testing.assert_array_equal(a, b)
    assert layers == after_layers
    assert inner == [(layer, getattr(layer, "activation", None), sorted(vars(layer))) for layer in backbone.layers]
    assert backbone.get_layer("d1").activation is keras.activations.relu
    np.testing.assert_array_equal(model(x).numpy(), before_predictions)
    with tf.GradientTape() as tape:  # and its own gradient is still the ordinary one
        xt = tf.constant(x)
        tape.watch(xt)
        score = model(xt)[:, 0]
    assert tape.gradient(score, xt) is not None


@pytest.mark.parametrize("fixture", ["signal_model", "volume_model"])
@pytest.mark.parametrize("method, relu", [("guided_backprop", guided_relu), ("deconvnet", deconv_relu)])
def test_every_rank_against_a_custom_gradient_reference(request, fixture, method, relu):
    model = request.getfixturevalue(fixture)
    x = signals(3, seed=4) if fixture == "signal_model" else volumes(3, seed=4)
    classes = top_classes(chain_logits(model)(x).numpy(), 2)
    grads, _ = input_gradients(rule_chain_logits(model, relu), x, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonReLUWarning)  # all-ReLU models: no warning
        result = eli5.explain(model, x, method=method, top_k=2, **RAW)
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.maps, grads.sum(-1), rtol=1e-4, atol=1e-6 * np.abs(grads).max())
    default = eli5.explain(model, x, method=method, top_k=2)
    np.testing.assert_allclose(default.maps, relu_minmax(grads.sum(-1)), atol=1e-5)


def test_non_relu_activations_are_named_once_per_explainer(seq_model):
    x = images(2, seed=5)
    model = keras.models.clone_model(seq_model)  # a fresh explainer cache
    with pytest.warns(NonReLUWarning, match=r"ordinary gradient is used.*not pure Guided Backprop: 'conv2' \(tanh\)"):
        eli5.explain(model, x, method="guided_backprop")
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonReLUWarning)
        eli5.explain(model, x, method="guided_backprop")
        eli5.explain(model, x, method="guided_backprop", top_k=2)  # another compiled graph, same explainer
    with pytest.warns(NonReLUWarning, match="not pure DeconvNet: 'conv2' \\(tanh\\)"):
        eli5.explain(model, x, method="deconvnet")


def test_mixed_model_uses_the_ordinary_gradient_at_tanh(seq_model):
    """conv1 (relu) gets the rule, conv2 (tanh) its ordinary gradient."""
    x = images(2, seed=6)
    classes = top_classes(chain_logits(seq_model)(x).numpy(), 1)
    grads, _ = input_gradients(rule_chain_logits(seq_model, guided_relu), x, classes)
    with pytest.warns(NonReLUWarning):
        result = eli5.explain(seq_model, x, method="guided_backprop", reduce="max_abs", **RAW)
    np.testing.assert_allclose(result.maps, np.abs(grads).max(-1), rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("method", ["guided_backprop", "guided_gradcam"])
def test_batch_size_does_not_change_maps_and_nothing_retraces(signal_model, method):
    check_batch_size_and_tracing(signal_model, signals(5, seed=7), signals(2, seed=8), method)


# -- Guided Grad-CAM ----------------------------------------------------------------------


def relu_cnn():
    """All-ReLU 2-D CNN; 'c2' has a 4x4 grid on 8x8 inputs (upsampling is not trivial)."""
    keras.utils.set_random_seed(51)
    inp = keras.Input((8, 8, 2))
    h = L.Conv2D(3, 3, padding="same", activation="relu", name="c1")(inp)
    h = L.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="c2")(h)
    out = L.Dense(3, activation="softmax", name="head")(L.GlobalAveragePooling2D()(h))
    return keras.Model(inp, out, name="relu_cnn")


def plain_guided_gradcam(model, x, classes, layer_name, interpolation="bilinear"):
    body, head = chain_layers(model)
    upto = body.index(model.get_layer(layer_name))

    def features(v):
        for layer in body[: upto + 1]:
            v = layer(v)
        return v

    def rest(a):
        for layer in body[upto + 1:]:
            a = layer(a)
        return a @ head.kernel + head.bias

    cam, _ = plain_gradcam(features, rest, x, classes, relu=True, normalize=False)
    if interpolation == "bilinear":
        cam = upsample_maps(cam, x.shape[1:-1])
    else:
        for i, out in enumerate(x.shape[1:-1]):
            cam = np.take(cam, np.floor(np.arange(out) * cam.shape[2 + i] / out).astype(int), axis=2 + i)
    guided, _ = input_gradients(rule_chain_logits(model, guided_relu), x, classes)
    return guided.sum(-1) * cam


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_guided_gradcam_is_guided_backprop_times_upsampled_gradcam(interpolation):
    model = relu_cnn()
    x = images(3, size=8, channels=2, seed=9)
    classes = top_classes(chain_logits(model)(x).numpy(), 2)
    expected = plain_guided_gradcam(model, x, classes, "c2", interpolation)
    result = eli5.explain(model, x, method="guided_gradcam", layer="c2", top_k=2, interpolation=interpolation, **RAW)
    assert result.maps.shape == (3, 2, 8, 8) and result.layer == "c2"
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())
    default = eli5.explain(model, x, method="guided_gradcam", layer="c2", top_k=2, interpolation=interpolation)
    np.testing.assert_allclose(default.maps, relu_minmax(expected), atol=1e-5)
    assert "resize" not in default.normalization


def test_guided_gradcam_maps_are_not_resized_again():
    model = relu_cnn()
    x = images(1, size=8, channels=2)
    # the pipeline's description says whether the explainer resized the maps
    explainer = get_explainer(model, "guided_gradcam", "c2", **DEFAULT_OPTIONS)
    assert explainer.path is not None and "resize" not in explainer.explain(x).normalization
    gradcam = get_explainer(model, "gradcam", "c2", **DEFAULT_OPTIONS)
    assert "linear resize onto the input" in gradcam.explain(x).normalization
    # resizing onto the same size would be the identity anyway (half-pixel centres)
    maps = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(resize_linear(tf.constant(maps), [8, 8], first_axis=2).numpy(), maps)


def test_guided_gradcam_on_volumes(volume_model):
    x = volumes(2, seed=10)
    classes = top_classes(chain_logits(volume_model)(x).numpy(), 1)
    expected = plain_guided_gradcam(volume_model, x, classes, "vol_conv2")
    result = eli5.explain(volume_model, x, method="guided_gradcam", **RAW)
    assert result.maps.shape == (2, 1, 6, 6, 6)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_guided_gradcam_in_a_nested_backbone(nested_model, nested_parts):
    """Grad-CAM at 'backbone/b_conv2' (8x8), guided rule at 'backbone/b_conv1'."""
    features, logits = nested_parts
    backbone = nested_model.get_layer("backbone")
    conv1, conv2 = backbone.get_layer("b_conv1"), backbone.get_layer("b_conv2")
    x = images(2, seed=11)
    classes = np.array([[3], [0]])
    cam, _ = plain_gradcam(features, logits, x, classes, relu=True, normalize=False, size=(12, 12))

    def guided_logits(v):
        z = tf.nn.convolution(v, conv1.kernel, padding="VALID") + conv1.bias
        return logits(conv2(guided_relu(z)))

    guided, _ = input_gradients(guided_logits, x, classes)
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonReLUWarning)  # the final softmax is bypassed: all ReLU
        result = eli5.explain(nested_model, x, method="guided_gradcam", targets=[3, 0], **RAW)
    assert result.layer == "backbone/b_conv2"
    expected = guided.sum(-1) * cam
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6 * np.abs(expected).max())


def test_guided_options_are_validated():
    for name in ("guided_backprop", "deconvnet", "guided_gradcam"):
        with pytest.raises(ValueError, match="reduce must be one of 'sum', 'mean', 'max', 'max_abs', 'sum_abs', 'l2'"):
            methods.get(name, reduce="abs")
    with pytest.raises(ValueError, match="interpolation must be one of 'bilinear', 'nearest'; got 'cubic'"):
        methods.get("guided_gradcam", interpolation="cubic")


# -- ReLUs inside subclassed models and custom layers ---------------------------------------


class ResidualRelus(keras.Model):
    """x -> d1 = Dense(4, relu) -> h1; y = ReLU(d2(h1)) + h1 (a residual add, not a chain)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.d1 = L.Dense(4, activation="relu", name="d1")
        self.d2 = L.Dense(4, name="d2")
        self.r2 = L.ReLU(name="r2")

    def call(self, x):
        h = self.d1(x)
        return self.r2(self.d2(h)) + h


class ResidualClassifier(ResidualRelus):
    """The same residual body with its head, as one subclassed model."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flat = L.Flatten()
        self.out = L.Dense(3, activation="softmax", name="out")

    def call(self, x):
        return self.out(self.flat(super().call(x)))


def residual_in_functional():
    keras.utils.set_random_seed(52)
    inp = keras.Input((6, 2))
    out = L.Dense(3, activation="softmax", name="out")(L.Flatten()(ResidualRelus(name="res")(inp)))
    return keras.Model(inp, out, name="functional_res")


def residual_backward(weights, x, classes, rule):
    """The residual network's guided / DeconvNet input gradient of the logits, in numpy."""
    w1, b1, w2, b2, w3, _ = [v.astype(np.float64) for v in weights]
    z1 = x @ w1 + b1
    z2 = np.maximum(z1, 0) @ w2 + b2

    def backward(d, z):
        return np.maximum(d, 0) * (z > 0) if rule == "guided" else np.maximum(d, 0)

    maps = []
    for c in np.asarray(classes).T:
        d_y = w3[:, c].T.reshape(len(x), 6, 4)
        d_h1 = d_y + backward(d_y, z2) @ w2.T
        maps.append(backward(d_h1, z1) @ w1.T)
    return np.stack(maps, axis=1)


@pytest.mark.parametrize("method, rule", [("guided_backprop", "guided"), ("deconvnet", "deconvnet")])
def test_relus_inside_a_residual_subclassed_model_get_the_rule_on_its_own_call(method, rule):
    """The subclass's call() (with its add) runs as written, nested in a functional model
    or explained directly; the old replay of its layers as a chain dropped the add."""
    nested = residual_in_functional()
    direct = ResidualClassifier(name="direct")
    x = signals(3, seed=9)[:, :6]
    direct(x)
    direct.set_weights(nested.get_weights())
    classes = [[0], [2], [1]]
    expected = residual_backward(nested.get_weights(), x.astype(np.float64), classes, rule).sum(-1)
    for model in (nested, direct):
        with warnings.catch_warnings():
            warnings.simplefilter("error", NonReLUWarning)  # every ReLU is reached
            result = eli5.explain(model, x, method=method, targets=classes, **RAW)
        np.testing.assert_allclose(result.scores, np.take_along_axis(model(x).numpy(), np.array(classes), 1), rtol=1e-5)
        np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


class GroupedRelus(L.Layer):
    """Custom layer with the flat model's ReLU layers: one attribute, the rest in a list."""

    def __init__(self, functional_relu=None, **kwargs):
        super().__init__(**kwargs)
        self.first = L.Dense(4, activation="relu", name="d1")
        self.rest = [L.Dense(5, name="d2"), L.ReLU(name="r2")]
        self.functional_relu = functional_relu

    def call(self, x):
        h = self.first(x)
        if self.functional_relu is not None:
            return self.functional_relu(self.rest[0](h))
        for layer in self.rest:
            h = layer(h)
        return h


def custom_layer_copy(flat, functional_relu=None):
    """The flat model's network with its ReLUs inside a custom layer, weights copied."""
    inp = keras.Input((6, 2))
    out = L.Dense(3, activation="softmax", name="out")(L.Flatten()(GroupedRelus(functional_relu, name="group")(inp)))
    model = keras.Model(inp, out, name="grouped_relu")
    model.set_weights(flat.get_weights())
    return model


@pytest.mark.parametrize("method, rule", [("guided_backprop", "guided"), ("deconvnet", "deconvnet")])
def test_relus_inside_a_custom_layer_get_the_rule(flat, method, rule):
    model = custom_layer_copy(flat)
    group = model.get_layer("group")
    attributes = dict(vars(group))
    x = signals(3, seed=10)[:, :6]
    before = model(x).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", NonReLUWarning)
        result = eli5.explain(model, x, method=method, targets=[[1], [0], [2]], **RAW)
    expected = hand_backward(flat, x.astype(np.float64), [[1], [0], [2]], rule).sum(-1)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.scores[:, 0], before[[0, 1, 2], [1, 0, 2]], rtol=1e-5)
    # nothing of the user's layer was replaced or left patched
    assert vars(group).keys() == attributes.keys() and all(vars(group)[k] is v for k, v in attributes.items())
    assert type(group).__call__ is L.Layer.__call__ and "call" not in vars(group)
    np.testing.assert_array_equal(model(x).numpy(), before)


@pytest.mark.parametrize("relu", [tf.nn.relu, keras.ops.relu])
def test_a_relu_applied_as_a_function_in_a_custom_layer_is_named(flat, relu):
    model = custom_layer_copy(flat, functional_relu=relu)
    x = signals(2, seed=11)[:, :6]
    with pytest.warns(NonReLUWarning, match=r"'group' \(relu applied as a function in call\(\)\)") as caught:
        eli5.explain(model, x, method="guided_backprop")
    assert "d1" not in str(caught[0].message) and "r2" not in str(caught[0].message)

"""FullGrad against the reference written plainly, and the completeness property.

The reference (:func:`plain_fullgrad`) runs each model by hand (``tf.nn.convolution``
with the layers' kernels and biases, batch normalisation from its moving statistics,
Dense kernels applied by hand), takes ``dS/dx`` and ``dS/dz_l`` of every
pre-activation ``z_l`` with one tape, folds the BatchNormalization bias by hand, and
applies ``psi`` (|.|, min-max, channel sum) and ``tf.image.resize`` bilinear.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.backend.probe import ModelProbe
from eli5_keras.explain import get_explainer
from eli5_keras.methods import get
from eli5_keras.methods.fullgrad import FullGrad, effective_bias, fullgrad_terms
from eli5_keras.targets import ClassTarget

from helpers.checks import DEFAULT_OPTIONS, compiled_for
from helpers.data import images, signals, volumes
from helpers.reference import relu_minmax, top_classes, upsample

L = keras.layers
ATOL = 5e-5
ACTIVATIONS = {"relu": tf.nn.relu, "tanh": tf.tanh, "linear": lambda z: z}


def psi(term, scale):
    """|t|, min-max per sample over positions and channels (eps 1e-6) or per channel
    over positions (eps 1e-7), then the sum over channels: (N, *s, C) -> (N, *s)."""
    t = np.abs(np.asarray(term, np.float64))
    axes = tuple(range(1, t.ndim)) if scale == "sample" else tuple(range(1, t.ndim - 1))
    eps = 1e-6 if scale == "sample" else 1e-7
    low, high = t.min(axis=axes, keepdims=True), t.max(axis=axes, keepdims=True)
    return ((t - low) / (high - low + eps)).sum(axis=-1)


def plain_fullgrad(forward, x, classes, scale="sample"):
    """``forward(x) -> (logits (N, K), [(z_l, b_l)])`` run by hand under one tape.
    Returns maps (N, T, *S) after the shared ReLU/min-max, the completeness gaps
    (N, T) and the raw terms per target: [(dS/dx * x, [dS/dz_l * b_l])]."""
    xt = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(xt)
        logits, layers = forward(xt)
        scores = [tf.gather(logits, classes[:, t], batch_dims=1) for t in range(classes.shape[1])]
    maps, gaps, terms = [], [], []
    for s in scores:
        grads = tape.gradient(s, [xt] + [z for z, _ in layers])
        input_term = (grads[0] * xt).numpy().astype(np.float64)
        bias_terms = [(g * b).numpy().astype(np.float64) for g, (_, b) in zip(grads[1:], layers)]
        total = psi(input_term, scale)
        for term in bias_terms:
            if term.ndim == x.ndim:
                total += upsample(psi(term, scale)[..., None], x.shape[1:-1])[..., 0]
        raw = [input_term] + bias_terms
        gaps.append(s.numpy() - sum(t.reshape(len(x), -1).sum(axis=1) for t in raw))
        maps.append(total)
        terms.append((input_term, bias_terms))
    return relu_minmax(np.stack(maps, axis=1)), np.stack(gaps, axis=1), terms


def conv_chain(convs, dense, extra=None):
    """A hand forward for [conv layers] -> global average pool -> (concat extra) -> Dense."""

    def forward(x):
        h, layers = x, []
        for layer in convs:
            data_format = {3: "NWC", 4: "NHWC", 5: "NDHWC"}[h.shape.rank]
            z = tf.nn.convolution(
                h, np.asarray(layer.kernel), layer.strides, layer.padding.upper(), data_format=data_format
            ) + np.asarray(layer.bias)
            layers.append((z, np.asarray(layer.bias)))
            h = ACTIVATIONS[layer.activation.__name__](z)
        pooled = tf.reduce_mean(h, axis=list(range(1, h.shape.rank - 1)))
        if extra is not None:
            pooled = tf.concat([pooled, extra], axis=1)
        logits = tf.matmul(pooled, np.asarray(dense.kernel)) + np.asarray(dense.bias)
        return logits, layers + [(logits, np.asarray(dense.bias))]

    return forward


def bn_model():
    """(6, 6, 2) -> c1 (relu fused) -> bn -> ReLU -> c2 (stride 2, 3x3x2, linear) -> GAP ->
    Dense(3, softmax): a ReLU network, so FullGrad's decomposition is complete."""
    keras.utils.set_random_seed(41)
    inp = keras.Input((6, 6, 2))
    h = L.Conv2D(3, 3, padding="same", activation="relu", name="c1")(inp)
    h = L.BatchNormalization(name="bn")(h)
    h = L.ReLU()(h)
    h = L.Conv2D(2, 3, strides=2, padding="same", name="c2")(h)
    out = L.Dense(3, activation="softmax", name="head")(L.GlobalAveragePooling2D()(h))
    model = keras.Model(inp, out, name="bn_model")
    rng = np.random.default_rng(41)
    model.get_layer("bn").set_weights(
        [rng.uniform(0.5, 1.5, 3), rng.normal(size=3), rng.normal(size=3) * 0.3, rng.uniform(0.5, 2.0, 3)]
    )
    c1 = model.get_layer("c1")
    c1.set_weights([c1.get_weights()[0], np.array([0.2, -0.1, 0.05], np.float32)])
    c2 = model.get_layer("c2")
    c2.set_weights([c2.get_weights()[0], np.array([0.3, -0.2], np.float32)])
    head = model.get_layer("head")
    head.set_weights([head.get_weights()[0], np.array([0.1, -0.3, 0.2], np.float32)])
    return model


def folded_bn_bias(bn):
    gamma, beta, mean, var = (np.asarray(w, np.float64) for w in bn.get_weights())
    return beta - mean * gamma / np.sqrt(var + bn.epsilon)


def bn_forward(model):
    c1, bn, c2, head = (model.get_layer(n) for n in ("c1", "bn", "c2", "head"))
    gamma, beta, mean, var = (np.asarray(w, np.float32) for w in bn.get_weights())

    def forward(x):
        z1 = tf.nn.conv2d(x, np.asarray(c1.kernel), 1, "SAME") + np.asarray(c1.bias)
        zbn = (tf.nn.relu(z1) - mean) / np.sqrt(var + bn.epsilon) * gamma + beta
        z2 = tf.nn.conv2d(tf.nn.relu(zbn), np.asarray(c2.kernel), 2, "SAME") + np.asarray(c2.bias)
        logits = tf.matmul(tf.reduce_mean(z2, axis=[1, 2]), np.asarray(head.kernel)) + np.asarray(head.bias)
        layers = [
            (z1, np.asarray(c1.bias)),
            (zbn, folded_bn_bias(bn).astype(np.float32)),
            (z2, np.asarray(c2.bias)),
            (logits, np.asarray(head.bias)),
        ]
        return logits, layers

    return forward


@pytest.fixture(scope="module")
def tiny():
    return bn_model()


def inputs(n=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 6, 6, 2)).astype(np.float32)


@pytest.mark.parametrize("scale", ["sample", "channel"])
def test_matches_the_reference_with_batch_normalization(tiny, scale):
    x = inputs()
    result = eli5.explain(tiny, x, method="fullgrad", top_k=2, scale=scale)
    classes = top_classes(tiny(x).numpy(), 2)
    np.testing.assert_array_equal(result.targets, classes)
    maps, gaps, _ = plain_fullgrad(bn_forward(tiny), x, classes, scale)
    assert result.maps.shape == (3, 2, 6, 6)
    np.testing.assert_allclose(result.maps, maps, atol=ATOL)
    np.testing.assert_allclose(result.extras["completeness_gap"], 0.0, atol=1e-4)
    np.testing.assert_allclose(gaps, 0.0, atol=1e-4)  # the hand decomposition is complete too
    assert tiny.get_layer("c1").activation.__name__ == "relu"  # the model is unchanged


def test_scales_differ(tiny):
    x = inputs(seed=2)
    sample = eli5.explain(tiny, x, method="fullgrad").maps
    channel = eli5.explain(tiny, x, method="fullgrad", scale="channel").maps
    assert np.abs(sample - channel).max() > 1e-2


def test_folded_batch_normalization_bias(tiny):
    bn = tiny.get_layer("bn")
    np.testing.assert_allclose(effective_bias(bn).numpy(), folded_bn_bias(bn), rtol=1e-5)
    plain = L.BatchNormalization(center=False, scale=False)
    plain.build((None, 4, 3))
    plain.set_weights([np.array([1.0, -2.0, 0.5]), np.array([4.0, 1.0, 0.25])])
    np.testing.assert_allclose(
        effective_bias(plain).numpy(), -np.array([1.0, -2.0, 0.5]) / np.sqrt(np.array([4.0, 1.0, 0.25]) + 1e-3),
        rtol=1e-5,
    )


def test_raw_terms_are_the_hand_computed_bias_gradients(tiny):
    """dS/dx * x and dS/dz_l * b_l for c1 (pre-relu), bn (folded), c2 and the head; they
    sum to the logit: S = sum(dS/dx * x) + sum_l sum(dS/dz_l * b_l)."""
    x = inputs(seed=3)
    classes = np.array([[0, 2], [1, 0], [2, 1]])
    target = ClassTarget(classes).bind([tuple(tiny.outputs[0].shape)], 3)
    probe = ModelProbe(tiny, target)
    terms = fullgrad_terms(probe, [tf.constant(x)], tf.constant(target.encode(3)))
    assert [path[-1].name for path in terms.paths] == ["c1", "bn", "c2", "head"]
    _, _, expected = plain_fullgrad(bn_forward(tiny), x, classes)
    for t, (input_term, bias_terms) in enumerate(expected):
        np.testing.assert_allclose(terms.inputs[:, t].numpy(), input_term, atol=1e-5)
        for got, want in zip(terms.biases, bias_terms):
            np.testing.assert_allclose(got[:, t].numpy(), want, atol=1e-5)
    logits = bn_forward(tiny)(tf.constant(x))[0].numpy()
    total = terms.inputs.numpy().reshape(3, 2, -1).sum(-1) + sum(
        b.numpy().reshape(3, 2, -1).sum(-1) for b in terms.biases
    )
    np.testing.assert_allclose(total, np.take_along_axis(logits, classes, axis=1), atol=1e-4)
    np.testing.assert_allclose(terms.completeness_gap().numpy(), 0.0, atol=1e-4)


def test_completeness_gap_reveals_implicit_biases(seq_model):
    """seq_model's conv2 is tanh: not piecewise linear, so the decomposition is
    incomplete; the maps still follow the reference."""
    conv1, conv2, dense = (seq_model.get_layer(n) for n in ("conv1", "conv2", "dense"))
    x = images(3, seed=4)
    result = eli5.explain(seq_model, x, method="fullgrad", top_k=2)
    classes = top_classes(seq_model(x).numpy(), 2)
    maps, gaps, _ = plain_fullgrad(conv_chain([conv1, conv2], dense), x, classes)
    np.testing.assert_allclose(result.maps, maps, atol=ATOL)
    np.testing.assert_allclose(result.extras["completeness_gap"], gaps, atol=1e-4)
    assert np.abs(gaps).max() > 1e-2


@pytest.mark.parametrize("kind", ["signal", "volume"])
def test_every_rank(kind, signal_model, volume_model):
    model, x, names = {
        "signal": (signal_model, signals(2, seed=5), ("sig_conv1", "sig_conv2", "sig_dense")),
        "volume": (volume_model, volumes(2, seed=5), ("vol_conv1", "vol_conv2", "vol_dense")),
    }[kind]
    first, second, dense = (model.get_layer(n) for n in names)
    result = eli5.explain(model, x, method="fullgrad", top_k=2)
    assert result.maps.shape == (2, 2) + x.shape[1:-1]
    classes = top_classes(model(x).numpy(), 2)
    maps, gaps, _ = plain_fullgrad(conv_chain([first, second], dense), x, classes)
    np.testing.assert_allclose(result.maps, maps, atol=ATOL)
    np.testing.assert_allclose(result.extras["completeness_gap"], 0.0, atol=1e-4)  # ReLU networks


def test_nested_model_convolutions_count(nested_model):
    backbone = nested_model.get_layer("backbone")
    convs = [backbone.get_layer("b_conv1"), backbone.get_layer("b_conv2")]
    x = images(2, seed=6)
    result = eli5.explain(nested_model, x, method="fullgrad", top_k=2)
    classes = top_classes(nested_model(x).numpy(), 2)
    maps, _, _ = plain_fullgrad(conv_chain(convs, nested_model.get_layer("n_dense")), x, classes)
    np.testing.assert_allclose(result.maps, maps, atol=ATOL)
    np.testing.assert_allclose(result.extras["completeness_gap"], 0.0, atol=1e-4)


def test_multi_input_model_explains_the_image(multi_input_model):
    img = images(2, seed=7)
    vec = np.random.default_rng(7).normal(size=(2, 4)).astype(np.float32)
    conv, dense = multi_input_model.get_layer("m_conv"), multi_input_model.get_layer("m_dense")
    result = eli5.explain(multi_input_model, [img, vec], method="fullgrad", top_k=2)
    classes = top_classes(multi_input_model([img, vec]).numpy(), 2)
    maps, _, _ = plain_fullgrad(conv_chain([conv], dense, extra=vec), img, classes)
    np.testing.assert_allclose(result.maps, maps, atol=ATOL)


def test_batch_sizes_agree_and_no_retrace(tiny):
    x = inputs(n=4, seed=8)
    small = eli5.explain(tiny, x, method="fullgrad", top_k=2, batch_size=1)
    large = eli5.explain(tiny, x, method="fullgrad", top_k=2, batch_size=64)
    np.testing.assert_allclose(small.maps, large.maps, atol=1e-6)
    eli5.explain(tiny, inputs(n=3, seed=9), method="fullgrad", top_k=2, batch_size=64)
    explainer = get_explainer(tiny, "fullgrad", None, **DEFAULT_OPTIONS)
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1


def test_layer_does_not_apply(tiny):
    with pytest.raises(ValueError, match="layer= does not apply"):
        eli5.explain(tiny, inputs(), method="fullgrad", layer="c2")
    assert FullGrad.uses_layer is False


def test_token_inputs_are_rejected():
    keras.utils.set_random_seed(43)
    inp = keras.Input((10,), dtype="int32")
    h = L.Conv1D(3, 3, activation="relu")(L.Embedding(20, 4)(inp))
    model = keras.Model(inp, L.Dense(2)(L.GlobalAveragePooling1D()(h)))
    with pytest.raises(ValueError, match="token ids"):
        eli5.explain(model, np.zeros((1, 10), np.int32), method="fullgrad")


def test_channels_first_layers_are_rejected():
    keras.utils.set_random_seed(44)
    inp = keras.Input((6, 6, 2))
    h = L.Permute((3, 1, 2))(inp)
    h = L.Conv2D(3, 3, data_format="channels_first", name="cf")(h)
    model = keras.Model(inp, L.Dense(2)(L.Flatten()(h)))
    with pytest.raises(ValueError, match="data_format='channels_first'"):
        eli5.explain(model, inputs(1), method="fullgrad")


def test_bad_scale():
    with pytest.raises(ValueError, match=r"scale must be one of 'sample', 'channel', 'channel_mean'; got 'pixel'"):
        get("fullgrad", scale="pixel")


def test_keras_explainable_options_against_numpy(tiny):
    """scale="channel_mean", after_activation, sum_targets and layers, written out:
    S = sum_t logit[c_t], z_l the outputs of c1 (after its fused ReLU) and bn only,
    psi = channel mean of |t| min-maxed per channel (0 where constant), one map repeated
    per target; the gap is S minus the kept terms' sums."""
    x = inputs(seed=10)
    classes = np.array([[0, 2], [1, 0], [2, 2]])
    c1, bn, head = (tiny.get_layer(n) for n in ("c1", "bn", "head"))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        a1 = c1(xt)  # relu(conv): the layer's output
        zbn = bn(a1, training=False)
        pooled = tf.reduce_mean(tiny.get_layer("c2")(tf.nn.relu(zbn)), axis=[1, 2])
        logits = tf.matmul(pooled, head.kernel) + head.bias  # before the softmax
        total = tf.reduce_sum(tf.gather(logits, classes, batch_dims=1), axis=1)
    grads = tape.gradient(total, [xt, a1, zbn])

    def psi(t):
        t = np.abs(np.asarray(t, np.float64))
        low, high = t.min(axis=(1, 2), keepdims=True), t.max(axis=(1, 2), keepdims=True)
        return np.divide(t - low, high - low, out=np.zeros_like(t), where=high > low).mean(axis=-1)

    terms = [(grads[0] * xt).numpy(), grads[1].numpy() * c1.bias.numpy(), grads[2].numpy() * folded_bn_bias(bn)]
    expected = sum(psi(t) for t in terms)  # every grid is the input's (6 x 6)
    gap = total.numpy() - sum(t.reshape(3, -1).sum(axis=1) for t in terms)
    result = eli5.explain(
        tiny, x, method="fullgrad", targets=classes, relu=False, normalize=False,
        scale="channel_mean", after_activation=True, sum_targets=True, layers=("c1", "bn"),
    )
    assert result.maps.shape == (3, 2, 6, 6)
    for t in range(2):
        np.testing.assert_allclose(result.maps[:, t], expected, atol=1e-5)
        np.testing.assert_allclose(result.extras["completeness_gap"][:, t], gap, atol=1e-4)
    assert head.activation.__name__ == "softmax"  # the model is unchanged


def test_keras_explainable_options_are_checked(tiny):
    x = inputs()
    with pytest.raises(ValueError, match="layers\\[0\\] must be a layer that adds a bias"):
        eli5.explain(tiny, x, method="fullgrad", layers=(tiny.layers[-2].name,))
    with pytest.raises(TypeError, match="layers\\[0\\] must be a layer name"):
        get("fullgrad", layers=(1,))
    with pytest.raises(TypeError, match="after_activation"):
        get("fullgrad", after_activation="yes")

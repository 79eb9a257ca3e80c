"""ReLU rules: which layers get them, their numbers, and the signal they send backward."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.backend.graph import GraphRunner
from eli5_keras.backend.relu_rules import non_relu_paths, relu_paths, relu_rule_overrides, rule_function

L = keras.layers


def names(paths):
    return sorted("/".join(layer.name for layer in path) for path in paths)


def zoo_model():
    """Every kind of ReLU, at three nesting depths, and non-ReLU nonlinearities."""
    inner_in = keras.Input((6, 4))
    h = L.Conv1D(4, 1, activation="relu", name="inner_conv")(inner_in)
    inner = keras.Model(inner_in, L.Activation("gelu", name="inner_gelu")(h), name="inner")
    mid_in = keras.Input((6, 4))
    h = inner(mid_in)
    h = L.ReLU(max_value=2.0, threshold=0.1, name="mid_relu")(h)
    mid = keras.Model(mid_in, h, name="mid")
    inp = keras.Input((6, 2))
    h = L.Dense(4, activation="relu6", name="dense_relu6")(inp)
    h = mid(h)
    h = L.Activation("relu", name="act_relu")(h)
    h = L.LeakyReLU(negative_slope=0.2, name="leaky")(h)
    h = keras.ops.relu(h)
    h = L.Conv1D(4, 3, padding="same", activation="tanh", name="conv_tanh")(h)
    h = L.Dense(4, activation="swish", name="dense_swish")(h)
    h = L.SimpleRNN(3, activation="relu", name="rnn")(h)
    out = L.Dense(2, activation="softmax", name="probs")(h)
    return keras.Model(inp, out, name="zoo")


def test_relu_paths_reach_every_kind_at_every_depth():
    model = zoo_model()
    found = names(relu_paths(model))
    relu_op = [op.name for op in model.operations if type(op).__name__ == "Relu"]
    assert found == sorted(
        ["dense_relu6", "mid/inner/inner_conv", "mid/mid_relu", "act_relu", "leaky"] + relu_op
    )
    others = {"/".join(x.name for x in path): name for path, name in non_relu_paths(model)}
    assert others == {
        "mid/inner/inner_gelu": "gelu",
        "conv_tanh": "tanh",
        "dense_swish": "silu",
        "rnn": "relu inside SimpleRNN",
        "probs": "softmax",
    }
    skip = ((model.get_layer("probs"),),)
    assert "probs" not in {path[-1].name for path, _ in non_relu_paths(model, skip=skip)}


def apply_rule(activation, rule, z, dy):
    z = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(z)
        y = rule_function(activation, rule)(z)
    return y.numpy(), tape.gradient(y, z, output_gradients=tf.constant(dy)).numpy()


@pytest.mark.parametrize(
    "layer, derivative",
    [
        (L.ReLU(), lambda z: (z > 0).astype(np.float32)),
        (L.ReLU(max_value=1.0, threshold=0.5), lambda z: ((z > 0.5) & (z < 1.0)).astype(np.float32)),
        (L.ReLU(negative_slope=0.1), lambda z: np.where(z > 0, 1.0, 0.1)),
        (L.Activation("relu6"), lambda z: ((z > 0) & (z < 6)).astype(np.float32)),
    ],
)
def test_rule_numbers(layer, derivative):
    rng = np.random.default_rng(0)
    z = rng.uniform(-8, 8, size=(4, 50)).astype(np.float32)
    dy = rng.normal(size=z.shape).astype(np.float32)
    y, guided = apply_rule(layer, "guided", z, dy)
    np.testing.assert_allclose(y, layer(z).numpy())  # forward unchanged
    np.testing.assert_allclose(guided, np.maximum(dy, 0) * (derivative(z) > 0))
    _, deconv = apply_rule(layer, "deconvnet", z, dy)
    np.testing.assert_allclose(deconv, np.maximum(dy, 0))
    with tf.GradientTape() as tape:
        zt = tf.constant(z)
        tape.watch(zt)
        ordinary = tape.gradient(layer(zt), zt, output_gradients=tf.constant(dy)).numpy()
    np.testing.assert_allclose(ordinary, dy * derivative(z), rtol=1e-6)
    assert not np.allclose(ordinary, guided)


def nested_relu_model():
    """x -> backbone[Dense(relu) -> Dense -> ReLU] -> Flatten -> Dense (linear logits)."""
    keras.utils.set_random_seed(40)
    b_in = keras.Input((6, 2))
    h = L.Dense(4, activation="relu", name="d1")(b_in)
    h = L.ReLU(name="r2")(L.Dense(5, name="d2")(h))
    backbone = keras.Model(b_in, h, name="backbone")
    inp = keras.Input((6, 2))
    return keras.Model(inp, L.Dense(3, name="out")(L.Flatten()(backbone(inp))), name="nested_relu")


@pytest.mark.parametrize("rule", ["guided", "deconvnet"])
def test_signal_leaving_every_relu_backward_is_the_rule_of_the_arriving_one(rule):
    model = nested_relu_model()
    paths = relu_paths(model)
    assert names(paths) == ["backbone/d1", "backbone/r2"]
    x = tf.constant(np.random.default_rng(1).normal(size=(4, 6, 2)).astype(np.float32))
    preactivations = []

    def watch(z):
        tape.watch(z)
        preactivations.append(z)

    with tf.GradientTape(persistent=True) as tape:
        outputs_at_relu, (logits,) = GraphRunner(
            model, taps=paths, overrides=relu_rule_overrides(model, rule, on_preactivation=watch)
        )([x], on_tap=tape.watch)
        score = logits[:, 1]
    np.testing.assert_allclose(logits.numpy(), model(x).numpy(), rtol=1e-5, atol=1e-6)
    for z, y in zip(preactivations, outputs_at_relu):
        arriving = tape.gradient(score, y).numpy()
        leaving = tape.gradient(score, z).numpy()
        assert (arriving < 0).any()  # the ordinary backward signal has both signs
        assert (leaving >= 0).all() and (leaving > 0).any()
        mask = (z.numpy() > 0) if rule == "guided" else 1.0
        np.testing.assert_allclose(leaving, np.maximum(arriving, 0) * mask, rtol=1e-6, atol=1e-7)


def test_unknown_rule():
    with pytest.raises(ValueError, match="rule must be one of"):
        relu_rule_overrides(nested_relu_model(), "lrp")

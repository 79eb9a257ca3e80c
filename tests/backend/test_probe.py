"""LayerProbe pieces: the final squashing layer and the linear call that reads logits."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.backend.probe import LinearCall, final_squashing
from eli5_keras.compat.probe import LayerProbe

from helpers.data import images

L = keras.layers


def test_final_squashing_kinds(seq_model, func_model, nested_model, sigmoid_model, simple_seq):
    path, kind = final_squashing(seq_model)
    assert kind == "softmax" and path == (seq_model.get_layer("dense"),)
    path, kind = final_squashing(func_model)
    assert kind == "softmax" and path == (func_model.get_layer("probs"),)
    assert final_squashing(sigmoid_model)[1] == "sigmoid"
    assert final_squashing(nested_model)[1] == "softmax"
    assert final_squashing(simple_seq)[1] == ""


def test_final_squashing_inside_a_nested_head():
    keras.utils.set_random_seed(0)
    head_in = keras.Input((3,))
    head = keras.Model(head_in, L.Dense(2, activation="softmax", name="h_dense")(head_in), name="head")
    inp = keras.Input((3,))
    model = keras.Model(inp, head(inp))
    path, kind = final_squashing(model)
    assert kind == "softmax"
    assert path == (head, head.get_layer("h_dense"))


def test_softmax_layer_is_final_squashing():
    inp = keras.Input((3,))
    out = L.Softmax(name="sm")(L.Dense(3)(inp))
    path, kind = final_squashing(keras.Model(inp, out))
    assert kind == "softmax" and path[-1].name == "sm"


def test_linear_call_reads_pre_activation_and_leaves_the_layer_alone(seq_model):
    dense = seq_model.get_layer("dense")
    before = dict(vars(dense))
    call = LinearCall(dense)
    h = np.random.default_rng(0).normal(size=(3, 6)).astype(np.float32)
    logits = call(dense, tf.constant(h)).numpy()
    np.testing.assert_allclose(logits, h @ dense.kernel.numpy() + dense.bias.numpy(), rtol=1e-5, atol=1e-6)
    # the user's layer still squashes, and nothing in it was replaced
    assert dense.activation is keras.activations.softmax
    assert vars(dense).keys() == before.keys()
    assert all(vars(dense)[k] is v for k, v in before.items())
    np.testing.assert_allclose(
        dense(h).numpy(), tf.nn.softmax(h @ dense.kernel.numpy() + dense.bias.numpy()).numpy(), rtol=1e-5, atol=1e-6
    )
    # the copy shares the variables (so it follows training)
    assert call.linear is not dense
    assert call.linear.kernel is dense.kernel and call.linear.bias is dense.bias
    np.testing.assert_allclose(call.squash(logits).numpy(), dense(h).numpy(), rtol=1e-5, atol=1e-6)


def test_linear_call_of_an_activation_layer_is_identity(func_model):
    probs = func_model.get_layer("probs")
    call = LinearCall(probs)
    x = tf.constant([[1.0, 2.0, 3.0]])
    assert call(probs, x) is x
    np.testing.assert_allclose(call.squash(x).numpy(), tf.nn.softmax(x).numpy(), rtol=1e-6)
    assert probs.activation is keras.activations.softmax


def test_probe_outputs_are_the_model_outputs(seq_model):
    x = images(2, seed=1)
    probe = LayerProbe(seq_model, (seq_model.get_layer("conv2"),))
    result = probe.run([tf.constant(x)], tf.constant([[-1, 2], [0, -2]], tf.int32))
    out = seq_model(x).numpy()
    np.testing.assert_allclose(result.outputs.numpy(), out, rtol=1e-5, atol=1e-7)
    order = np.argsort(-out, axis=1)
    expected = np.array([[order[0, 0], 2], [0, order[1, 1]]])
    np.testing.assert_array_equal(result.classes.numpy(), expected)
    np.testing.assert_allclose(result.scores.numpy(), np.take_along_axis(out, expected, 1), rtol=1e-5)
    assert tuple(result.gradients.shape) == (2, 2, 6, 6, 6)


@pytest.mark.parametrize("code", [[[0]], [[0, 1]]])
def test_probe_refuses_a_layer_the_score_does_not_depend_on(code):
    keras.utils.set_random_seed(1)
    inp = keras.Input((6, 6, 1))
    side = L.Conv2D(2, 3, name="side")(inp)
    out = L.Dense(2)(L.Flatten()(L.Conv2D(2, 3)(inp)))
    model = keras.Model(inp, [out, side])
    probe = LayerProbe(model, (model.get_layer("side"),))
    with pytest.raises(ValueError, match="does not depend on layer 'side'"):
        probe.run([tf.constant(np.ones((1, 6, 6, 1), np.float32))], tf.constant(code, tf.int32))

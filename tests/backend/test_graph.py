"""GraphRunner: the model's own graph run with taps (nested models included)."""
import keras
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.backend.graph import (
    GraphRunner,
    is_container,
    is_graph_model,
    model_inputs,
    model_outputs,
)

from helpers.data import SIZE, images

L = keras.layers


def test_is_container_and_is_graph_model(seq_model, func_model, nested_model):
    backbone = nested_model.get_layer("backbone")
    assert is_container(backbone) and is_container(seq_model)
    assert not is_container(seq_model.get_layer("conv1"))
    assert is_graph_model(seq_model) and is_graph_model(func_model) and is_graph_model(backbone)
    assert not is_graph_model(seq_model.get_layer("conv1"))


class TinySubclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv = L.Conv2D(2, 3, name="t_conv")
        self.gap = L.GlobalAveragePooling2D()
        self.dense = L.Dense(3, name="t_dense")

    def call(self, x):
        return self.dense(self.gap(self.conv(x)))


def test_subclassed_model_is_not_a_graph_model():
    model = TinySubclassed()
    assert is_container(model) and not is_graph_model(model)


def test_model_inputs_and_outputs_of_graph_models(multi_input_model, seq_model):
    assert [tuple(x.shape) for x in model_inputs(multi_input_model)] == [(None, SIZE, SIZE, 3), (None, 4)]
    assert [x.name for x in model_inputs(multi_input_model)] == ["image", "vector"]
    assert [tuple(x.shape) for x in model_outputs(seq_model)] == [(None, 5)]


def test_model_inputs_and_outputs_of_a_subclassed_model():
    model = TinySubclassed()
    with pytest.raises(ValueError, match="no known input shape"):
        model_inputs(model)
    model(np.zeros((2, 7, 9, 4), np.float32))
    (spec,) = model_inputs(model)
    assert tuple(spec.shape) == (None, 7, 9, 4)  # batch axis free
    assert spec.dtype == "float32"
    (out,) = model_outputs(model)
    assert tuple(out.shape) == (None, 3)
    # describing the outputs did not connect the layers symbolically
    with pytest.raises(AttributeError):
        model.conv.output


def test_taps_match_layers_called_by_hand(func_model):
    x = images(2)
    conv1, conv2 = func_model.get_layer("f_conv1"), func_model.get_layer("f_conv2")
    seen = []
    runner = GraphRunner(func_model, taps=[(conv2,), (conv1,)])
    tapped, outputs = runner([tf.constant(x)], on_tap=seen.append)
    a1 = conv1(x).numpy()
    a2 = conv2(a1).numpy()
    np.testing.assert_allclose(tapped[1].numpy(), a1, rtol=1e-6, atol=1e-6)  # in tap order
    np.testing.assert_allclose(tapped[0].numpy(), a2, rtol=1e-5, atol=1e-6)
    assert len(outputs) == 1
    np.testing.assert_allclose(outputs[0].numpy(), func_model(x).numpy(), rtol=1e-6, atol=1e-7)
    assert len(seen) == 2 and seen[0] is tapped[1] and seen[1] is tapped[0]  # as they are produced


def test_tap_inside_a_nested_model(nested_model):
    x = images(2, seed=1)
    backbone = nested_model.get_layer("backbone")
    conv1 = backbone.get_layer("b_conv1")
    tapped, outputs = GraphRunner(nested_model, taps=[(backbone, conv1)])([tf.constant(x)])
    np.testing.assert_allclose(tapped[0].numpy(), conv1(x).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(outputs[0].numpy(), nested_model(x).numpy(), rtol=1e-6, atol=1e-7)


def test_tap_sequential(seq_model):
    x = images(3, seed=2)
    gap = seq_model.get_layer("gap")
    tapped, outputs = GraphRunner(seq_model, taps=[(gap,)])([tf.constant(x)])
    h = seq_model.get_layer("conv2")(seq_model.get_layer("conv1")(x))
    np.testing.assert_allclose(tapped[0].numpy(), np.mean(h.numpy(), axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs[0].numpy(), seq_model(x).numpy(), rtol=1e-6, atol=1e-7)


def test_sequential_built_by_a_call_without_input():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([L.Conv2D(2, 3, name="q_conv"), L.Flatten(), L.Dense(3)])
    x = images(2, size=6)
    model(x)
    tapped, outputs = GraphRunner(model, taps=[(model.layers[0],)])([tf.constant(x)])
    np.testing.assert_allclose(tapped[0].numpy(), model.layers[0](x).numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(outputs[0].numpy(), model(x).numpy(), rtol=1e-6, atol=1e-6)


def test_override_replaces_a_layer_call(seq_model):
    x = images(2, seed=3)
    dense = seq_model.get_layer("dense")
    calls = []

    def pre_activation(layer, h):
        calls.append(layer)
        return tf.matmul(h, layer.kernel) + layer.bias

    _, outputs = GraphRunner(seq_model, overrides={(dense,): pre_activation})([tf.constant(x)])
    h = np.mean(seq_model.get_layer("conv2")(seq_model.get_layer("conv1")(x)).numpy(), axis=(1, 2))
    expected = h @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(outputs[0].numpy(), expected, rtol=1e-5, atol=1e-5)
    assert calls == [dense]


def test_override_inside_a_nested_model(nested_model):
    backbone = nested_model.get_layer("backbone")
    conv2 = backbone.get_layer("b_conv2")
    x = images(1, seed=4)
    _, outputs = GraphRunner(nested_model, overrides={(backbone, conv2): lambda layer, h: tf.zeros_like(layer(h))})(
        [tf.constant(x)]
    )
    # zero features -> softmax of the Dense bias
    dense = nested_model.get_layer("n_dense")
    expected = tf.nn.softmax(dense.bias.numpy()[None]).numpy()
    np.testing.assert_allclose(outputs[0].numpy(), expected, rtol=1e-6, atol=1e-7)


def test_tap_not_on_the_graph(seq_model):
    foreign = L.Conv2D(2, 3, name="foreign")
    with pytest.raises(ValueError, match="foreign.*not reached"):
        GraphRunner(seq_model, taps=[(foreign,)])([tf.constant(images(1))])


def test_runner_inside_tf_function_matches_eager(nested_model):
    backbone = nested_model.get_layer("backbone")
    runner = GraphRunner(nested_model, taps=[(backbone, backbone.get_layer("b_conv2"))])
    x = tf.constant(images(2, seed=5))
    graph = tf.function(lambda v: runner([v]))(x)
    eager = runner([x])
    np.testing.assert_allclose(graph[0][0].numpy(), eager[0][0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(graph[1][0].numpy(), eager[1][0].numpy(), rtol=1e-5, atol=1e-7)


def test_runner_calls_layers_in_inference_mode():
    keras.utils.set_random_seed(1)
    inp = keras.Input((4,))
    h = L.Dense(8, name="rd")(inp)
    drop = L.Dropout(0.9, name="drop")
    out = L.Dense(2)(drop(h))
    model = keras.Model(inp, out)
    x = np.ones((64, 4), np.float32)
    tapped, outputs = GraphRunner(model, taps=[(drop,)])([tf.constant(x)])
    np.testing.assert_allclose(tapped[0].numpy(), model.get_layer("rd")(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(outputs[0].numpy(), model(x, training=False).numpy(), rtol=1e-6, atol=1e-6)


class TwoInputSubclassed(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = L.Dense(2)

    def call(self, inputs):
        return self.dense(inputs[0] + inputs[1])


def test_model_inputs_of_a_subclassed_model_built_on_several_inputs():
    model = TwoInputSubclassed()
    model([np.zeros((1, 3), np.float32), np.zeros((1, 3), np.float32)])
    with pytest.raises(ValueError, match="no known input shape"):
        model_inputs(model)

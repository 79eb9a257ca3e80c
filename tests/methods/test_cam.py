"""CAM (Zhou et al. 2016): the Dense kernel after global average pooling, the walk
that finds it, and the identity CAM = Z * Grad-CAM on such heads."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.targets import FunctionTarget, OutputTarget, RegressionTarget

from helpers.data import images, signals, volumes

L = keras.layers
RAW = dict(relu=False, normalize=False, resize=False)
ARCHITECTURE = r"conv -> GlobalAveragePooling -> Dense.*method='gradcam'"


def by_hand(acts, kernel, classes):
    """L[n, t] = sum_k W[k, classes[n, t]] A[n, ..., k], in float64."""
    a = np.asarray(acts, np.float64)
    w = np.asarray(kernel, np.float64)[:, np.asarray(classes)]  # (C, N, T)
    return np.einsum("n...k,knt->nt...", a, w)


def close(actual, expected, rtol=1e-5):
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def test_numbers_are_the_dense_kernel_times_the_activations(seq_model, seq_parts):
    x = images(3, seed=1)
    classes = np.array([[0, 3], [2, 2], [4, 1]])
    result = eli5.explain(seq_model, x, method="cam", targets=classes, **RAW)
    acts = seq_parts[0](x).numpy()
    np.testing.assert_array_equal(result.targets, classes)
    close(result.maps, by_hand(acts, seq_model.get_layer("dense").kernel.numpy(), classes))
    np.testing.assert_allclose(
        result.scores, np.take_along_axis(seq_model(x).numpy(), classes, axis=1), rtol=1e-5
    )


@pytest.mark.parametrize(
    "fixture, layer, data, positions",
    [
        ("seq_model", "conv2", images(2, seed=2), 36),
        ("nested_model", "backbone/b_conv2", images(2, seed=3), 64),
        ("signal_model", "sig_conv2", signals(2, seed=4), 8),
        ("volume_model", "vol_conv2", volumes(2, seed=5), 27),
    ],
)
def test_cam_is_gradcam_times_the_number_of_positions(request, fixture, layer, data, positions):
    model = request.getfixturevalue(fixture)
    cam = eli5.explain(model, data, method="cam", layer=layer, top_k=2, **RAW)
    grad = eli5.explain(model, data, method="gradcam", layer=layer, top_k=2, **RAW)
    np.testing.assert_array_equal(cam.targets, grad.targets)
    close(cam.maps, positions * grad.maps, rtol=1e-4)
    # and after the default pipeline (ReLU, min-max, resize) the maps are the same
    cam = eli5.explain(model, data, method="cam", layer=layer, top_k=2)
    grad = eli5.explain(model, data, method="gradcam", layer=layer, top_k=2)
    np.testing.assert_allclose(cam.maps, grad.maps, atol=1e-4)


def test_binary_sigmoid_classifier(binary_model):
    x = images(2, seed=6)
    result = eli5.explain(binary_model, x, method="cam", targets=[[0, 1]] * 2, **RAW)
    acts = binary_model.get_layer("bin_conv")(tf.constant(x)).numpy()
    w = binary_model.get_layer("bin_dense").kernel.numpy()[:, 0]
    close(result.maps[:, 1], np.einsum("nijk,k->nij", acts, w))
    close(result.maps[:, 0], -result.maps[:, 1])


def test_multi_output_model_reads_the_kernel_of_the_explained_output(multi_output_model):
    x = images(2, seed=7)
    acts = multi_output_model.get_layer("mo_conv")(tf.constant(x)).numpy()
    cls = eli5.explain(multi_output_model, x, method="cam", targets=[[1]] * 2, output_index=0, **RAW)
    close(cls.maps, by_hand(acts, multi_output_model.get_layer("cls").kernel.numpy(), [[1]] * 2))
    reg = eli5.explain(multi_output_model, x, method="cam", targets=[[1]] * 2, output_index=1, **RAW)
    close(reg.maps, by_hand(acts, multi_output_model.get_layer("reg").kernel.numpy(), [[0]] * 2))


# --------------------------------------------------------------------------
# heads the walk accepts
# --------------------------------------------------------------------------


def check_head(model, layer, conv, dense):
    x = images(2, size=8, channels=2, seed=8)
    result = eli5.explain(model, x, method="cam", layer=layer, top_k=2, **RAW)
    acts = conv(x)
    close(result.maps, by_hand(acts, dense.kernel.numpy(), result.targets))
    assert np.isfinite(result.maps).all()


def test_dropout_flatten_and_linear_activation_between_pooling_and_dense():
    keras.utils.set_random_seed(30)
    inp = keras.Input((8, 8, 2))
    conv = L.Conv2D(3, 3, activation="relu", name="conv")
    h = L.GlobalAveragePooling2D(keepdims=True)(conv(inp))
    h = L.Flatten()(h)
    h = L.Dropout(0.5)(h)
    h = L.Activation("linear")(h)
    dense = L.Dense(4, name="dense")
    out = L.Activation("softmax")(dense(h))
    model = keras.Model(inp, out)
    check_head(model, "conv", lambda x: conv(tf.constant(x)).numpy(), dense)


def test_pooling_and_dense_in_a_nested_head_model():
    keras.utils.set_random_seed(31)
    head = keras.Sequential([L.GlobalAveragePooling2D(), L.Dropout(0.2), L.Dense(4, activation="softmax")], name="head")
    inp = keras.Input((8, 8, 2))
    conv = L.Conv2D(3, 3, name="conv")
    model = keras.Model(inp, head(conv(inp)))
    check_head(model, "conv", lambda x: conv(tf.constant(x)).numpy(), head.layers[-1])


def test_pooling_inside_the_backbone():
    keras.utils.set_random_seed(32)
    b_in = keras.Input((8, 8, 2))
    conv = L.Conv2D(3, 3, name="conv")
    backbone = keras.Model(b_in, L.GlobalAveragePooling2D()(conv(b_in)), name="backbone")
    inp = keras.Input((8, 8, 2))
    dense = L.Dense(4, activation="softmax", name="dense")
    model = keras.Model(inp, dense(backbone(inp)))
    check_head(model, "backbone/conv", lambda x: conv(tf.constant(x)).numpy(), dense)


def test_sequential_model():
    keras.utils.set_random_seed(33)
    model = keras.Sequential(
        [keras.Input((8, 8, 2)), L.Conv2D(3, 3, name="conv"), L.GlobalAveragePooling2D(), L.Dense(4)]
    )
    check_head(model, "conv", lambda x: model.layers[0](tf.constant(x)).numpy(), model.layers[-1])


def test_subclassed_chain_model():
    class Chain(keras.Model):
        def __init__(self):
            super().__init__(name="chain")
            self.conv = L.Conv2D(3, 3, name="conv")
            self.pool = L.GlobalAveragePooling2D()
            self.dense = L.Dense(4, activation="softmax")

        def call(self, x):
            return self.dense(self.pool(self.conv(x)))

    keras.utils.set_random_seed(34)
    model = Chain()
    model(tf.zeros((1, 8, 8, 2)))
    check_head(model, "conv", lambda x: model.conv(tf.constant(x)).numpy(), model.dense)


def test_layer_also_returned_as_another_output():
    keras.utils.set_random_seed(35)
    inp = keras.Input((8, 8, 2))
    conv = L.Conv2D(3, 3, name="conv")
    h = conv(inp)
    dense = L.Dense(4, activation="softmax", name="dense")
    model = keras.Model(inp, [dense(L.GlobalAveragePooling2D()(h)), h])
    check_head(model, "conv", lambda x: conv(tf.constant(x)).numpy(), dense)


# --------------------------------------------------------------------------
# heads and targets it refuses
# --------------------------------------------------------------------------


def test_flatten_head_is_refused(func_model):
    with pytest.raises(ValueError, match=ARCHITECTURE) as err:
        eli5.explain(func_model, images(1), method="cam", layer="f_conv2")
    assert "'f_conv2'" in str(err.value) and "f_pool" in str(err.value)


def test_concatenated_features_are_refused(multi_input_model):
    x = [images(1), np.zeros((1, 4), np.float32)]
    with pytest.raises(ValueError, match=ARCHITECTURE) as err:
        eli5.explain(multi_input_model, x, method="cam")
    assert "m_concat" not in str(err.value) and "m_gap" in str(err.value)


def test_an_earlier_layer_is_refused(seq_model):
    with pytest.raises(ValueError, match=ARCHITECTURE):
        eli5.explain(seq_model, images(1), method="cam", layer="conv1")


def test_nonlinear_activation_between_pooling_and_dense_is_refused():
    keras.utils.set_random_seed(36)
    inp = keras.Input((8, 8, 2))
    h = L.GlobalAveragePooling2D()(L.Conv2D(3, 3, name="conv")(inp))
    model = keras.Model(inp, L.Dense(4)(L.Activation("relu")(h)))
    with pytest.raises(ValueError, match=ARCHITECTURE):
        eli5.explain(model, images(1, size=8, channels=2), method="cam", layer="conv")


def test_a_second_route_from_the_layer_is_refused():
    keras.utils.set_random_seed(37)
    inp = keras.Input((8, 8, 2))
    h = L.Conv2D(3, 3, name="conv")(inp)
    avg = L.Dense(4)(L.GlobalAveragePooling2D()(h))
    peak = L.Dense(4)(L.GlobalMaxPooling2D()(h))
    model = keras.Model(inp, L.Add()([avg, peak]))
    with pytest.raises(ValueError, match=ARCHITECTURE):
        eli5.explain(model, images(1, size=8, channels=2), method="cam", layer="conv")


def test_channels_first_pooling_is_refused():
    keras.utils.set_random_seed(38)
    inp = keras.Input((8, 8, 2))
    h = L.GlobalAveragePooling2D(data_format="channels_first")(L.Conv2D(3, 3, name="conv")(inp))
    model = keras.Model(inp, L.Dense(4)(h))
    with pytest.raises(ValueError, match=ARCHITECTURE):
        eli5.explain(model, images(1, size=8, channels=2), method="cam", layer="conv")


@pytest.mark.parametrize(
    "target",
    [RegressionTarget(unit=1), FunctionTarget(lambda out: out[:, 0]), OutputTarget(1, RegressionTarget())],
)
def test_non_class_targets_are_refused(regression_model, multi_output_model, target):
    model = multi_output_model if isinstance(target, OutputTarget) else regression_model
    with pytest.raises(ValueError, match="class targets only.*method='gradcam'"):
        eli5.explain(model, images(1), method="cam", targets=target)

"""Keras 2 models: .h5 files written by tf-keras, and live tf_keras model objects.

The files are written by tf-keras in the test run (no downloads); Grad-CAM is checked
against a plain Grad-CAM taken with a GradientTape on the tf-keras model itself."""
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.backend.legacy import is_tf_keras_model
from eli5_keras.cli.models import load_model
from helpers.reference import plain_gradcam

tf_keras = pytest.importorskip("tf_keras", reason="tf-keras is installed by the README's test command (--no-deps)")

SIZE = (12, 12)


def keras2_cnn(seed=0):
    """A tf-keras functional CNN: conv 'conv' (10x10x4) -> pool -> dense 3 (softmax)."""
    tf_keras.utils.set_random_seed(seed)
    L = tf_keras.layers
    x = L.Input(SIZE + (3,), name="image")
    a = L.Conv2D(4, 3, activation="relu", name="conv")(x)
    h = L.GlobalAveragePooling2D(name="pool")(a)
    logits = L.Dense(3, name="logits")(h)
    out = L.Activation("softmax", name="probs")(logits)
    return tf_keras.Model(x, out, name="keras2_cnn")


def reference_maps(model, x, classes):
    """Grad-CAM at 'conv' of the logits, from scratch on the tf-keras model."""
    conv, pool, dense = (model.get_layer(n) for n in ("conv", "pool", "logits"))
    features = tf_keras.Model(model.input, conv.output)
    maps, _ = plain_gradcam(features, lambda a: dense(pool(a)), x, classes, size=SIZE)
    return maps


@pytest.fixture(scope="module")
def model():
    return keras2_cnn()


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 1, (3,) + SIZE + (3,)).astype(np.float32)


def test_h5_written_by_keras2_loads_and_explains(tmp_path, model, images):
    path = tmp_path / "keras2.h5"
    model.save(path, save_format="h5")
    loaded = load_model(str(path)).model  # the CLI's loader: keras.models.load_model reads Keras 2 files
    classes = np.argmax(model.predict(images, verbose=0), axis=1)[:, None]
    result = eli5.explain(loaded, images, layer="conv", targets=classes)
    np.testing.assert_allclose(result.maps, reference_maps(model, images, classes), atol=1e-5)


def test_live_tf_keras_model_is_explained_without_being_changed(model, images):
    assert is_tf_keras_model(model) and not is_tf_keras_model(object())
    before = [w.copy() for w in model.get_weights()]
    layers = [layer.name for layer in model.layers]
    classes = np.array([[0], [1], [2]])
    result = eli5.explain(model, images, layer="conv", targets=classes)
    np.testing.assert_allclose(result.maps, reference_maps(model, images, classes), atol=1e-5)
    assert result.model_name == "keras2_cnn"
    assert [layer.name for layer in model.layers] == layers
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)
    expl = eli5.explain_prediction(model, images[:1], targets=[1])  # eli5's API, automatic layer
    assert expl.error in (None, "") and expl.targets[0].target == 1 and expl.targets[0].heatmap.shape == (10, 10)  # eli5: the layer's grid


def test_weights_changed_between_calls_are_used(images):
    model = keras2_cnn(seed=1)
    classes = np.array([[2], [2], [2]])
    first = eli5.explain(model, images, layer="conv", targets=classes, normalize=False)
    model.get_layer("logits").set_weights([-w for w in model.get_layer("logits").get_weights()])
    second = eli5.explain(model, images, layer="conv", targets=classes, normalize=False)
    expected, _ = plain_gradcam(
        tf_keras.Model(model.input, model.get_layer("conv").output),
        lambda a: model.get_layer("logits")(model.get_layer("pool")(a)),
        images, classes, normalize=False, size=SIZE,
    )
    np.testing.assert_allclose(second.maps, expected, atol=1e-5)
    assert not np.allclose(first.maps, second.maps)


def test_subclassed_tf_keras_model_says_what_to_do(images):
    class Net(tf_keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = tf_keras.layers.Conv2D(2, 3)
            self.head = tf_keras.layers.Dense(2)

        def call(self, x):
            return self.head(tf.reduce_mean(self.conv(x), axis=(1, 2)))

    net = Net()
    net(images)
    with pytest.raises(TypeError, match=r"tf-keras \(Keras 2\).*cannot write as \.h5.*Keras 3"):
        eli5.explain(net, images)


def test_not_a_model_still_named():
    with pytest.raises(TypeError, match="model must be a keras.Model; got str"):
        eli5.explain("model.h5", np.zeros((1, 4, 4, 3), np.float32))

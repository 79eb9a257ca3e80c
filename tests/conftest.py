"""Shared tiny Keras models and an independent plain-TF Grad-CAM reference.

The models are session-scoped (built once) and no test changes them; tests that
need to delete or otherwise own a model build their own. The reference
(:func:`plain_gradcam`) only uses ``tf.GradientTape``, numpy and
``tf.image.resize`` on pieces of the models (layers called one by one, Dense
kernels applied by hand), never eli5_keras.
"""
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

L = keras.layers

SIZE = 12
CHANNELS = 3
NUM_CLASSES = 5
EPS = 1e-7


# --------------------------------------------------------------------------
# independent reference
# --------------------------------------------------------------------------


def dense_logits(dense, h):
    """A Dense layer's pre-activation output, from its kernel and bias."""
    return tf.matmul(h, dense.kernel) + dense.bias


def plain_gradcam(features, head, x, classes, relu=True, normalize=True, size=None):
    """Grad-CAM computed from scratch.

    features(x) -> A (N, *s, C);  head(A) -> scores (N, K);  classes (N, T) ints.
    w = mean over s of dS[n, c] / dA;  L = sum_k w_k A_k;  then optionally ReLU,
    per-map min-max with eps 1e-7, and tf.image.resize bilinear (2-D) to ``size``.
    Returns maps (N, T, *s or size) float64 and the head scores (N, K).
    """
    classes = np.asarray(classes)
    with tf.GradientTape(persistent=True) as tape:
        acts = features(x)
        tape.watch(acts)
        scores = head(acts)
        selected = [
            tf.reduce_sum(tf.gather(scores, classes[:, t], batch_dims=1)) for t in range(classes.shape[1])
        ]
    grads = [tape.gradient(s, acts).numpy().astype(np.float64) for s in selected]
    del tape
    a = acts.numpy().astype(np.float64)
    spatial = tuple(range(1, a.ndim - 1))
    maps = []
    for g in grads:
        w = g.mean(axis=spatial)  # (N, C)
        maps.append(np.einsum("n...c,nc->n...", a, w))
    maps = np.stack(maps, axis=1)  # (N, T, *s)
    if relu:
        maps = np.maximum(maps, 0.0)
    if normalize:
        axes = tuple(range(2, maps.ndim))
        low = maps.min(axis=axes, keepdims=True)
        high = maps.max(axis=axes, keepdims=True)
        maps = (maps - low) / (high - low + EPS)
    if size is not None:
        n, t = maps.shape[:2]
        flat = maps.reshape((n * t,) + maps.shape[2:] + (1,))
        resized = tf.image.resize(flat.astype(np.float32), size, method="bilinear").numpy()
        maps = resized[..., 0].reshape((n, t) + tuple(size)).astype(np.float64)
    return maps, scores.numpy()


def plain_eli5_backend(features, head, x, target=None):
    """eli5's terms from scratch: gradient of the model OUTPUT, l2-normalised over the
    whole tensor, averaged over space."""
    with tf.GradientTape() as tape:
        acts = features(x)
        tape.watch(acts)
        out = head(acts)
        idx = int(np.argmax(out.numpy()[0])) if target is None else target
        score = out[0, idx]
    g = tape.gradient(score, acts).numpy()[0].astype(np.float64)
    g = g / np.sqrt(np.sum(g**2))
    weights = g.mean(axis=tuple(range(g.ndim - 1)))
    return weights, acts.numpy()[0], g, idx, float(out.numpy()[0, idx])


def sequential_features(model, upto):
    """Call the layers of ``model`` one by one up to and including ``upto``."""

    def features(x):
        h = tf.convert_to_tensor(x)
        for layer in model.layers:
            h = layer(h, training=False)
            if layer is upto:
                return h
        raise AssertionError(f"{upto.name} not in {model.name}")

    return features


def top_classes(scores, k=1):
    """Indices of the k highest scores per row, best first: (N, k)."""
    return np.argsort(-np.asarray(scores), axis=1, kind="stable")[:, :k]


def images(n, size=SIZE, channels=CHANNELS, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(n, size, size, channels)).astype(np.float32)


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def simple_seq():
    """eli5's test model: (32, 32, 1) -> layer0 linear -> conv -> conv -> GAP."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            L.Activation("linear", name="layer0"),
            L.Conv2D(10, 3, name="layer1"),
            L.Conv2D(20, 3, name="layer2"),
            L.GlobalAveragePooling2D(name="layer3"),
        ],
        name="simple_seq",
    )


def make_seq_model():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [
            keras.Input((SIZE, SIZE, CHANNELS)),
            L.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
            L.Conv2D(6, 3, strides=2, padding="same", activation="tanh", name="conv2"),
            L.GlobalAveragePooling2D(name="gap"),
            L.Dense(NUM_CLASSES, activation="softmax", name="dense"),
        ],
        name="seq_model",
    )


@pytest.fixture(scope="session")
def seq_model():
    """Sequential image classifier; last conv 'conv2' has a 6x6 grid; softmax Dense."""
    return make_seq_model()


@pytest.fixture(scope="session")
def seq_parts(seq_model):
    """(features, logits head, probability head) of ``seq_model``, built by hand."""
    conv2 = seq_model.get_layer("conv2")
    dense = seq_model.get_layer("dense")

    def logits(a):
        return dense_logits(dense, tf.reduce_mean(a, axis=[1, 2]))

    return sequential_features(seq_model, conv2), logits, lambda a: tf.nn.softmax(logits(a))


@pytest.fixture(scope="session")
def func_model():
    """Functional classifier ending in a separate Activation('softmax') layer."""
    keras.utils.set_random_seed(2)
    inp = keras.Input((SIZE, SIZE, CHANNELS), name="img")
    h = L.Conv2D(4, 3, activation="relu", name="f_conv1")(inp)  # 10x10
    h = L.Conv2D(5, 3, name="f_conv2")(h)  # 8x8
    h = L.MaxPooling2D(2, name="f_pool")(h)  # 4x4
    h = L.Flatten(name="f_flat")(h)
    h = L.Dense(NUM_CLASSES, name="f_logits")(h)
    out = L.Activation("softmax", name="probs")(h)
    return keras.Model(inp, out, name="func_model")


@pytest.fixture(scope="session")
def func_parts(func_model):
    conv1, conv2, pool, flat, logits_layer = (
        func_model.get_layer(n) for n in ("f_conv1", "f_conv2", "f_pool", "f_flat", "f_logits")
    )

    def features(x):
        return conv2(conv1(tf.convert_to_tensor(x)))

    def logits(a):
        return logits_layer(flat(pool(a)))  # the input of the final softmax layer

    return features, logits, lambda a: tf.nn.softmax(logits(a))


@pytest.fixture(scope="session")
def nested_model():
    """A functional backbone used as a layer inside a functional classifier."""
    keras.utils.set_random_seed(3)
    b_in = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(4, 3, activation="relu", name="b_conv1")(b_in)
    h = L.Conv2D(6, 3, name="b_conv2")(h)  # 8x8
    backbone = keras.Model(b_in, h, name="backbone")
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = backbone(inp)
    h = L.GlobalAveragePooling2D(name="n_gap")(h)
    out = L.Dense(NUM_CLASSES, activation="softmax", name="n_dense")(h)
    return keras.Model(inp, out, name="nested_model")


@pytest.fixture(scope="session")
def nested_parts(nested_model):
    backbone = nested_model.get_layer("backbone")
    dense = nested_model.get_layer("n_dense")

    def features(x):
        return backbone.get_layer("b_conv2")(backbone.get_layer("b_conv1")(tf.convert_to_tensor(x)))

    def logits(a):
        return dense_logits(dense, tf.reduce_mean(a, axis=[1, 2]))

    return features, logits


@pytest.fixture(scope="session")
def multi_input_model():
    """Image + vector inputs; pooled image features concatenated with the vector."""
    keras.utils.set_random_seed(4)
    img = keras.Input((SIZE, SIZE, CHANNELS), name="image")
    vec = keras.Input((4,), name="vector")
    h = L.Conv2D(6, 3, activation="tanh", name="m_conv")(img)  # 10x10
    h = L.GlobalAveragePooling2D(name="m_gap")(h)
    h = L.Concatenate(name="m_concat")([h, vec])
    out = L.Dense(NUM_CLASSES, activation="softmax", name="m_dense")(h)
    return keras.Model([img, vec], out, name="multi_input_model")


@pytest.fixture(scope="session")
def variable_model():
    """Fully convolutional classifier accepting any image size (None, None, 3)."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((None, None, CHANNELS))
    h = L.Conv2D(4, 3, padding="same", activation="relu", name="v_conv1")(inp)
    h = L.Conv2D(6, 3, strides=2, padding="same", name="v_conv2")(h)
    h = L.GlobalAveragePooling2D(name="v_gap")(h)
    out = L.Dense(NUM_CLASSES, activation="softmax", name="v_dense")(h)
    return keras.Model(inp, out, name="variable_model")


@pytest.fixture(scope="session")
def sigmoid_model():
    """Multi-label classifier: Dense(4, sigmoid) head."""
    keras.utils.set_random_seed(6)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(6, 3, activation="tanh", name="s_conv")(inp)
    h = L.GlobalAveragePooling2D()(h)
    out = L.Dense(4, activation="sigmoid", name="s_dense")(h)
    return keras.Model(inp, out, name="sigmoid_model")


@pytest.fixture(scope="session")
def dense_model():
    """Not an image model: Dense layers on a (10,) input."""
    keras.utils.set_random_seed(7)
    return keras.Sequential(
        [keras.Input((10,)), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")],
        name="dense_model",
    )


# --------------------------------------------------------------------------
# fixtures for every rank and every kind of head (shared by all method tests)
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def signal_model():
    """Conv1D classifier of 1-D signals (N, 16, 2); last conv 'sig_conv2' has 8 steps."""
    keras.utils.set_random_seed(7)
    inp = keras.Input((16, 2))
    h = L.Conv1D(4, 3, padding="same", activation="relu", name="sig_conv1")(inp)
    h = L.Conv1D(5, 3, strides=2, padding="same", activation="relu", name="sig_conv2")(h)
    h = L.GlobalAveragePooling1D(name="sig_gap")(h)
    out = L.Dense(3, activation="softmax", name="sig_dense")(h)
    return keras.Model(inp, out, name="signal_model")


@pytest.fixture(scope="session")
def volume_model():
    """Conv3D classifier of volumes (N, 6, 6, 6, 1); last conv 'vol_conv2' is 3x3x3."""
    keras.utils.set_random_seed(8)
    inp = keras.Input((6, 6, 6, 1))
    h = L.Conv3D(3, 3, padding="same", activation="relu", name="vol_conv1")(inp)
    h = L.Conv3D(4, 3, strides=2, padding="same", activation="relu", name="vol_conv2")(h)
    h = L.GlobalAveragePooling3D(name="vol_gap")(h)
    out = L.Dense(3, activation="softmax", name="vol_dense")(h)
    return keras.Model(inp, out, name="volume_model")


@pytest.fixture(scope="session")
def binary_model():
    """Single-sigmoid binary classifier: Dense(1, sigmoid) head."""
    keras.utils.set_random_seed(9)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(5, 3, activation="relu", name="bin_conv")(inp)
    h = L.GlobalAveragePooling2D()(h)
    out = L.Dense(1, activation="sigmoid", name="bin_dense")(h)
    return keras.Model(inp, out, name="binary_model")


@pytest.fixture(scope="session")
def regression_model():
    """Regressor with two linear outputs: Dense(2) head, no activation."""
    keras.utils.set_random_seed(10)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(5, 3, activation="relu", name="reg_conv")(inp)
    h = L.GlobalAveragePooling2D()(h)
    out = L.Dense(2, name="reg_dense")(h)
    return keras.Model(inp, out, name="regression_model")


@pytest.fixture(scope="session")
def segmentation_model():
    """Fully convolutional segmenter: (N, 12, 12, 3) -> (N, 12, 12, 3) softmax per pixel."""
    keras.utils.set_random_seed(11)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(5, 3, padding="same", activation="relu", name="seg_conv")(inp)
    out = L.Conv2D(3, 1, activation="softmax", name="seg_out")(h)
    return keras.Model(inp, out, name="segmentation_model")


@pytest.fixture(scope="session")
def multi_output_model():
    """Two heads: 'cls' softmax over 4 classes and 'reg' one linear value."""
    keras.utils.set_random_seed(12)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(5, 3, activation="relu", name="mo_conv")(inp)
    g = L.GlobalAveragePooling2D()(h)
    cls = L.Dense(4, activation="softmax", name="cls")(g)
    reg = L.Dense(1, name="reg")(g)
    return keras.Model(inp, [cls, reg], name="multi_output_model")


def signals(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 16, 2)).astype(np.float32)


def volumes(n, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 6, 6, 6, 1)).astype(np.float32)

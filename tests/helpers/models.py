"""Tiny Keras models, built from a fixed seed. ``conftest.py`` builds the shared ones
once per session (as fixtures of the same names); a test that deletes or otherwise
owns a model calls the builder itself."""
import keras
import numpy as np

from helpers.data import CHANNELS, NUM_CLASSES, SIZE

L = keras.layers


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


def seq_model():
    """Sequential image classifier; last conv 'conv2' has a 6x6 grid; softmax Dense."""
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


def variable_model():
    """Fully convolutional classifier accepting any image size (None, None, 3)."""
    keras.utils.set_random_seed(5)
    inp = keras.Input((None, None, CHANNELS))
    h = L.Conv2D(4, 3, padding="same", activation="relu", name="v_conv1")(inp)
    h = L.Conv2D(6, 3, strides=2, padding="same", name="v_conv2")(h)
    h = L.GlobalAveragePooling2D(name="v_gap")(h)
    out = L.Dense(NUM_CLASSES, activation="softmax", name="v_dense")(h)
    return keras.Model(inp, out, name="variable_model")


def conv_classifier(seed, name, input_shape, layers):
    """``keras.Input(input_shape)`` through ``layers()`` (called after the seed is set,
    so the layers are made and built in the order they are listed), as ``name``."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input(input_shape)
    h = inp
    for layer in layers():
        h = layer(h)
    return keras.Model(inp, h, name=name)


def sigmoid_model():
    """Multi-label classifier: Dense(4, sigmoid) head."""
    return conv_classifier(6, "sigmoid_model", (SIZE, SIZE, CHANNELS), lambda: [
        L.Conv2D(6, 3, activation="tanh", name="s_conv"),
        L.GlobalAveragePooling2D(),
        L.Dense(4, activation="sigmoid", name="s_dense"),
    ])


def dense_model():
    """Not an image model: Dense layers on a (10,) input."""
    keras.utils.set_random_seed(7)
    return keras.Sequential(
        [keras.Input((10,)), L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")],
        name="dense_model",
    )


def signal_model():
    """Conv1D classifier of 1-D signals (N, 16, 2); last conv 'sig_conv2' has 8 steps."""
    return conv_classifier(7, "signal_model", (16, 2), lambda: [
        L.Conv1D(4, 3, padding="same", activation="relu", name="sig_conv1"),
        L.Conv1D(5, 3, strides=2, padding="same", activation="relu", name="sig_conv2"),
        L.GlobalAveragePooling1D(name="sig_gap"),
        L.Dense(3, activation="softmax", name="sig_dense"),
    ])


def volume_model():
    """Conv3D classifier of volumes (N, 6, 6, 6, 1); last conv 'vol_conv2' is 3x3x3."""
    return conv_classifier(8, "volume_model", (6, 6, 6, 1), lambda: [
        L.Conv3D(3, 3, padding="same", activation="relu", name="vol_conv1"),
        L.Conv3D(4, 3, strides=2, padding="same", activation="relu", name="vol_conv2"),
        L.GlobalAveragePooling3D(name="vol_gap"),
        L.Dense(3, activation="softmax", name="vol_dense"),
    ])


def binary_model():
    """Single-sigmoid binary classifier: Dense(1, sigmoid) head."""
    return conv_classifier(9, "binary_model", (SIZE, SIZE, CHANNELS), lambda: [
        L.Conv2D(5, 3, activation="relu", name="bin_conv"),
        L.GlobalAveragePooling2D(),
        L.Dense(1, activation="sigmoid", name="bin_dense"),
    ])


def regression_model():
    """Regressor with two linear outputs: Dense(2) head, no activation."""
    return conv_classifier(10, "regression_model", (SIZE, SIZE, CHANNELS), lambda: [
        L.Conv2D(5, 3, activation="relu", name="reg_conv"),
        L.GlobalAveragePooling2D(),
        L.Dense(2, name="reg_dense"),
    ])


def segmentation_model():
    """Fully convolutional segmenter: (N, 12, 12, 3) -> (N, 12, 12, 3) softmax per pixel."""
    keras.utils.set_random_seed(11)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(5, 3, padding="same", activation="relu", name="seg_conv")(inp)
    out = L.Conv2D(3, 1, activation="softmax", name="seg_out")(h)
    return keras.Model(inp, out, name="segmentation_model")


def multi_output_model():
    """Two heads: 'cls' softmax over 4 classes and 'reg' one linear value."""
    keras.utils.set_random_seed(12)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(5, 3, activation="relu", name="mo_conv")(inp)
    g = L.GlobalAveragePooling2D()(h)
    cls = L.Dense(4, activation="softmax", name="cls")(g)
    reg = L.Dense(1, name="reg")(g)
    return keras.Model(inp, [cls, reg], name="multi_output_model")


def token_model(length=8, vocabulary=10, seed=20):
    """Token ids ``(N, length)`` -> Embedding -> mean over tokens -> Dense(3, softmax)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((length,), dtype="int32")
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocabulary, 4)(inp))
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h), name="tokens")


NEGATIVE_CLASS = 1
"""The class of :func:`negative_evidence_model` with only negative evidence."""


def negative_evidence_model():
    """ReLU features -> GAP -> Dense(3, softmax) whose weights are all +1 for class 0,
    all -1 for class 1 (:data:`NEGATIVE_CLASS`: only negative evidence, so its Grad-CAM,
    Grad-CAM++ and Guided Backprop maps are all zero) and mixed for class 2."""
    model = conv_classifier(13, "negative_evidence_model", (SIZE, SIZE, CHANNELS), lambda: [
        L.Conv2D(4, 3, padding="same", activation="relu", name="ne_conv"),
        L.GlobalAveragePooling2D(name="ne_gap"),
        L.Dense(3, activation="softmax", name="ne_dense"),
    ])
    kernel = np.stack([np.ones(4), -np.ones(4), [1.0, -1.0, 1.0, -1.0]], axis=1)
    model.get_layer("ne_dense").set_weights([kernel.astype(np.float32), np.zeros(3, np.float32)])
    return model


def tiny_activation_model():
    """ReLU features scaled by 1e-10 ('tiny', the last spatial layer) -> GAP -> Dense(3):
    raw Grad-CAM and saliency maps span about 1e-11, the scale of a random-weight
    MobileNetV2's."""
    return conv_classifier(14, "tiny_activation_model", (SIZE, SIZE, CHANNELS), lambda: [
        L.Conv2D(4, 3, padding="same", activation="relu", name="ti_conv"),
        L.Rescaling(1e-10, name="tiny"),
        L.GlobalAveragePooling2D(name="ti_gap"),
        L.Dense(3, name="ti_dense"),
    ])


# -- odd models: custom layers and subclassed models whose call() is not a chain ---------


class GroupedConv(L.Layer):
    """A custom layer: two ReLU convolutions on the same input, concatenated, then a
    ReLU layer (a grouped-convolution block)."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.groups = [L.Conv2D(filters, 3, padding="same", activation="relu") for _ in range(2)]
        self.act = L.ReLU()

    def call(self, x):
        return self.act(L.concatenate([conv(x) for conv in self.groups]) - 0.1)


class ResidualBlock(keras.Model):
    """A subclassed model whose call() adds a skip connection: not a chain of its layers."""

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.c1 = L.Conv2D(filters, 3, padding="same", activation="relu", name="rb_c1")
        self.c2 = L.Conv2D(filters, 3, padding="same", activation="relu", name="rb_c2")

    def call(self, x):
        y = self.c1(x)
        return self.c2(y) + y


class ResidualClassifier(ResidualBlock):
    """A subclassed classifier around :class:`ResidualBlock`'s call()."""

    def __init__(self, **kwargs):
        super().__init__(4, **kwargs)
        self.gap = L.GlobalAveragePooling2D(name="rc_gap")
        self.head = L.Dense(NUM_CLASSES, activation="softmax", name="rc_head")

    def call(self, x):
        return self.head(self.gap(super().call(x)))


def _conv_block_classifier(seed, name, block):
    """Functional classifier: conv (relu) -> ``block()`` -> global pooling -> Dense
    softmax (the block made after seeding, so that its weights follow the seed)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = block()(L.Conv2D(4, 3, activation="relu", name=f"{name}_conv")(inp))
    out = L.Dense(NUM_CLASSES, activation="softmax", name=f"{name}_head")(L.GlobalAveragePooling2D()(h))
    return keras.Model(inp, out, name=name)


def grouped_conv_model():
    """Functional classifier with a :class:`GroupedConv` custom layer, named "grouped"."""
    return _conv_block_classifier(13, "grouped_conv_model", lambda: GroupedConv(3, name="grouped"))


def nested_residual_model():
    """Functional classifier with a :class:`ResidualBlock` subclassed model as a layer,
    named "residual"."""
    return _conv_block_classifier(14, "nested_residual_model", lambda: ResidualBlock(4, name="residual"))


def residual_classifier():
    """:class:`ResidualClassifier`, built on one batch of images."""
    keras.utils.set_random_seed(15)
    model = ResidualClassifier(name="residual_classifier")
    model(keras.ops.zeros((1, SIZE, SIZE, CHANNELS)))
    return model


def linear_detector(base, side=6, scale=0.05, seed=13):
    """A toy D-RISE-style detector without NMS: ``(N, side, side, 1)`` -> proposals
    ``(N, P, 4 + 1 + K)`` = ``base`` (P, 4 + 1 + K) + a small linear function of the image
    (a Dense with kernel ``scale * N(0, 1)`` and bias ``base``, reshaped), so that
    ``outputs = x.reshape(N, -1) @ kernel + bias`` can be written in numpy."""
    base = np.asarray(base, np.float32)
    rng = np.random.default_rng(seed)
    inp = keras.Input((side, side, 1))
    flat = L.Flatten(name="det_flat")(inp)
    dense = L.Dense(base.size, name="det_dense")
    out = L.Reshape(base.shape, name="det_out")(dense(flat))
    model = keras.Model(inp, out, name="linear_detector")
    dense.set_weights([(scale * rng.normal(size=(side * side, base.size))).astype(np.float32), base.ravel()])
    return model

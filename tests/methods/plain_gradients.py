"""Independent references for the input-gradient methods: plain ``tf.GradientTape``
on models replayed layer by layer (Dense kernels and convolutions applied by hand where
a ReLU's pre-activation is needed), numpy, and a guided ReLU written here with
``tf.custom_gradient``. Nothing here imports eli5_keras."""
import keras
import numpy as np
import tensorflow as tf

from conftest import dense_logits

L = keras.layers
_CONVS = (L.Conv1D, L.Conv2D, L.Conv3D)


def chain_layers(model):
    """A chain model's layers without the input layer: (body, head Dense)."""
    layers = [layer for layer in model.layers if not isinstance(layer, L.InputLayer)]
    return layers[:-1], layers[-1]


def chain_logits(model):
    """x -> the head Dense's pre-activation (the class logits) of a chain model."""
    body, head = chain_layers(model)

    def logits(x):
        h = tf.convert_to_tensor(x)
        for layer in body:
            h = layer(h, training=False)
        return dense_logits(head, h)

    return logits


def input_gradients(logits_fn, x, classes):
    """``dS[n, classes[n, t]] / dx[n]`` -> ``(N, T, *x.shape[1:])`` float64, and the logits."""
    classes = np.asarray(classes)
    x = tf.constant(x)
    grads = []
    for t in range(classes.shape[1]):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = logits_fn(x)
            score = tf.gather(logits, classes[:, t], batch_dims=1)
        grads.append(tape.gradient(score, x).numpy().astype(np.float64))
    return np.stack(grads, axis=1), logits.numpy()


@tf.custom_gradient
def guided_relu(z):
    def grad(dy):
        return tf.nn.relu(dy) * tf.cast(z > 0, dy.dtype)

    return tf.nn.relu(z), grad


@tf.custom_gradient
def deconv_relu(z):
    def grad(dy):
        return tf.nn.relu(dy)

    return tf.nn.relu(z), grad


def rule_chain_logits(model, relu):
    """Logits of a chain of convolutions/Dense layers where every ``activation="relu"``
    is replaced by ``relu`` applied to a pre-activation computed from the kernel."""
    body, head = chain_layers(model)

    def logits(x):
        h = tf.convert_to_tensor(x)
        for layer in body:
            if isinstance(layer, _CONVS) and layer.activation is keras.activations.relu:
                z = tf.nn.convolution(h, layer.kernel, strides=layer.strides, padding=layer.padding.upper())
                h = relu(z + layer.bias)
            else:
                h = layer(h, training=False)
        return dense_logits(head, h)

    return logits

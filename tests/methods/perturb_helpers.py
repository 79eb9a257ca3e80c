"""Helpers of the perturbation and wrapper tests: scores computed without eli5_keras,
and two tiny input-gradient methods whose maps a test can recompute with a tape."""
import keras
import numpy as np
import tensorflow as tf

from eli5_keras.methods.base import Method, MethodOutput, sum_over_blocks

from conftest import dense_logits


def chain_logits(model, x):
    """Scores before the final softmax of a model whose layers form a chain ending in a
    Dense(softmax): the layers called one by one, the last Dense's kernel applied by hand."""
    h = tf.convert_to_tensor(x)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for layer in layers[:-1]:
        h = layer(h, training=False)
    return dense_logits(layers[-1], h)


def token_model(length=8, vocabulary=10, seed=20):
    """Token ids ``(N, length)`` -> Embedding -> mean over tokens -> Dense(3, softmax)."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((length,), dtype="int32")
    h = keras.layers.GlobalAveragePooling1D()(keras.layers.Embedding(vocabulary, 4)(inp))
    return keras.Model(inp, keras.layers.Dense(3, activation="softmax")(h), name="tokens")


def probabilities(model, x):
    return np.asarray(model(x, training=False)).astype(np.float64)


def gather(scores, classes):
    return np.take_along_axis(np.asarray(scores, np.float64), np.asarray(classes), axis=1)


def tape_gradient_maps(score_fn, x, classes):
    """``sum_c d score_fn(x)[n, classes[n, t]] / d x[n, ..., c]`` as ``(n, T, *S)`` float64."""
    x = tf.convert_to_tensor(np.asarray(x, np.float32))
    maps = []
    for t in range(classes.shape[1]):
        with tf.GradientTape() as tape:
            tape.watch(x)
            selected = tf.gather(score_fn(x), classes[:, t], batch_dims=1)
        maps.append(tf.reduce_sum(tape.gradient(selected, x), axis=-1).numpy())
    return np.stack(maps, axis=1).astype(np.float64)


class InputGradient(Method):
    """Test base: the target's input gradient summed over channels, ``(N, T, *S)``;
    extras["score"] the differentiated score."""

    name = "input_gradient_test"
    title = "Input gradient"
    summary = "test method"
    uses_layer = False
    signed = True

    def compute(self, context, inputs, data, block):
        grads, fwd = context.probe.input_gradients(inputs, data, context.input_index)
        return MethodOutput(tf.reduce_sum(grads, axis=-1), fwd.labels, fwd.reported, {"score": fwd.scores})


class ScaledGradient(Method):
    """Test base with an expansion: mean over k = 1..steps of the input gradient at
    ``x * k / steps`` (summed over channels), computed in blocks of ``block`` steps."""

    name = "scaled_gradient_test"
    title = "Scaled gradient"
    summary = "test method"
    uses_layer = False
    signed = True

    def __init__(self, steps: int = 3) -> None:
        self.steps = steps

    def expansion(self, context):
        return self.steps

    def compute(self, context, inputs, data, block):
        x = inputs[context.input_index]
        n, t = tf.shape(x)[0], tf.shape(data)[1]

        def gradients(start, size):
            alphas = tf.cast(start + 1 + tf.range(size), tf.float32) / self.steps
            shape = tf.concat([[1, size], tf.ones([x.shape.rank - 1], tf.int32)], 0)
            scaled = x[:, None] * tf.reshape(alphas, shape)
            scaled = tf.reshape(scaled, tf.concat([[n * size], tf.shape(x)[1:]], 0))
            batch = [scaled if i == context.input_index else tf.repeat(v, size, 0) for i, v in enumerate(inputs)]
            grads, _ = context.probe.input_gradients(batch, tf.repeat(data, size, axis=0), context.input_index)
            grads = tf.reshape(tf.reduce_sum(grads, axis=-1), tf.concat([[n, size, t], tf.shape(x)[1:-1]], 0))
            return tf.ensure_shape(tf.reduce_sum(grads, axis=1), initial.shape)

        fwd = context.probe.forward(inputs, data)
        initial = tf.zeros(tf.concat([[n, t], tf.shape(x)[1:-1]], 0))
        maps = sum_over_blocks(gradients, self.steps, block, initial) / self.steps
        return MethodOutput(maps, fwd.labels, fwd.reported)

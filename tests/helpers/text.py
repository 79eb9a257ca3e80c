"""Tiny text classifiers trained in seconds on a generated sentiment-like task, and an
independent plain-TF Grad-CAM for them.

Vocabulary: id 0 is padding, ids 1-3 are positive words, 4-6 negative words, 7-19
neutral words. A document is ``LENGTH`` ids: neutral words, some padding (before,
after or inside), and sentiment words; its class is 1 when it holds more positive than
negative words, else 0 (never a tie). The models must therefore find the sentiment
words, which is what their explanations must highlight.

The trained models are built once per test session (``functools.lru_cache``) and never
changed by a test.
"""
import functools

import numpy as np
import tensorflow as tf
import keras

L = keras.layers

LENGTH = 12
VOCAB = 20
PAD = 0
POSITIVE = (1, 2, 3)
NEGATIVE = (4, 5, 6)
NEUTRAL = tuple(range(7, VOCAB))
WORDS = ["<pad>", "good", "great", "fine", "bad", "awful", "poor"] + [f"w{i}" for i in NEUTRAL]
EPS = 1e-7

# (positive words, negative words) per document; the majority decides the class.
MIXES = ((1, 0), (0, 1), (2, 1), (1, 2))


def documents(n, seed, mixes=MIXES, padding=("post", "pre", "inside", "none")):
    """``n`` documents ``(n, LENGTH)`` int32, their labels ``(n,)`` and, per document,
    the positions of its positive and negative words."""
    rng = np.random.default_rng(seed)
    docs = np.empty((n, LENGTH), np.int32)
    labels = np.empty(n, np.int32)
    positions = []
    for i in range(n):
        n_pos, n_neg = mixes[rng.integers(len(mixes))]
        n_pad = int(rng.integers(0, 5))
        where = padding[rng.integers(len(padding))]
        n_pad = 0 if where == "none" else n_pad
        words = list(rng.choice(NEUTRAL, LENGTH - n_pad - n_pos - n_neg))
        sentiment = list(rng.choice(POSITIVE, n_pos)) + list(rng.choice(NEGATIVE, n_neg))
        for word in sentiment:
            words.insert(int(rng.integers(0, len(words) + 1)), word)
        if where == "pre":
            row = [PAD] * n_pad + words
        elif where == "post":
            row = words + [PAD] * n_pad
        else:
            row = list(words)
            for _ in range(n_pad):
                row.insert(int(rng.integers(1, len(row))), PAD)
        docs[i] = row
        labels[i] = int(n_pos > n_neg)
        positions.append(
            (np.flatnonzero(np.isin(docs[i], POSITIVE)), np.flatnonzero(np.isin(docs[i], NEGATIVE)))
        )
    return docs, labels, positions


def tokens_of(docs):
    """The words of documents ``(n, LENGTH)`` as lists of str."""
    return [[WORDS[int(t)] for t in row] for row in np.atleast_2d(docs)]


def _train(model, seed):
    docs, labels, _ = documents(400, seed)
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="sparse_categorical_crossentropy")
    model.fit(docs, labels, epochs=8, batch_size=32, verbose=0, shuffle=False)
    return model


@functools.lru_cache(maxsize=None)
def text_cnn():
    """Embedding -> Conv1D 'conv' (same padding) -> global average pooling -> softmax.
    (Average pooling lets the model count sentiment words; max pooling cannot.)"""
    keras.utils.set_random_seed(21)
    inp = keras.Input((LENGTH,), dtype="int32", name="ids")
    h = L.Embedding(VOCAB, 8, name="emb")(inp)
    h = L.Conv1D(16, 3, padding="same", activation="relu", name="conv")(h)
    h = L.GlobalAveragePooling1D(name="pool")(h)
    out = L.Dense(2, activation="softmax", name="dense")(h)
    return _train(keras.Model(inp, out, name="text_cnn"), seed=100)


@functools.lru_cache(maxsize=None)
def text_lstm():
    """Embedding -> Bidirectional(LSTM, return_sequences) 'bilstm' -> global average
    pooling -> softmax. Unrolled: 12 steps train faster on a CPU that way."""
    keras.utils.set_random_seed(22)
    inp = keras.Input((LENGTH,), dtype="int32", name="ids")
    h = L.Embedding(VOCAB, 8, name="emb")(inp)
    h = L.Bidirectional(L.LSTM(4, return_sequences=True, unroll=True), name="bilstm")(h)
    h = L.GlobalAveragePooling1D(name="pool")(h)
    out = L.Dense(2, activation="softmax", name="dense")(h)
    return _train(keras.Model(inp, out, name="text_lstm"), seed=101)


def untrained_model(after_conv, seed, name):
    """ids (12,) -> Embedding 'emb' (12 steps) -> Conv1D 'conv' ('valid': 10 steps) ->
    ``after_conv`` -> global average pooling -> Dense(3, softmax) 'dense'."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((LENGTH,), dtype="int32")
    h = L.Embedding(VOCAB, 6, name="emb")(inp)
    h = L.Conv1D(5, 3, activation="relu", name="conv")(h)
    h = after_conv(h)
    h = L.GlobalAveragePooling1D(name="gap")(h)
    return keras.Model(inp, L.Dense(3, activation="softmax", name="dense")(h), name=name)


def plain_text_gradcam(model, layer_name, doc, class_index=None, relu=True, counterfactual=False, logits=False):
    """Text Grad-CAM from scratch for one document ``(1, L)`` of a chain model.

    eli5's terms: the gradient of the model's output (softmax probability; the
    pre-softmax logit with ``logits=True``) for the class with respect to the layer's
    activations ``A (l, C)``, l2-normalised over the whole tensor, averaged over time
    into channel weights; ``L = sum_k w_k A_k``, negated for a counterfactual, ReLU,
    divided by ``max |L| + 1e-7``. Returns the map ``(l,)``, the class and its output.
    """
    layer = model.get_layer(layer_name)
    features = keras.Model(model.inputs, layer.output)
    acts = features(tf.constant(doc), training=False)
    with tf.GradientTape() as tape:
        tape.watch(acts)
        out = _head_from(model, layer, acts, logits)
        c = int(np.argmax(out.numpy()[0])) if class_index is None else class_index
        score = out[0, c]
    g = tape.gradient(score, acts).numpy()[0].astype(np.float64)
    g = g / np.sqrt(np.sum(g**2))
    w = g.mean(axis=0)
    lmap = acts.numpy()[0].astype(np.float64) @ w
    if counterfactual:
        lmap = -lmap
    if relu:
        lmap = np.maximum(lmap, 0.0)
    return lmap / (np.abs(lmap).max() + EPS), c, float(out.numpy()[0, c])


def _head_from(model, layer, acts, logits=False):
    """Run the layers after ``layer`` (these models are chains) on ``acts``; with
    ``logits`` the last Dense without its softmax (kernel and bias applied by hand)."""
    h = acts
    after = False
    for other in model.layers:
        if after:
            if logits and other is model.layers[-1]:
                return tf.matmul(h, other.kernel) + other.bias
            h = other(h, training=False)
        after = after or other is layer
    return h

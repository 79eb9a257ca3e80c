"""Independent references: plain ``tf.GradientTape`` on models replayed layer by layer
(Dense kernels and convolutions applied by hand where a logit or a ReLU's
pre-activation is needed), numpy, ``tf.image.resize``, and a guided ReLU written here
with ``tf.custom_gradient``. Nothing here imports eli5_keras."""
import keras
import numpy as np
import tensorflow as tf

L = keras.layers
EPS = 1e-7
_CONVS = (L.Conv1D, L.Conv2D, L.Conv3D)


# --------------------------------------------------------------------------
# scores
# --------------------------------------------------------------------------


def dense_logits(dense, h):
    """A Dense layer's pre-activation output, from its kernel and bias."""
    return tf.matmul(h, dense.kernel) + dense.bias


def top_classes(scores, k=1):
    """Indices of the k highest scores per row, best first: (N, k)."""
    return np.argsort(-np.asarray(scores), axis=1, kind="stable")[:, :k]


def probabilities(model, x):
    return np.asarray(model(x, training=False)).astype(np.float64)


def gather(scores, classes):
    return np.take_along_axis(np.asarray(scores, np.float64), np.asarray(classes), axis=1)

# --------------------------------------------------------------------------
# chain models replayed layer by layer; input gradients and ReLU rules
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# the shared models taken apart: (features, logits head[, probability head])
# --------------------------------------------------------------------------


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


def seq_parts(seq_model):
    """(features, logits head, probability head) of ``seq_model``, built by hand."""
    conv2 = seq_model.get_layer("conv2")
    dense = seq_model.get_layer("dense")

    def logits(a):
        return dense_logits(dense, tf.reduce_mean(a, axis=[1, 2]))

    return sequential_features(seq_model, conv2), logits, lambda a: tf.nn.softmax(logits(a))


def func_parts(func_model):
    conv1, conv2, pool, flat, logits_layer = (
        func_model.get_layer(n) for n in ("f_conv1", "f_conv2", "f_pool", "f_flat", "f_logits")
    )

    def features(x):
        return conv2(conv1(tf.convert_to_tensor(x)))

    def logits(a):
        return logits_layer(flat(pool(a)))  # the input of the final softmax layer

    return features, logits, lambda a: tf.nn.softmax(logits(a))


def nested_parts(nested_model):
    backbone = nested_model.get_layer("backbone")
    dense = nested_model.get_layer("n_dense")

    def features(x):
        return backbone.get_layer("b_conv2")(backbone.get_layer("b_conv1")(tf.convert_to_tensor(x)))

    def logits(a):
        return dense_logits(dense, tf.reduce_mean(a, axis=[1, 2]))

    return features, logits


# --------------------------------------------------------------------------
# Grad-CAM and eli5's terms from scratch
# --------------------------------------------------------------------------


def plain_gradcam(features, head, x, classes, relu=True, normalize=True, size=None):
    """Grad-CAM computed from scratch.

    features(x) -> A (N, *s, C);  head(A) -> scores (N, K);  classes (N, T) ints.
    w = mean over s of dS[n, c] / dA;  L = sum_k w_k A_k;  then optionally ReLU,
    per-map min-max (:func:`minmax`), and tf.image.resize bilinear (2-D) to ``size``.
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
        maps = minmax(maps)
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


# --------------------------------------------------------------------------
# maps: input gradients, resizes, the shared ReLU / min-max
# --------------------------------------------------------------------------


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


def upsample(a, size):
    """Bilinear resize (half-pixel centres) of the spatial axes of ``a (N, *s, C)`` to
    ``size`` with ``tf.image.resize``: directly in 2-D, as an (L, 1) image in 1-D, and as
    two separable 2-D resizes in 3-D. Returns float64 numpy."""
    a = tf.convert_to_tensor(np.asarray(a, np.float32))
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        out = tf.image.resize(a[:, :, None, :], (size[0], 1), "bilinear")[:, :, 0, :]
    elif len(size) == 2:
        out = tf.image.resize(a, size, "bilinear")
    else:
        n, d, h, w, c = a.shape
        hw = tf.image.resize(tf.reshape(a, (n * d, h, w, c)), size[1:], "bilinear")
        hw = tf.transpose(tf.reshape(hw, (n, d, size[1], size[2], c)), (0, 2, 1, 3, 4))
        dw = tf.image.resize(tf.reshape(hw, (n * size[1], d, size[2], c)), (size[0], size[2]), "bilinear")
        out = tf.transpose(tf.reshape(dw, (n, size[1], size[0], size[2], c)), (0, 2, 1, 3, 4))
    return out.numpy().astype(np.float64)


def upsample_maps(maps, size):
    """``(N, T, *s) -> (N, T, *size)`` with :func:`upsample`."""
    n, t = maps.shape[:2]
    flat = np.moveaxis(maps.reshape((n * t,) + maps.shape[2:]), 0, -1)[None]  # (1, *s, N*T)
    out = np.moveaxis(upsample(flat, size)[0], -1, 0)
    return out.reshape((n, t) + tuple(size))


def minmax(maps):
    """Per-map ``(L - min) / (max - min)`` of ``(N, T, *s)`` maps in float64; a constant
    map (``max - min <= 1e-7 * max|L|``, all zero included) becomes all zero."""
    maps = np.asarray(maps, np.float64)
    axes = tuple(range(2, maps.ndim))
    low = maps.min(axis=axes, keepdims=True)
    high = maps.max(axis=axes, keepdims=True)
    constant = high - low <= EPS * np.maximum(np.abs(low), np.abs(high))
    return np.where(constant, 0.0, (maps - low) / np.where(constant, 1.0, high - low))


def relu_minmax(maps):
    """The shared pipeline: ReLU, then per-map :func:`minmax`."""
    return minmax(np.maximum(maps, 0.0))


def grid_gradcam(a, g, size, relu=True):
    """Grad-CAM from activations and gradients ``(N, h, w, K)`` written plainly:
    ``w = mean_hw g``, ``L = sum_k w_k a_k``, optional ReLU, per-map ``(L - min) / (max -
    min)``, bilinear resize to ``(size, size)`` (tf.image.resize): ``(N, size, size)``."""
    cam = np.einsum("nhwk,nk->nhw", a, g.mean(axis=(1, 2)))
    cam = np.maximum(cam, 0.0) if relu else cam
    low, high = cam.min(axis=(1, 2), keepdims=True), cam.max(axis=(1, 2), keepdims=True)
    cam = (cam - low) / (high - low)
    return tf.image.resize(cam[..., None], (size, size), method="bilinear").numpy()[..., 0]

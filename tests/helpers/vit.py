"""Small vision transformers for the tests, built offline with random weights: a
hand-built functional ViT (every block op a graph node; prefix tokens, class-token or
mean-pooled head), KerasHub's ViTImageClassifier (its blocks inside the encoder layer),
images with a planted bright square, and the attention of each block read
independently of eli5-keras: by plain Keras sub-models and direct
``MultiHeadAttention`` calls, or written out as ``softmax(QK^T / sqrt(d))`` in a forward
pass of the model under a GradientTape (:func:`attention_and_gradients`,
:func:`kerashub_by_hand`); the attention methods' formulas in numpy; the per-method
check of the ViT sweeps (:func:`check_method_on_vit`)."""
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5

from helpers.methods import fast_options

L = keras.layers
SIZE, PATCH, DIM = 16, 4, 16
GRID = SIZE // PATCH


class PrefixTokens(L.Layer):
    """Learned prefix tokens (class, distillation, registers) put before the patch
    tokens, and a learned position embedding added to all of them."""

    def __init__(self, count, **kwargs):
        super().__init__(**kwargs)
        self.count = count

    def build(self, shape):
        self.tokens = self.add_weight(shape=(1, self.count, shape[-1]), initializer="random_normal")
        self.position = self.add_weight(shape=(1, self.count + shape[1], shape[-1]), initializer="random_normal")

    def call(self, x):
        tokens = keras.ops.repeat(self.tokens, keras.ops.shape(x)[0], axis=0)
        return keras.ops.concatenate([tokens, x], axis=1) + self.position


class FirstToken(L.Layer):
    def call(self, x):
        return x[:, 0]


def vit(prefix=1, head="token", patch_on_input=True, seed=0, blocks=2):
    """``head="token"``: the class token after the final norm; ``"mean"``: all tokens
    mean-pooled. Logits out (no softmax)."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((SIZE, SIZE, 3))
    pixels = x if patch_on_input else L.Rescaling(1.0, name="rescale")(x)
    patches = L.Conv2D(DIM, PATCH, strides=PATCH, name="patch_embed")(pixels)
    t = PrefixTokens(prefix, name="prefix")(L.Reshape((GRID * GRID, DIM))(patches))
    for b in range(blocks):
        h = L.LayerNormalization(name=f"block{b}_norm1")(t)
        h = L.MultiHeadAttention(2, DIM // 2, name=f"block{b}_attn")(h, h)
        t = L.Add(name=f"block{b}_res1")([t, h])
        h = L.LayerNormalization(name=f"block{b}_norm2")(t)
        h = L.Dense(DIM, name=f"block{b}_out_dense")(L.Dense(2 * DIM, activation="gelu", name=f"block{b}_mlp")(h))
        t = L.Add(name=f"block{b}_out")([t, h])
    t = L.LayerNormalization(name="final_norm")(t)
    pooled = FirstToken(name="class_token")(t) if head == "token" else L.GlobalAveragePooling1D(name="pool")(t)
    return keras.Model(x, L.Dense(2, name="head")(pooled), name=f"vit_{head}_{prefix}")


def squares(n, seed, size=SIZE, patch=PATCH):
    """Noise images ``(n, size, size, 3)``; class 1 holds a bright square on one patch,
    class 0 none. Images, labels and the square's mask."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 0.4, (n, size, size, 3)).astype(np.float32)
    labels = np.arange(n) % 2
    masks = np.zeros((n, size, size), bool)
    for i in np.flatnonzero(labels):
        r, c = rng.integers(0, size // patch, 2) * patch
        x[i, r : r + patch, c : c + patch] = 1.0
        masks[i, r : r + patch, c : c + patch] = True
    return x, labels, masks



def trained_vit():
    """The hand-built ViT (class token, class-token head) trained a few seconds to tell
    images with a planted square (class 1) from noise (class 0)."""
    return train_on_squares(vit(prefix=1, head="token", seed=2), SIZE, PATCH, count=512, epochs=8)


def train_on_squares(model, size, patch, count, epochs):
    """``model`` trained (Adam 3e-3, batches of 64) on :func:`squares` images."""
    x, labels, _ = squares(count, seed=0, size=size, patch=patch)
    model.compile(keras.optimizers.Adam(3e-3), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, labels, epochs=epochs, batch_size=64, verbose=0)
    return model


def kerashub_vit(seed=0, pooling="token"):
    """KerasHub's ViT classifier from constructor arguments (random weights): 32x32
    images, 8x8 patches -> a 4x4 grid and a class token, two blocks, three classes."""
    import keras_hub

    keras.utils.set_random_seed(seed)
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(32, 32, 3), patch_size=8, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32
    )
    return keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=3, pooling=pooling)


def block_attention(model, x, blocks=2):
    """``A_b (N, H, L, L)`` of the hand-built ViT's blocks, numpy: a sub-model to each
    block's first norm, then the block's MultiHeadAttention called directly with
    ``return_attention_scores=True``."""
    out = []
    for b in range(blocks):
        h = keras.Model(model.input, model.get_layer(f"block{b}_norm1").output)(x)
        out.append(model.get_layer(f"block{b}_attn")(h, h, return_attention_scores=True)[1].numpy())
    return out


def explicit_attention(mha, h):
    """A MultiHeadAttention's self-attention on ``h`` written out with its own
    projections: ``A = softmax(Q K^T / sqrt(d_k))`` ``(N, H, L, L)`` and the layer's
    output ``W_o (A V)``."""
    q, k, v = mha._query_dense(h), mha._key_dense(h), mha._value_dense(h)  # (N, L, H, d)
    a = tf.nn.softmax(tf.einsum("nqhd,nkhd->nhqk", q, k) / np.sqrt(q.shape[-1]), axis=-1)
    return a, lambda a: mha._output_dense(tf.einsum("nhqk,nkhd->nqhd", a, v))


def attention_and_gradients(model, x, classes, blocks=2):
    """The hand-built ViT (class-token head) run by hand, its attention written out
    (:func:`explicit_attention`), and ``d logit[n, classes[n]] / dA_b``: lists of
    ``(N, H, L, L)`` numpy arrays, and the logits (to check the hand forward is the model)."""
    get = model.get_layer
    t = keras.Model(model.input, get("prefix").output)(x)
    attention = []
    with tf.GradientTape(persistent=True) as tape:
        for b in range(blocks):
            a, attend = explicit_attention(get(f"block{b}_attn"), get(f"block{b}_norm1")(t))
            tape.watch(a)
            attention.append(a)
            t = t + attend(a)
            t = t + get(f"block{b}_out_dense")(get(f"block{b}_mlp")(get(f"block{b}_norm2")(t)))
        logits = get("head")(get("final_norm")(t)[:, 0])
        score = tf.gather(logits, classes, batch_dims=1)
    grads = [tape.gradient(score, a).numpy() for a in attention]
    return [a.numpy() for a in attention], grads, logits.numpy()


def kerashub_by_hand(model, x, classes):
    """KerasHub's ViTImageClassifier (class-token pooling) run by hand from its layers:
    patch embedding, each ViTEncoderBlock written out (ln_1, explicit attention, residual,
    ln_2, mlp, residual), the encoder's final norm, the class token, the head. Returns
    the last block's ln_1 output ``(N, 17, D)`` and the gradient of ``logit[n,
    classes[n]]`` there, the attention ``A_b`` and its gradients, and the logits (numpy)."""
    backbone = model.backbone
    encoder = backbone.get_layer("vit_encoder")
    blocks = encoder.encoder_layers
    with tf.GradientTape(persistent=True) as tape:
        t = backbone.get_layer("vit_patching_and_embedding")(tf.constant(x))
        attention = []
        for block in blocks:
            h = block.layer_norm_1(t)
            tape.watch(h)
            a, attend = explicit_attention(block.mha, h)
            tape.watch(a)
            attention.append(a)
            t = t + attend(a)
            t = t + block.mlp(block.layer_norm_2(t))
        logits = model.get_layer("predictions")(encoder.layer_norm(t)[:, 0])
        score = tf.gather(logits, classes, batch_dims=1)
    last = h
    return (
        last.numpy(), tape.gradient(score, last).numpy(), [a.numpy() for a in attention],
        [tape.gradient(score, a).numpy() for a in attention], logits.numpy(),
    )


def rollout_reference(attention, fusion="mean", discard=0.0):
    """Attention rollout written plainly: R = Â_B ... Â_1 with Â_b = (F_b + I) / rowsum,
    F_b = fuse_h A_b with its lowest floor(discard L^2) entries zeroed (entry (0, 0) kept)."""
    result = None
    for a in attention:
        fused = {"mean": np.mean, "max": np.max, "min": np.min}[fusion](a.astype(np.float64), axis=1)
        n, size, _ = fused.shape
        if discard:
            flat = fused.reshape(n, -1)
            for i in range(n):
                lowest = np.argsort(flat[i], kind="stable")[: int(np.floor(discard * size * size))]
                flat[i, lowest[lowest != 0]] = 0.0
            fused = flat.reshape(n, size, size)
        step = fused + np.eye(size)
        step /= step.sum(axis=-1, keepdims=True)
        result = step if result is None else step @ result
    return result


def chefer_reference(attention, gradients):
    """Chefer et al. 2021's rule written plainly: R = I; R <- R + mean_h(relu(g * A)) R per block."""
    relevance = np.eye(attention[0].shape[-1])[None]
    for a, g in zip(attention, gradients):
        weighted = np.maximum(g.astype(np.float64) * a, 0.0).mean(axis=1)
        relevance = relevance + weighted @ relevance
    return relevance


DOES_NOT_APPLY = {"cam": "GlobalAveragePooling -> Dense"}


def check_method_on_vit(model, method):
    """``method`` on one image: maps ``(1, 1, H, W)``, finite, the model's top score; or
    the ValueError of :data:`DOES_NOT_APPLY`."""
    size = model.input_shape[1]
    x = np.random.default_rng(3).uniform(0.0, 1.0, (1, size, size, 3)).astype(np.float32)
    if method in DOES_NOT_APPLY:
        with pytest.raises(ValueError, match=DOES_NOT_APPLY[method]):
            eli5.explain(model, x, method, **fast_options(method))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # empty maps of random weights; GELU under the ReLU rules
        result = eli5.explain(model, x, method, batch_size=8, **fast_options(method))
    assert result.maps.shape == (1, 1, size, size)
    assert np.isfinite(result.maps).all()
    np.testing.assert_allclose(result.scores[:, 0], model(x).numpy().max(axis=1), rtol=1e-4, atol=1e-5)

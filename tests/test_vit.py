"""Vision transformers: token layers ``(N, P + h*w, D)`` explained on their patch grid.

Hand-built functional ViTs (patch embedding Conv2D 4x4 stride 4 on 16x16 inputs ->
4x4 patch tokens, prefix tokens, two pre-norm blocks with MultiHeadAttention, a
class-token or mean-pooled head). Grad-CAM is checked against the computation written
plainly with a GradientTape; a trained model against a planted bright square.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.backend.layers import auto_layer, path_name

from helpers.methods import gradient_cams
from helpers.reference import grid_gradcam
from helpers.vit import DIM, GRID, SIZE, squares, vit


def hand_gradcam(model, layer_name, x, prefix, grid, relu=True):
    """Grad-CAM on the reshaped layer, written plainly: GradientTape on the layer output,
    prefix dropped, reshape, weights = mean gradient, weighted sum, ReLU, min-max,
    bilinear resize (half-pixel centres)."""
    probe = keras.Model(model.input, [model.get_layer(layer_name).output, model.output])
    with tf.GradientTape() as tape:
        tokens, logits = probe(tf.constant(x), training=False)
        score = tf.gather(logits, tf.argmax(logits, axis=1), batch_dims=1)
    grads = tape.gradient(score, tokens).numpy().astype(np.float64)
    tokens = tokens.numpy().astype(np.float64)
    n, _, d = tokens.shape
    a = tokens[:, prefix:].reshape(n, *grid, d)
    g = grads[:, prefix:].reshape(n, *grid, d)
    return grid_gradcam(a, g, SIZE, relu)


@pytest.fixture(scope="module")
def images():
    return squares(4, seed=1)[0]


@pytest.mark.parametrize("prefix, head", [(1, "token"), (2, "mean")])
@pytest.mark.parametrize("layer", ["block1_norm1", "block0_out"])
def test_token_gradcam_equals_the_reshaped_computation(images, prefix, head, layer):
    # an untrained model's evidence is mostly negative: compared without the ReLU
    model = vit(prefix=prefix, head=head)
    result = eli5.explain(model, images, "gradcam", layer=layer, relu=False)
    assert result.maps.shape == (len(images), 1, SIZE, SIZE)
    expected = hand_gradcam(model, layer, images, prefix, (GRID, GRID), relu=False)
    np.testing.assert_allclose(result.maps[:, 0], expected, atol=2e-4)


def test_grid_read_from_the_patch_embedding_and_given_options_agree(images):
    model = vit(prefix=2, head="mean")
    inferred = eli5.explain(model, images, layer="block0_out", relu=False).maps
    given = eli5.explain(model, images, layer="block0_out", token_grid=(GRID, GRID), prefix_tokens=2, relu=False).maps
    np.testing.assert_allclose(given, inferred, atol=1e-6)


def test_explainer_takes_the_token_options_like_explain(images):
    model = vit(prefix=2, head="mean")
    explainer = eli5.Explainer(model, "hirescam", layer="block1_norm1", token_grid=[GRID, GRID], prefix_tokens=2)
    assert explainer.layer_shape == (None, GRID, GRID, DIM)
    np.testing.assert_allclose(
        explainer.explain(images).maps, eli5.explain(model, images, "hirescam", layer="block1_norm1").maps, atol=1e-6
    )


def test_reshape_callable_is_used_as_pytorch_grad_cams_reshape_transform(images):
    model = vit(prefix=1)
    calls = []

    def reshape(tokens):
        calls.append(tokens.shape)
        return tf.reshape(tokens[:, 1:], (-1, GRID, GRID, tokens.shape[-1]))

    mine = eli5.explain(model, images, layer="block1_norm1", reshape=reshape, relu=False).maps
    expected = hand_gradcam(model, "block1_norm1", images, 1, (GRID, GRID), relu=False)
    np.testing.assert_allclose(mine[:, 0], expected, atol=2e-4)
    assert calls  # traced on the activations and on the gradients
    swapped = eli5.explain(
        model, images, layer="block1_norm1", reshape=lambda t: tf.transpose(reshape(t), (0, 2, 1, 3)), relu=False
    ).maps
    np.testing.assert_allclose(swapped, np.swapaxes(mine, 2, 3), atol=1e-5)


@pytest.mark.parametrize(
    "options, named",
    [
        (dict(token_grid=(5, 5)), "token_grid"),
        (dict(prefix_tokens=3), "prefix_tokens"),
        (dict(token_grid=(4, 4), prefix_tokens=2), "prefix_tokens"),
        (dict(token_grid=(4, 4), reshape=lambda t: t), "reshape"),
    ],
)
def test_tokens_that_do_not_make_the_grid_raise_naming_the_option(images, options, named):
    model = vit(prefix=1)
    with pytest.raises(ValueError, match=named):
        eli5.explain(model, images, layer="block0_out", **options)


def test_without_a_patch_embedding_a_non_square_count_asks_for_the_grid(images):
    model = vit(prefix=1, patch_on_input=False)  # the patch conv reads a Rescaling, not the input
    with pytest.raises(ValueError, match=r"token_grid=\(h, w\)"):
        eli5.explain(model, images, layer="block0_out")
    by_grid = eli5.explain(model, images, layer="block0_out", token_grid=(GRID, GRID), relu=False).maps
    by_prefix = eli5.explain(model, images, layer="block0_out", prefix_tokens=1, relu=False).maps
    np.testing.assert_allclose(by_grid, by_prefix, atol=1e-6)
    expected = hand_gradcam(model, "block0_out", images, 1, (GRID, GRID), relu=False)
    np.testing.assert_allclose(by_grid[:, 0], expected, atol=2e-4)


def test_token_options_are_refused_where_they_do_not_apply(images):
    model = vit(prefix=1)
    with pytest.raises(ValueError, match="token sequence"):
        eli5.explain(model, images, layer="patch_embed", token_grid=(GRID, GRID))
    with pytest.raises(ValueError, match="prefix_tokens"):
        eli5.explain(model, images, "saliency", prefix_tokens=1)
    with pytest.raises(TypeError, match="token_grid"):
        eli5.explain(model, images, layer="block0_out", token_grid=4)


def test_reshape_returning_the_wrong_rank_raises(images):
    with pytest.raises(ValueError, match="reshape="):
        eli5.explain(vit(prefix=1), images, layer="block0_out", reshape=lambda t: t[:, 1:])


OTHER_LAYER_METHODS = ["eigencam", "scorecam", "ablationcam", "guided_gradcam"]


@pytest.mark.parametrize("method", gradient_cams() + OTHER_LAYER_METHODS)
def test_every_layer_method_runs_on_the_token_grid(images, method):
    model = vit(prefix=2, head="mean")
    result = eli5.explain(model, images[:2], method, layer="block1_norm1", targets=[[0, 1]] * 2, batch_size=64)
    assert result.maps.shape == (2, 2, SIZE, SIZE)
    assert np.isfinite(result.maps).all()


def test_ablation_feeds_the_grid_back_as_tokens(images):
    """Ablation-CAM's weight of a channel is the relative drop of the logit with that
    channel zeroed on every patch token (the prefix tokens kept), written plainly."""
    model = vit(prefix=1)
    layer = "block1_norm1"
    x = images[:1]
    result = eli5.explain(model, x, "ablationcam", layer=layer, relu=False, normalize=False, resize=False)
    tokens = keras.Model(model.input, model.get_layer(layer).output)(x).numpy()
    # the suffix of the graph: rebuild it as a model from the layer's output and the residual stream
    t_in = keras.Input(tokens.shape[1:])
    stream = keras.Input(tokens.shape[1:])
    h = model.get_layer("block1_attn")(t_in, t_in)
    t = model.get_layer("block1_res1")([stream, h])
    h = model.get_layer("block1_out_dense")(model.get_layer("block1_mlp")(model.get_layer("block1_norm2")(t)))
    t = model.get_layer("block1_out")([t, h])
    logits = model.get_layer("head")(model.get_layer("class_token")(model.get_layer("final_norm")(t)))
    suffix = keras.Model([t_in, stream], logits)
    residual = keras.Model(model.input, model.get_layer("block0_out").output)(x).numpy()
    clean = suffix([tokens, residual]).numpy()[0]
    c = int(np.argmax(clean))
    weights = []
    for k in range(DIM):
        ablated = tokens.copy()
        ablated[:, 1:, k] = 0.0
        weights.append((clean[c] - suffix([ablated, residual]).numpy()[0, c]) / clean[c])
    grid = tokens[0, 1:].reshape(GRID, GRID, DIM)
    expected = np.einsum("hwd,d->hw", grid, np.array(weights))
    np.testing.assert_allclose(result.maps[0, 0], expected, rtol=1e-3, atol=1e-4)


def test_automatic_layer_is_the_input_of_the_last_attention():
    """The last block's output (and the final norm) would give the patch tokens zero
    gradient under a class-token head; the automatic layer is the one feeding the last
    attention."""
    model = vit(prefix=1)
    assert path_name(auto_layer(model, tokens=True)) == "block1_norm1"
    assert path_name(auto_layer(model)) == "patch_embed"  # eli5's functions read spatial layers only
    x = squares(2, seed=3)[0]
    with pytest.warns(eli5.EmptyMapWarning):
        trapped = eli5.explain(model, x, layer="block1_out")
    assert trapped.empty.all()


def test_trained_vit_points_at_the_planted_square(trained_vit):
    model = trained_vit
    test_x, test_labels, test_masks = squares(32, seed=5)
    assert (np.argmax(model.predict(test_x, verbose=0), axis=1) == test_labels).mean() > 0.9
    positives = np.flatnonzero(test_labels)
    for method in ("gradcam", "hirescam", "layercam"):
        result = eli5.explain(model, test_x[positives], method, targets=1)  # the automatic layer
        assert result.layer == "block1_norm1"
        assert not result.empty.any()
        hits = [test_masks[i][np.unravel_index(np.argmax(m), m.shape)] for i, m in zip(positives, result.maps[:, 0])]
        assert np.mean(hits) >= 0.9, method

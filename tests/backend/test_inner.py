"""Layers inside custom layers (:mod:`eli5_keras.backend.inner`): KerasHub's ViT traced
once for its sub-layers' shapes and producers; taps there equal the model run by hand;
its patch embedding (inside ViTPatchingAndEmbedding) gives the token grid."""
import numpy as np
import tensorflow as tf

from eli5_keras.backend.graph import GraphRunner
from eli5_keras.backend.inner import inner_calls, inside_custom_layer
from eli5_keras.backend.layers import path_name, path_output_shape, resolve_layer
from eli5_keras.backend.tokens import patch_embedding

from helpers.vit import kerashub_by_hand, vit

BLOCK = "vi_t_backbone/vit_encoder/transformer_block_2"


def test_inner_calls_give_shapes_and_producers(kerashub_vit):
    calls = {path_name(p): c for p, c in inner_calls(kerashub_vit).items()}
    assert calls[f"{BLOCK}/mha"].shape == (None, 17, 16)
    assert path_name(calls[f"{BLOCK}/mha"].producer) == f"{BLOCK}/ln_1"
    assert path_name(calls[f"{BLOCK}/mlp/dense_1"].producer) == f"{BLOCK}/ln_2"
    assert calls[f"{BLOCK}/mlp/dense_1"].shape == (None, 17, 32)
    assert calls[BLOCK].shape == (None, 17, 16)  # a custom layer inside a custom layer
    assert calls["vi_t_backbone/vit_patching_and_embedding/patch_embedding"].reads_input
    assert path_output_shape(kerashub_vit, resolve_layer(kerashub_vit, f"{BLOCK}/ln_1")) == (None, 17, 16)
    path, grid = patch_embedding(kerashub_vit)
    assert path_name(path) == "vi_t_backbone/vit_patching_and_embedding/patch_embedding" and grid == (4, 4)


def test_a_tap_inside_the_encoder_is_the_layers_output(kerashub_vit):
    x = np.random.default_rng(4).uniform(size=(2, 32, 32, 3)).astype(np.float32)
    path = resolve_layer(kerashub_vit, f"{BLOCK}/ln_1")
    assert inside_custom_layer(path)
    (tapped,), (logits,) = GraphRunner(kerashub_vit, taps=[path])([tf.constant(x)])
    expected = kerashub_by_hand(kerashub_vit, x, np.zeros(2, int))
    np.testing.assert_allclose(tapped.numpy(), expected[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(logits.numpy(), kerashub_vit(x).numpy(), rtol=1e-5, atol=1e-6)


def test_graph_models_have_no_inner_calls():
    assert inner_calls(vit(prefix=1)) == {}

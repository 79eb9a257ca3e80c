"""Transformer attribution (Chefer et al. 2021, gradient rule) against the formula written
plainly in numpy on attention matrices and their gradients computed by a hand-written
forward pass of the hand-built ViT (:func:`helpers.vit.attention_and_gradients`:
``softmax(QK^T/sqrt(d))`` with the layer's own projections, under a GradientTape);
several targets, a second prefix token, the trained ViT pointing at its planted square."""
import numpy as np
import pytest

import eli5_keras as eli5

from helpers.vit import GRID, attention_and_gradients, block_attention, chefer_reference, squares, vit

RAW = dict(normalize=False, resize=False)


@pytest.fixture(scope="module")
def images():
    return squares(3, seed=12)[0]


@pytest.mark.parametrize("prefix, targets", [(1, [0, 1]), (2, [1])])
def test_class_token_row_of_the_relevance(images, prefix, targets):
    model = vit(prefix=prefix, head="token", seed=6)
    result = eli5.explain(model, images, "transformer_attribution", targets=[targets] * len(images), **RAW)
    assert result.layer == "block1_attn"
    for t, target in enumerate(targets):
        classes = np.full(len(images), target)
        attention, gradients, logits = attention_and_gradients(model, images, classes)
        np.testing.assert_allclose(logits, model(images).numpy(), rtol=1e-4, atol=1e-5)  # the hand forward is the model
        for mine, read in zip(attention, block_attention(model, images)):
            np.testing.assert_allclose(mine, read, rtol=1e-4, atol=1e-6)
        expected = chefer_reference(attention, gradients)[:, 0, prefix:].reshape(-1, GRID, GRID)
        np.testing.assert_allclose(result.maps[:, t], expected, rtol=1e-3, atol=1e-6)


def test_one_block_is_the_gradient_weighted_attention_of_the_class_token(images):
    model = vit(prefix=1, head="token", seed=6)
    result = eli5.explain(model, images, "chefer", targets=1, layer="block0_attn", **RAW)
    attention, gradients, _ = attention_and_gradients(model, images, np.ones(len(images), int), blocks=2)
    expected = np.maximum(gradients[0] * attention[0], 0.0).mean(axis=1)[:, 0, 1:].reshape(-1, GRID, GRID)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-3, atol=1e-7)
    assert (result.maps >= 0).all()


def test_trained_vit_points_at_the_planted_square(trained_vit):
    x, labels, masks = squares(32, seed=5)
    positives = np.flatnonzero(labels)
    result = eli5.explain(trained_vit, x[positives], "transformer_attribution", targets=1)
    assert result.maps.shape == (len(positives), 1, 16, 16) and not result.empty.any()
    hits = [masks[i][np.unravel_index(np.argmax(m), m.shape)] for i, m in zip(positives, result.maps[:, 0])]
    assert np.mean(hits) >= 0.9

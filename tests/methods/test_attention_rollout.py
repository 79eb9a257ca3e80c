"""Attention rollout (Abnar & Zuidema 2020) against the formula written plainly in numpy
on attention matrices read independently (sub-models and direct MultiHeadAttention
calls, :func:`helpers.vit.block_attention`), on hand-built ViTs with a class token and
without one; invariants (rows of the rollout sum to 1; one map for every target); the
errors of models and options it does not apply to."""
import numpy as np
import pytest

import eli5_keras as eli5

from helpers.vit import GRID, block_attention, rollout_reference, squares, vit

RAW = dict(normalize=False, resize=False)


@pytest.fixture(scope="module")
def images():
    return squares(3, seed=11)[0]


@pytest.fixture(scope="module")
def class_token_vit():
    return vit(prefix=1, head="token", seed=4)


@pytest.fixture(scope="module")
def pooled_vit():
    return vit(prefix=0, head="mean", seed=5)


@pytest.mark.parametrize("fusion, discard", [("mean", 0.0), ("max", 0.0), ("min", 0.0), ("max", 0.9)])
def test_class_token_row_of_the_rollout(class_token_vit, images, fusion, discard):
    result = eli5.explain(class_token_vit, images, "attention_rollout", head_fusion=fusion, discard_ratio=discard, **RAW)
    assert result.layer == "block1_attn"  # the last attention layer
    expected = rollout_reference(block_attention(class_token_vit, images), fusion, discard)[:, 0, 1:].reshape(-1, GRID, GRID)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-4, atol=1e-6)


def test_rollout_up_to_the_named_attention_layer(class_token_vit, images):
    result = eli5.explain(class_token_vit, images, "attention_rollout", layer="block0_attn", **RAW)
    expected = rollout_reference(block_attention(class_token_vit, images, blocks=1))[:, 0, 1:].reshape(-1, GRID, GRID)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-4, atol=1e-6)


def test_without_a_class_token_the_rows_are_averaged_and_sum_to_one(pooled_vit, images):
    result = eli5.explain(pooled_vit, images, "attention_rollout", targets=[[0, 1]] * len(images), **RAW)
    expected = rollout_reference(block_attention(pooled_vit, images)).mean(axis=1).reshape(-1, GRID, GRID)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.maps.sum(axis=(2, 3)), 1.0, rtol=1e-5)  # rows of the rollout sum to 1
    np.testing.assert_array_equal(result.maps[:, 0], result.maps[:, 1])  # class-agnostic: one map per target


def test_the_class_token_row_sums_to_one_with_its_own_share(class_token_vit, images):
    maps = eli5.explain(class_token_vit, images, "attention_rollout", **RAW).maps[:, 0]
    own = rollout_reference(block_attention(class_token_vit, images))[:, 0, 0]
    np.testing.assert_allclose(maps.sum(axis=(1, 2)) + own, 1.0, rtol=1e-5)


def test_default_maps_have_the_inputs_shape(class_token_vit, images):
    result = eli5.explain(class_token_vit, images, "rollout")  # alias
    assert result.maps.shape == (len(images), 1, 16, 16)
    assert 0.0 <= result.maps.min() and result.maps.max() <= 1.0
    grid = eli5.explain(class_token_vit, images, "rollout", resize=False).maps  # min-max on the patch grid
    np.testing.assert_allclose(grid.max(axis=(2, 3)), 1.0)
    np.testing.assert_allclose(grid.min(axis=(2, 3)), 0.0)


def test_models_layers_and_options_it_does_not_apply_to(class_token_vit, seq_model, images):
    with pytest.raises(ValueError, match="MultiHeadAttention layers on token sequences.*has none"):
        eli5.explain(seq_model, np.zeros((1, 12, 12, 1), np.float32), "attention_rollout")
    with pytest.raises(ValueError, match="explains at a keras.layers.MultiHeadAttention layer.*LayerNormalization"):
        eli5.explain(class_token_vit, images, "attention_rollout", layer="block1_norm1")
    with pytest.raises(ValueError, match="head_fusion must be one of 'mean', 'max', 'min'; got 'median'"):
        eli5.explain(class_token_vit, images, "attention_rollout", head_fusion="median")
    with pytest.raises(ValueError, match=r"discard_ratio must be in \[0.0, 1.0\)"):
        eli5.explain(class_token_vit, images, "attention_rollout", discard_ratio=1.0)
    with pytest.raises(TypeError, match="discard_ratio must be a finite number"):
        eli5.explain(class_token_vit, images, "attention_rollout", discard_ratio="0.9")
    with pytest.raises(ValueError, match="reshape= cannot say where each token lies"):
        eli5.explain(class_token_vit, images, "attention_rollout", reshape=lambda t: t[:, 1:, None])
    assert "attention_rollout" not in eli5.methods.applicable(seq_model)
    assert "attention_rollout" in eli5.methods.applicable(class_token_vit)

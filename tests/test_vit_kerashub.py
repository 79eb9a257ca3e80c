"""KerasHub's ViTImageClassifier (built offline from constructor arguments, random
weights), whose transformer blocks live inside its ``ViTEncoder`` layer: layer paths into
the encoder, the automatic layer (the last block's ``ln_1``, where the class-token head
still gives the patch tokens a gradient), Grad-CAM equal to the computation on the
reshaped layer, and the attention methods' numbers, all against the model run by hand
from its layers (:func:`helpers.vit.kerashub_by_hand`); trained a few seconds, its maps
point at a planted square."""
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.backend.layers import attention_paths, auto_layer, path_name

from helpers.vit import chefer_reference, kerashub_by_hand, rollout_reference, squares, train_on_squares
from helpers.vit import kerashub_vit as build_kerashub_vit

ENCODER = "vi_t_backbone/vit_encoder"
RAW = dict(normalize=False, resize=False)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(21).uniform(0.0, 1.0, (3, 32, 32, 3)).astype(np.float32)


@pytest.fixture(scope="module")
def by_hand(kerashub_vit, images):
    classes = np.argmax(kerashub_vit(images).numpy(), axis=1)
    parts = kerashub_by_hand(kerashub_vit, images, classes)
    np.testing.assert_allclose(parts[-1], kerashub_vit(images).numpy(), rtol=1e-4, atol=1e-5)  # it is the model
    return parts


def test_automatic_layer_and_attention_layers_inside_the_encoder(kerashub_vit):
    assert path_name(auto_layer(kerashub_vit, tokens=True)) == f"{ENCODER}/transformer_block_2/ln_1"
    assert [path_name(p) for p in attention_paths(kerashub_vit)] == [
        f"{ENCODER}/transformer_block_1/mha", f"{ENCODER}/transformer_block_2/mha"
    ]
    with pytest.raises(ValueError, match=r"no layer named 'ln_9' in 'transformer_block_2'.*'ln_1', 'mha'"):
        eli5.explain(kerashub_vit, np.zeros((1, 32, 32, 3), np.float32), layer=f"{ENCODER}/transformer_block_2/ln_9")


def test_gradcam_equals_the_reshaped_computation(kerashub_vit, images, by_hand):
    tokens, grads = by_hand[0].astype(np.float64), by_hand[1].astype(np.float64)
    a, g = tokens[:, 1:].reshape(-1, 4, 4, 16), grads[:, 1:].reshape(-1, 4, 4, 16)
    cam = np.einsum("nhwd,nd->nhw", a, g.mean(axis=(1, 2)))
    cam = (cam - cam.min(axis=(1, 2), keepdims=True)) / np.ptp(cam, axis=(1, 2), keepdims=True)
    expected = tf.image.resize(cam[..., None], (32, 32), method="bilinear").numpy()[..., 0]
    result = eli5.explain(kerashub_vit, images, "gradcam", relu=False)  # the automatic layer
    assert result.layer == f"{ENCODER}/transformer_block_2/ln_1"
    np.testing.assert_allclose(result.maps[:, 0], expected, atol=2e-4)


def test_the_last_block_output_gets_no_gradient_under_the_class_token_head(kerashub_vit, images):
    assert not eli5.explain(kerashub_vit, images, "hirescam", relu=False).empty.any()
    with pytest.warns(eli5.EmptyMapWarning):
        trapped = eli5.explain(kerashub_vit, images, "gradcam", layer=f"{ENCODER}/transformer_block_2", relu=False)
    assert trapped.empty.all()


def test_attention_rollout_numbers(kerashub_vit, images, by_hand):
    result = eli5.explain(kerashub_vit, images, "attention_rollout", head_fusion="max", **RAW)
    assert result.layer == f"{ENCODER}/transformer_block_2/mha"
    expected = rollout_reference(by_hand[2], "max")[:, 0, 1:].reshape(-1, 4, 4)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-4, atol=1e-6)


def test_transformer_attribution_numbers(kerashub_vit, images, by_hand):
    result = eli5.explain(kerashub_vit, images, "transformer_attribution", **RAW)
    expected = chefer_reference(by_hand[2], by_hand[3])[:, 0, 1:].reshape(-1, 4, 4)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-3, atol=1e-7)
    first = eli5.explain(kerashub_vit, images, "transformer_attribution", layer=f"{ENCODER}/transformer_block_1/mha", **RAW)
    expected = chefer_reference(by_hand[2][:1], by_hand[3][:1])[:, 0, 1:].reshape(-1, 4, 4)
    np.testing.assert_allclose(first.maps[:, 0], expected, rtol=1e-3, atol=1e-7)


@pytest.mark.filterwarnings("ignore:`shuffle=True` was passed")  # KerasHub's Task.fit makes a dataset
def test_trained_kerashub_vit_points_at_the_planted_square():
    model = train_on_squares(build_kerashub_vit(seed=2), 32, 8, count=512, epochs=8)
    x, labels, masks = squares(32, seed=5, size=32, patch=8)
    assert (np.argmax(model.predict(x, verbose=0), axis=1) == labels).mean() > 0.9
    positives = np.flatnonzero(labels)
    for method in ("gradcam", "hirescam", "transformer_attribution", "attention_rollout"):
        result = eli5.explain(model, x[positives], method, targets=1)
        assert result.maps.shape == (len(positives), 1, 32, 32) and not result.empty.any()
        hits = [masks[i][np.unravel_index(np.argmax(m), m.shape)] for i, m in zip(positives, result.maps[:, 0])]
        assert np.mean(hits) >= 0.9, method

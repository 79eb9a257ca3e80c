"""Segmentation on real encoder-decoder architectures with skip connections: a small
U-Net (Grad-CAM of SegmentationTarget against the computation written plainly with a
GradientTape) and KerasHub's DeepLabV3+ and SegFormer (the region target against the
same summed score written as a user function; the automatic layer skips the head)."""
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.backend.layers import auto_layer, path_name
from eli5_keras.targets import FunctionTarget, SegmentationTarget

from helpers.kerashub import AUTO_LAYERS, SIZE
from helpers.reference import grid_gradcam

L = keras.layers
CLASSES = 3


def unet(seed=5):
    """Two-level U-Net: conv, pool, conv (bottleneck), upsample, concatenated with the
    encoder's features (the skip), conv, then a 1x1 classifier conv and a softmax."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((SIZE, SIZE, 3))
    e = L.Conv2D(8, 3, padding="same", activation="relu", name="enc")(x)
    b = L.Conv2D(16, 3, padding="same", activation="relu", name="bottleneck")(L.MaxPooling2D()(e))
    u = L.Concatenate(name="skip")([L.UpSampling2D(name="up")(b), e])
    d = L.Conv2D(8, 3, padding="same", activation="relu", name="dec")(u)
    logits = L.Conv2D(CLASSES, 1, name="classifier")(d)
    return keras.Model(x, L.Softmax(name="probabilities")(logits), name="unet")


def region_mask(seed=0):
    mask = np.zeros((SIZE, SIZE), np.float32)
    mask[8:20, 4:24] = 1.0
    return mask


def hand_region_gradcam(model, layer, x, class_index, mask, relu=True):
    """Grad-CAM of ``sum over mask of logit[..., class_index]`` written plainly: tape on
    the layer, weights = mean gradient, weighted sum, ReLU, min-max, bilinear resize."""
    probe = keras.Model(model.input, [model.get_layer(layer).output, model.get_layer("classifier").output])
    with tf.GradientTape() as tape:
        features, logits = probe(tf.constant(x), training=False)
        score = tf.reduce_sum(logits[..., class_index] * mask, axis=(1, 2))
    grads = tape.gradient(score, features).numpy().astype(np.float64)
    return grid_gradcam(features.numpy().astype(np.float64), grads, SIZE, relu)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(2).uniform(0, 1, (2, SIZE, SIZE, 3)).astype(np.float32)


def test_unet_automatic_layer_is_the_last_decoder_conv():
    # not the classifier conv or its softmax: their maps are the score map itself
    assert path_name(auto_layer(unet())) == "dec"


@pytest.mark.parametrize("layer, relu", [("dec", True), ("bottleneck", False)])
def test_unet_region_gradcam_equals_the_hand_computation(images, layer, relu):
    # the untrained bottleneck's evidence is all negative: compared without the ReLU
    model, mask = unet(), region_mask()
    result = eli5.explain(model, images, "gradcam", layer=layer if layer != "dec" else None,
                          targets=SegmentationTarget(1, mask=mask), relu=relu)
    expected = hand_region_gradcam(model, layer, images, 1, mask, relu)
    assert not result.empty.any()
    np.testing.assert_allclose(result.maps[:, 0], expected, atol=2e-4)
    # reported: the region's summed probabilities
    probabilities = model(images, training=False).numpy()
    np.testing.assert_allclose(result.scores[:, 0], (probabilities[..., 1] * mask).sum(axis=(1, 2)), rtol=1e-5)


@pytest.mark.parametrize("fixture", ["deeplab_segmenter", "segformer_segmenter"])
def test_kerashub_segmenters_region_target_is_the_summed_region_score(request, images, fixture):
    model, mask = request.getfixturevalue(fixture), region_mask()
    assert re.fullmatch(AUTO_LAYERS[fixture], path_name(auto_layer(model)))
    result = eli5.explain(model, images, "gradcam", targets=SegmentationTarget(1, mask=mask), relu=False)
    summed = eli5.explain(
        model, images, "gradcam", relu=False,
        targets=FunctionTarget(lambda out: tf.reduce_sum(out[..., 1] * mask, axis=(1, 2))),
    )
    assert result.maps.shape == (2, 1, SIZE, SIZE) and np.all(np.isfinite(result.maps))
    assert not result.empty.any()
    np.testing.assert_allclose(result.maps, summed.maps, atol=1e-5)
    # (training=False: KerasHub's segmenters called without it update their batch
    # normalisation statistics)
    logits = model(images, training=False).numpy()
    np.testing.assert_allclose(result.scores[:, 0], (logits[..., 1] * mask).sum(axis=(1, 2)), rtol=1e-4)

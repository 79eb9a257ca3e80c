"""KerasHub models built offline (random weights, constructor arguments; never a
preset): image classifiers (ResNet, EfficientNet), segmenters (DeepLabV3+, SegFormer)
and a detector (RetinaNet), explained with the automatic layer by the registry's
methods. Each run's maps have the input's spatial shape and are finite, its reported
scores are the target's score on ``model(x, training=False)``, and the model's
variables are unchanged; a method that cannot apply says why.

KerasHub's ViT is explained in ``tests/test_vit.py``; ConvNeXt is not in keras-hub
0.32. Every (model, method) pair costs a compiled graph (seconds each), so by default
each method runs on one model in turn (method i on model i mod 5; Grad-CAM on all of
them); ``ELI5_KERAS_SWEEP=full`` runs every pair (several minutes on two cores).
"""
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras import methods
from eli5_keras.backend.layers import auto_layer, path_name
from eli5_keras.boxes import retinanet_decoder
from eli5_keras.targets import DetectionTarget, SegmentationTarget

from helpers.boxes import box_score
from helpers.kerashub import AUTO_LAYERS, DETECTOR_SIZE, SIZE
from helpers.methods import fast_options, names

MODELS = ("resnet_classifier", "efficientnet_classifier", "deeplab_segmenter", "segformer_segmenter",
          "retinanet_detector")

CLASS_TARGETS_ONLY = {"cam"}  # reads the classifier's Dense kernel


def pairs():
    everything = [(model, method) for model in MODELS for method in names()]
    if os.environ.get("ELI5_KERAS_SWEEP") == "full":
        return everything
    chosen = {(MODELS[i % len(MODELS)], method) for i, method in enumerate(names())}
    chosen |= {(model, "gradcam") for model in MODELS}
    return [pair for pair in everything if pair in chosen]


def snapshot(model):
    return [v.numpy().copy() for v in model.variables]


@pytest.fixture(scope="module")
def case(request):
    """Per model name: (model, input (1, S, S, 3), target, expected reported score,
    variables before any explanation)."""
    cache = {}

    def get(name):
        if name not in cache:
            model = request.getfixturevalue(name)
            size = DETECTOR_SIZE if name == "retinanet_detector" else SIZE
            x = np.random.default_rng(7).uniform(0, 1, (1, size, size, 3)).astype(np.float32)
            out = model(x, training=False)
            if name == "retinanet_detector":
                decoder = retinanet_decoder(model, (size, size))
                boxes = decoder(out["bbox_regression"]).numpy()[0]
                logits = out["cls_logits"].numpy()[0]
                label = int(logits[100].argmax())
                target = DetectionTarget(boxes[100][None], [label], decoder=decoder)
                expected = box_score(boxes, 1 / (1 + np.exp(-logits)), boxes[100][None], [label])
            elif name.endswith("segmenter"):
                mask = np.zeros((size, size), np.float32)
                mask[8:24, 4:20] = 1.0
                target = SegmentationTarget(1, mask=mask)
                expected = float((out.numpy()[0, ..., 1] * mask).sum())
            else:
                target, expected = None, float(out.numpy()[0].max())
            cache[name] = (model, x, target, expected, snapshot(model))
        return cache[name]

    return get


@pytest.mark.parametrize("name", MODELS)
def test_automatic_layer(request, name):
    assert re.fullmatch(AUTO_LAYERS[name], path_name(auto_layer(request.getfixturevalue(name), tokens=True)))


@pytest.mark.filterwarnings("ignore::eli5_keras.result.EmptyMapWarning")  # random weights
@pytest.mark.filterwarnings("ignore::eli5_keras.backend.relu_rules.NonReLUWarning")  # swish, gelu
@pytest.mark.parametrize("name, method", pairs())
def test_every_method_on_kerashub_models(case, name, method):
    model, x, target, expected, before = case(name)
    if method in CLASS_TARGETS_ONLY and target is not None:
        with pytest.raises(ValueError, match=rf"method '{method}' explains class targets only.*Use method='gradcam'"):
            eli5.explain(model, x, method, targets=target, **fast_options(method))
        return
    result = eli5.explain(model, x, method, targets=target, batch_size=8, **fast_options(method))
    assert result.maps.shape == (1, 1) + x.shape[1:3]
    assert np.all(np.isfinite(result.maps))
    np.testing.assert_allclose(result.scores[0, 0], expected, rtol=1e-3, atol=1e-4)
    for old, new in zip(before, model.variables):  # batch normalisation statistics included
        np.testing.assert_array_equal(old, new.numpy())


def test_shared_layers_are_not_chosen_and_the_error_lists_them():
    """A siamese model whose only convolution is shared by its two inputs: a tap reads a
    shared layer's first call, which is not all it contributes, so the automatic choice
    refuses and names it."""
    keras.utils.set_random_seed(0)
    first, second = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same", name="shared_conv")
    pool = keras.layers.GlobalAveragePooling2D()
    merged = keras.layers.Concatenate()([pool(conv(first)), pool(conv(second))])
    model = keras.Model([first, second], keras.layers.Dense(2)(merged))
    with pytest.raises(ValueError, match=r"skips \(shared layers.*\['shared_conv'\].*Pass layer="):
        auto_layer(model)


def test_a_layer_called_by_another_model_is_not_shared_here():
    """Only calls in the model's own graph make a layer shared: a conv reused by a second
    model (or nodes left by loading or rebuilding) has more inbound nodes, yet one call
    in this model, and stays the automatic choice."""
    keras.utils.set_random_seed(0)
    x = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same", name="reused_conv")
    model = keras.Model(x, keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(conv(x))))
    other = keras.Input((6, 6, 3))
    keras.Model(other, conv(other))  # a second model calls it too
    assert len(conv._inbound_nodes) > 1
    assert auto_layer(model)[-1] is conv

"""The demo's classifier: its architecture and the trained file shipped in the package.

``eli5_keras/demo/model.keras`` is produced by ``python -m eli5_keras.demo.train`` (the
reproducible source of that file) and loaded by :func:`load_model` without network.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

import keras

from .scenes import CLASS_NAMES, SIZE

MODEL_PATH = Path(__file__).with_name("model.keras")
"""The trained demo model shipped as package data."""

MODEL_NAME = "shapes_cnn"
LAST_CONV = "last_conv"
"""Name of the last 3x3 convolution (16x16 grid, 32 channels)."""
CLASS_MAPS = "class_maps"
"""Name of the 1x1 convolution giving one 16x16 evidence map per class: the last spatial
layer, which Grad-CAM explains by default."""


def build_model() -> keras.Model:
    """An untrained small CNN: ``(N, 64, 64, 3)`` in [0, 1] -> ``(N, 4)`` class probabilities.

    Two stride-2 4x4 convolutions (even kernels keep each output cell centred on the
    pixels it covers, so the 16x16 maps line up with the image when resized), two 3x3
    convolutions, a 1x1 convolution to one evidence map per class, global max pooling
    and a softmax: each class score is the peak of its map (Oquab et al., 2015). The
    training script also teaches each map to mark the object's cells, so the model's
    evidence lies on the object and the object's mask is a ground truth for explanations.
    """
    layers = keras.layers
    inputs = keras.Input((SIZE, SIZE, 3), name="scene")
    x = inputs
    for filters, kernel, stride in ((16, 4, 2), (32, 4, 2), (32, 3, 1)):
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name=LAST_CONV)(x)
    x = layers.Conv2D(len(CLASS_NAMES), 1, name=CLASS_MAPS)(x)
    x = layers.GlobalMaxPooling2D()(x)
    outputs = layers.Softmax(name="probabilities")(x)
    return keras.Model(inputs, outputs, name=MODEL_NAME)


def load_model(path: Union[str, Path] = MODEL_PATH) -> keras.Model:
    """The trained demo model (no training, no network).

    Raises
    ------
    FileNotFoundError
        The file is missing (then run ``python -m eli5_keras.demo.train``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"demo model {str(path)!r} not found; create it with `python -m eli5_keras.demo.train`."
        )
    return keras.models.load_model(path, compile=False)

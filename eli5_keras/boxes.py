"""Bounding-box geometry for detection targets: formats, pairwise IoU, anchor decoding.

Boxes are ``(..., 4)`` tensors in pixels, in one of Keras' absolute formats
(:data:`BOX_FORMATS`); the IoU is computed on ``yxyx`` corners. Decoding a raw
detector's box deltas against its anchors reuses Keras' own
``keras.utils.bounding_boxes.decode_deltas_to_boxes`` (what KerasHub's
``RetinaNetObjectDetector.decode_predictions`` calls), so the boxes a target scores
are the boxes the detector would output before non-maximum suppression.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import keras
import numpy as np
import tensorflow as tf

from . import validation as check

BOX_FORMATS = ("yxyx", "xyxy", "xywh", "center_xywh", "center_yxhw")
"""Absolute (pixel) box formats: corners ``yxyx``/``xyxy``, corner and size ``xywh``,
centre and size ``center_xywh``/``center_yxhw``."""


def check_box_format(name: str, value: Any) -> str:
    """``value`` checked as one of :data:`BOX_FORMATS` (ValueError naming ``name``)."""
    return check.choice(name, value, BOX_FORMATS)


def to_corners(boxes: tf.Tensor, source: str) -> tf.Tensor:
    """``(..., 4)`` boxes in format ``source`` as ``yxyx`` corners
    (``keras.utils.bounding_boxes.convert_format``); traceable."""
    if source == "yxyx":
        return boxes
    return keras.utils.bounding_boxes.convert_format(boxes, source=source, target="yxyx")


def box_iou(boxes: tf.Tensor, references: tf.Tensor, epsilon: float = 0.0) -> tf.Tensor:
    """Pairwise intersection over union of ``yxyx`` boxes.

    ``IoU(a, b) = |a ∩ b| / (|a| + |b| - |a ∩ b| + epsilon)``, the intersection's and the
    areas' sides clipped at 0 (with ``epsilon = 0``: 0 for disjoint boxes and for a pair of
    empty boxes). The formula is symmetric in the two axes, so ``xyxy`` corners give the
    same numbers.

    Parameters
    ----------
    boxes : tensor (N, A, 4)
    references : tensor (N, B, 4)
    epsilon : float
        Added to the union (Xplique's ``_box_iou`` adds 1e-4); 0: no term, ``0 / 0 = 0``.

    Returns
    -------
    tensor (N, A, B)
        Differentiable in both arguments where the boxes overlap.
    """
    a, b = boxes[:, :, None, :], references[:, None, :, :]
    height = tf.nn.relu(tf.minimum(a[..., 2], b[..., 2]) - tf.maximum(a[..., 0], b[..., 0]))
    width = tf.nn.relu(tf.minimum(a[..., 3], b[..., 3]) - tf.maximum(a[..., 1], b[..., 1]))
    intersection = height * width

    def area(x: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(x[..., 2] - x[..., 0]) * tf.nn.relu(x[..., 3] - x[..., 1])

    union = area(a) + area(b) - intersection
    if epsilon:
        return intersection / (union + epsilon)
    return tf.math.divide_no_nan(intersection, union)


class AnchorDecoder:
    """Raw box deltas per anchor -> boxes, with Keras' ``decode_deltas_to_boxes``.

    For a centre-size encoding ``(dx, dy, dw, dh)`` (``center_xywh``) of an anchor with
    centre ``(xa, ya)`` and size ``(wa, ha)`` (Ren et al. 2015, Faster R-CNN, eq. 2;
    RetinaNet, Lin et al. 2017, uses the same parameterisation):
    ``x = xa + dx * wa``, ``y = ya + dy * ha``, ``w = wa * exp(dw)``, ``h = ha * exp(dh)``
    (deltas first multiplied by ``variance`` when given).

    Parameters
    ----------
    anchors : array (A, 4)
        One anchor per prediction, in ``anchor_format``, in the order of the model's
        prediction axis.
    anchor_format : str
    encoded_format : {"center_xywh", "center_yxhw"}
        The order of the deltas.
    box_format : str
        Format of the decoded boxes (:data:`BOX_FORMATS`).
    variance : sequence of 4 floats, optional
    """

    def __init__(
        self,
        anchors: Any,
        anchor_format: str = "yxyx",
        encoded_format: str = "center_xywh",
        box_format: str = "yxyx",
        variance: Optional[Sequence[float]] = None,
    ) -> None:
        self.anchors = np.asarray(anchors, np.float32)
        if self.anchors.ndim != 2 or self.anchors.shape[1] != 4:
            raise ValueError(f"anchors must have shape (A, 4); got {self.anchors.shape}.")
        self.anchor_format = check_box_format("anchor_format", anchor_format)
        self.encoded_format = check.choice("encoded_format", encoded_format, ("center_xywh", "center_yxhw"))
        self.box_format = check_box_format("box_format", box_format)
        self.variance = None if variance is None else tuple(float(v) for v in variance)

    @property
    def num_anchors(self) -> int:
        return len(self.anchors)

    def __call__(self, deltas: tf.Tensor) -> tf.Tensor:
        """``(N, A, 4)`` deltas -> ``(N, A, 4)`` boxes in ``box_format``; traceable."""
        return keras.utils.bounding_boxes.decode_deltas_to_boxes(
            anchors=tf.constant(self.anchors),
            boxes_delta=deltas,
            anchor_format=self.anchor_format,
            box_format=self.box_format,
            encoded_format=self.encoded_format,
            variance=self.variance,
        )


def retinanet_decoder(model: keras.Model, image_shape: Sequence[int]) -> AnchorDecoder:
    """The :class:`AnchorDecoder` of a KerasHub ``RetinaNetObjectDetector`` for images of
    ``image_shape`` ``(height, width[, channels])``: its own anchor generator's anchors
    for that size, levels concatenated in the order of its outputs, centre-xywh deltas,
    boxes in the model's ``bounding_box_format`` (as its ``decode_predictions``)."""
    generator = getattr(model, "anchor_generator", None)
    if generator is None:
        raise TypeError(
            f"retinanet_decoder needs a KerasHub RetinaNetObjectDetector (a model with an "
            f"anchor_generator); got {type(model).__name__}."
        )
    if len(image_shape) not in (2, 3) or not all(isinstance(d, (int, np.integer)) and d > 0 for d in image_shape):
        raise ValueError(f"image_shape must be (height, width[, channels]) of positive ints; got {image_shape!r}.")
    height, width = int(image_shape[0]), int(image_shape[1])
    levels = generator(np.zeros((1, height, width, 3), np.float32))
    anchors = np.concatenate([keras.ops.convert_to_numpy(a) for a in levels.values()], axis=0)
    return AnchorDecoder(
        anchors, anchor_format=generator.bounding_box_format, encoded_format="center_xywh",
        box_format=model.bounding_box_format,
    )

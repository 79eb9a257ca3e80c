"""Box geometry: pairwise IoU against hand-computed overlaps, anchor decoding against
the Faster R-CNN parameterisation written out, and KerasHub RetinaNet's anchors."""
import math

import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.boxes import AnchorDecoder, box_iou, retinanet_decoder, to_corners


def test_iou_of_hand_computed_pairs():
    boxes = tf.constant([[[0, 0, 10, 10], [0, 5, 10, 15], [20, 20, 30, 30], [2, 2, 2, 8]]], tf.float32)
    references = tf.constant([[[0, 0, 10, 10], [5, 0, 15, 10]]], tf.float32)
    iou = box_iou(boxes, references).numpy()[0]
    expected = [
        [1.0, 50 / 150],  # identical; half overlap along y
        [50 / 150, 25 / 175],  # half along x; a quarter of each
        [0.0, 0.0],  # disjoint
        [0.0, 0.0],  # empty box
    ]
    np.testing.assert_allclose(iou, expected, rtol=1e-6)
    # symmetric, and invariant to translating both
    np.testing.assert_allclose(box_iou(references, boxes).numpy()[0], iou.T, rtol=1e-6)
    np.testing.assert_allclose(box_iou(boxes + 7.0, references + 7.0).numpy()[0], iou, rtol=1e-5)
    # epsilon added to the union (Xplique's 1e-4): |a ∩ b| / (|a ∪ b| + eps), 0 for empty pairs
    eps = 1e-4
    expected_eps = [[100 / (100 + eps), 50 / (150 + eps)], [50 / (150 + eps), 25 / (175 + eps)], [0, 0], [0, 0]]
    np.testing.assert_allclose(box_iou(boxes, references, eps).numpy()[0], expected_eps, rtol=1e-6)


def test_formats_become_yxyx_corners():
    yxyx = tf.constant([[[1.0, 2.0, 5.0, 10.0]]])
    np.testing.assert_allclose(to_corners(tf.constant([[[2.0, 1.0, 10.0, 5.0]]]), "xyxy"), yxyx)
    np.testing.assert_allclose(to_corners(tf.constant([[[2.0, 1.0, 8.0, 4.0]]]), "xywh"), yxyx)
    np.testing.assert_allclose(to_corners(tf.constant([[[6.0, 3.0, 8.0, 4.0]]]), "center_xywh"), yxyx)
    np.testing.assert_allclose(to_corners(tf.constant([[[3.0, 6.0, 4.0, 8.0]]]), "center_yxhw"), yxyx)


def test_anchor_decoding_is_the_centre_size_parameterisation():
    # anchor: centre (y, x) = (5, 10), size (h, w) = (10, 20)
    decoder = AnchorDecoder([[0.0, 0.0, 10.0, 20.0]], anchor_format="yxyx", encoded_format="center_xywh")
    deltas = tf.constant([[[0.1, -0.2, math.log(2.0), 0.0]]])  # dx, dy, dw, dh
    x, y, w, h = 10 + 0.1 * 20, 5 - 0.2 * 10, 20 * 2.0, 10 * 1.0
    np.testing.assert_allclose(decoder(deltas).numpy()[0, 0], [y - h / 2, x - w / 2, y + h / 2, x + w / 2], rtol=1e-5)
    # zero deltas give the anchors back
    np.testing.assert_allclose(decoder(tf.zeros((2, 1, 4))).numpy(), [[[0, 0, 10, 20]]] * 2, atol=1e-5)


def test_decoder_arguments_are_checked():
    with pytest.raises(ValueError, match=r"anchors must have shape \(A, 4\); got \(3,\)"):
        AnchorDecoder([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="encoded_format must be one of 'center_xywh', 'center_yxhw'; got 'xyxy'"):
        AnchorDecoder([[0, 0, 1, 1]], encoded_format="xyxy")
    with pytest.raises(ValueError, match="anchor_format must be one of"):
        AnchorDecoder([[0, 0, 1, 1]], anchor_format="rel_xyxy")
    with pytest.raises(TypeError, match="needs a KerasHub RetinaNetObjectDetector.*got Sequential"):
        import keras

        retinanet_decoder(keras.Sequential(), (64, 64))


def test_retinanet_decoder_has_one_anchor_per_prediction(retinanet_detector):
    retinanet = retinanet_detector
    from helpers.kerashub import DETECTOR_SIZE

    decoder = retinanet_decoder(retinanet, (DETECTOR_SIZE, DETECTOR_SIZE))
    assert decoder.num_anchors == retinanet.output["cls_logits"].shape[1]
    # 9 anchors (3 scales x 3 aspect ratios) per position of P3 (8x8) then P4 (4x4)
    assert decoder.num_anchors == 9 * (8 * 8 + 4 * 4)
    centres = (decoder.anchors[:, :2] + decoder.anchors[:, 2:]) / 2
    # KerasHub's anchor grid starts at the corner: cells 0 and 1 of P3 (stride 8) centre
    # at (0, 0) and (0, 8), those of P4 (stride 16) at (0, 0) and (0, 16)
    np.testing.assert_allclose(centres[[0, 9, 9 * 64, 9 * 64 + 9]], [[0, 0], [0, 8], [0, 0], [0, 16]])
    with pytest.raises(ValueError, match="image_shape must be"):
        retinanet_decoder(retinanet, (64,))

"""DetectionTarget: pytorch-grad-cam's box score (IoU + class score of the matching
predictions, summed over reference boxes) against numbers computed by hand, its
gradients, a toy detector explained end to end, and KerasHub's RetinaNet with its raw
per-anchor outputs decoded inside the target."""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.boxes import retinanet_decoder
from eli5_keras.targets import DetectionTarget

from helpers.boxes import box_score
from helpers.kerashub import DETECTOR_SIZE

# predictions (yxyx) and their class scores (2 classes), for the references below
PREDICTED = np.array(
    [
        [0, 0, 10, 10],  # label 1, IoU 1 with reference 0: 1 + 0.7
        [0, 5, 10, 15],  # label 1, IoU 1/3 with reference 0: below the threshold
        [0, 0, 10, 8],  # IoU 0.8 with reference 0, but label 0
        [1, 1, 9, 9],  # label 1, IoU 0.64 with reference 0: 0.64 + 0.4
        [20, 20, 30, 25],  # label 0, IoU 0.5 with reference 1: 0.5 + 0.5
    ],
    np.float32,
)
SCORES = np.array([[0.2, 0.7], [0.1, 0.6], [0.9, 0.8], [0.3, 0.4], [0.5, 0.2]], np.float32)
REFERENCES = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
LABELS = np.array([1, 0, -1])  # the third is padding: ignored
BY_HAND = (1 + 0.7) + (0.64 + 0.4) + (0.5 + 0.5)


def score(target, boxes=PREDICTED, scores=SCORES, probabilities=(False, True)):
    bound = target.bind([(None,) + boxes.shape, (None,) + scores.shape], 1)
    outputs = [tf.constant(boxes[None]), tf.constant(scores[None])]
    return bound(outputs, tf.constant(bound.encode(1)), list(probabilities))


def test_box_score_by_hand():
    labels, scores = score(DetectionTarget(REFERENCES, LABELS))
    np.testing.assert_allclose(scores.numpy(), [[BY_HAND]], rtol=1e-6)
    assert labels.numpy().tolist() == [[1]]  # the first reference's label


def test_threshold_formats_and_logits():
    # IoU >= threshold: at 0.6 the 0.5 match drops out
    stricter = DetectionTarget(REFERENCES, LABELS, iou_threshold=0.6)
    np.testing.assert_allclose(score(stricter)[1], [[BY_HAND - 1.0]], rtol=1e-6)
    # the same boxes given as xyxy
    xyxy = DetectionTarget(REFERENCES[:, [1, 0, 3, 2]], LABELS, box_format="xyxy")
    np.testing.assert_allclose(score(xyxy, boxes=PREDICTED[:, [1, 0, 3, 2]])[1], [[BY_HAND]], rtol=1e-6)
    # class logits (not a probability output): the sigmoid of the logit is the class score
    logits = np.log(SCORES / (1 - SCORES))
    from_logits = score(DetectionTarget(REFERENCES, LABELS), scores=logits, probabilities=(False, False))[1]
    np.testing.assert_allclose(from_logits, [[BY_HAND]], rtol=1e-5)
    # no match at all: 0
    np.testing.assert_allclose(score(DetectionTarget([[50, 50, 60, 60]], [0]))[1], [[0.0]])


def test_gradient_reaches_the_matched_boxes_and_scores_only():
    target = DetectionTarget(REFERENCES, LABELS).bind([(None, 5, 4), (None, 5, 2)], 1)
    boxes, scores = tf.constant(PREDICTED[None]), tf.constant(SCORES[None])
    with tf.GradientTape() as tape:
        tape.watch([boxes, scores])
        _, s = target([boxes, scores], tf.constant(target.encode(1)), [False, True])
    box_grad, score_grad = (g.numpy()[0] for g in tape.gradient(s, [boxes, scores]))
    # prediction 3, [1, 1, 9, 9] in [0, 0, 10, 10]: IoU = 8 * 8 / 100, so moving y2 by e
    # gives (8 + e) * 8 / 100 (the union stays the reference): dIoU/dy2 = 0.08
    np.testing.assert_allclose(box_grad[3], [-0.08, -0.08, 0.08, 0.08], rtol=1e-5)
    np.testing.assert_allclose(score_grad, [[0, 1], [0, 0], [0, 0], [0, 1], [1, 0]])
    np.testing.assert_allclose(box_grad[[1, 2]], 0.0)  # unmatched


def toy_detector():
    """Boxes ``(N, 5, 4)`` = PREDICTED + a small linear function of the image, class
    probabilities ``(N, 5, 2)`` through a final sigmoid layer."""
    keras.utils.set_random_seed(3)
    x = keras.Input((6, 6, 1))
    flat = keras.layers.Flatten()(x)
    small = keras.initializers.RandomNormal(stddev=0.05)
    logit_bias = keras.initializers.Constant(np.log(SCORES / (1 - SCORES)).ravel())
    box_bias = keras.initializers.Constant(PREDICTED.ravel())
    boxes = keras.layers.Dense(20, kernel_initializer=small, bias_initializer=box_bias)(flat)
    logits = keras.layers.Dense(10, kernel_initializer=small, bias_initializer=logit_bias)(flat)
    boxes = keras.layers.Reshape((5, 4), name="boxes")(boxes)
    probabilities = keras.layers.Activation("sigmoid", name="probabilities")(keras.layers.Reshape((5, 2))(logits))
    return keras.Model(x, [boxes, probabilities])


def test_toy_detector_explained_end_to_end():
    model = toy_detector()
    x = np.random.default_rng(0).uniform(0, 1, (3, 6, 6, 1)).astype(np.float32)
    target = DetectionTarget(REFERENCES, LABELS)
    result = eli5.explain(model, x, "gradient_input", targets=target, relu=False, normalize=False)
    boxes, scores = (o.numpy() for o in model(x, training=False))
    expected = [box_score(boxes[i], scores[i], REFERENCES, LABELS) for i in range(3)]
    np.testing.assert_allclose(result.scores[:, 0], expected, rtol=1e-5)
    # gradient x input equals the tape's gradient of the same score times the input
    xt = tf.constant(x)
    bound = target.bind([(None, 5, 4), (None, 5, 2)], 3)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        s = tf.reduce_sum(bound(model(xt), tf.constant(bound.encode(3)), [False, True])[1])
    expected_map = (tape.gradient(s, xt).numpy() * x)[..., 0]
    np.testing.assert_allclose(result.maps[:, 0], expected_map, rtol=1e-4, atol=1e-6)


def test_bad_detection_targets_say_what_was_expected(func_model):
    with pytest.raises(ValueError, match=r"boxes must have shape \(B, 4\) or \(N, B, 4\); got \(4,\)"):
        DetectionTarget([0, 0, 1, 1], [0])
    with pytest.raises(ValueError, match=r"labels must be ints of shape \(1,\).*float64 of shape \(1,\)"):
        DetectionTarget([[0, 0, 1, 1]], [0.5])
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0.0, 1.0\]; got 1.5"):
        DetectionTarget([[0, 0, 1, 1]], [0], iou_threshold=1.5)
    with pytest.raises(ValueError, match="box_format must be one of"):
        DetectionTarget([[0, 0, 1, 1]], [0], box_format="rel_yxyx")
    with pytest.raises(TypeError, match="decoder must be a callable"):
        DetectionTarget([[0, 0, 1, 1]], [0], decoder="retinanet")
    x = np.zeros((1,) + tuple(func_model.input.shape[1:]), np.float32)
    with pytest.raises(ValueError, match=r"output_index must be .*got 1"):
        eli5.explain(func_model, x, targets=DetectionTarget([[0, 0, 1, 1]], [0]))
    with pytest.raises(ValueError, match=r"needs a box output \(N, A, 4\) and a class score output"):
        eli5.explain(func_model, x, targets=DetectionTarget([[0, 0, 1, 1]], [0], scores_output=0))
    with pytest.raises(ValueError, match=r"labels \[7\] are out of range for 2 classes"):
        score(DetectionTarget([[0, 0, 1, 1]], [7]))


@pytest.fixture(scope="module")
def retinanet_case(retinanet_detector):
    """The detector, two images, its decoder, decoded boxes and class logits."""
    x = np.random.default_rng(1).uniform(0, 1, (2, DETECTOR_SIZE, DETECTOR_SIZE, 3)).astype(np.float32)
    decoder = retinanet_decoder(retinanet_detector, (DETECTOR_SIZE, DETECTOR_SIZE))
    out = retinanet_detector(x, training=False)
    return retinanet_detector, x, decoder, decoder(out["bbox_regression"]).numpy(), out["cls_logits"].numpy()


@pytest.mark.filterwarnings("ignore::eli5_keras.result.EmptyMapWarning")  # image 1 may match nothing
def test_retinanet_raw_outputs_decoded_inside_the_target(retinanet_case):
    model, x, decoder, boxes, logits = retinanet_case
    # reference: the box that anchor 100 (a P3 anchor) predicts on image 0, with its label
    reference, label = boxes[0, 100], int(logits[0, 100].argmax())
    target = DetectionTarget(reference[None], [label], decoder=decoder)
    result = eli5.explain(model, x, "gradcam", targets=target, relu=False)
    probabilities = 1 / (1 + np.exp(-logits))
    expected = [box_score(boxes[i], probabilities[i], reference[None], [label]) for i in range(2)]
    assert expected[0] >= 1.0  # anchor 100 itself matches with IoU 1
    np.testing.assert_allclose(result.scores[:, 0], expected, rtol=1e-4)
    assert result.maps.shape == (2, 1, DETECTOR_SIZE, DETECTOR_SIZE) and np.all(np.isfinite(result.maps))
    assert not result.empty[0, 0]
    # another reference box (a P4 anchor's) explains something else
    other = DetectionTarget(boxes[0, 700][None], [int(logits[0, 700].argmax())], decoder=decoder)
    moved = eli5.explain(model, x[:1], "gradcam", targets=other, relu=False)
    assert moved.scores[0, 0] >= 1.0
    assert np.abs(moved.maps[0] - result.maps[0]).max() > 0.05

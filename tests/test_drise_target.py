"""DRiseTarget: D-RISE's similarity (Petsiuk et al. 2021) against numbers computed by hand,
its variants, padding rows, several references (mean), its gradients, and a toy detector
explained end to end against finite differences of the formula written in numpy."""
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.targets import DRiseTarget

from helpers.boxes import PREDICTIONS, REFERENCES, drise_score
from helpers.models import linear_detector

BY_HAND = {  # (objectness, class_similarity): mean over r0, r1 of the best proposal
    (True, True): (0.45 + 0.5) / 2,
    (False, False): (1.0 + 0.5) / 2,  # IoU only
    (True, False): (0.5 + 0.5) / 2,  # IoU * objectness: p0's 0.5 for r0
    (False, True): (0.6 + 0.5) / 2,  # IoU * cosine: p0's 0.6 for r0
}


def score(target, predictions=PREDICTIONS):
    predictions = predictions if predictions.ndim == 3 else predictions[None]
    bound = target.bind([(None,) + predictions.shape[1:]], len(predictions))
    return bound([tf.constant(predictions)], tf.constant(bound.encode(len(predictions))), [False])


@pytest.mark.parametrize("objectness, classes", list(BY_HAND))
def test_variants_by_hand(objectness, classes):
    labels, scores = score(DRiseTarget(REFERENCES, objectness=objectness, class_similarity=classes))
    np.testing.assert_allclose(scores.numpy(), [[BY_HAND[objectness, classes]]], rtol=1e-6)
    assert labels.numpy().tolist() == [[0]]  # the first reference's class
    np.testing.assert_allclose(BY_HAND[objectness, classes], drise_score(PREDICTIONS, REFERENCES, objectness, classes))


def test_padding_epsilon_and_formats():
    # a padding proposal would win the max (0) over the only real one, whose objectness is negative
    negative = np.array([[0, 0, 10, 10, -1.0, 0.6, 0.8], [0, 0, 0, 0, 0, 0, 0]], np.float32)
    np.testing.assert_allclose(score(DRiseTarget(REFERENCES[:1]), negative)[1], [[-0.6]], rtol=1e-6)
    # nothing to match on either side: 0
    np.testing.assert_allclose(score(DRiseTarget(REFERENCES), np.zeros_like(PREDICTIONS))[1], [[0.0]])
    np.testing.assert_allclose(score(DRiseTarget(np.zeros((2, 7))))[1], [[0.0]])
    # epsilon in the union and the cosine (Xplique's 1e-4)
    eps = 1e-4
    r0 = max(0.5 * 0.6 / (1 + eps), 50 / (100 + eps) * 0.9 / (1 + eps))
    expected = (r0 + 50 / (100 + eps) / (1 + eps)) / 2
    np.testing.assert_allclose(score(DRiseTarget(REFERENCES, epsilon=eps))[1], [[expected]], rtol=1e-6)
    np.testing.assert_allclose(expected, drise_score(PREDICTIONS, REFERENCES, epsilon=eps), rtol=1e-7)
    # the same boxes as yxyx corners and as centre-size boxes
    yxyx = [1, 0, 3, 2]
    swapped = DRiseTarget(REFERENCES[:, yxyx + [4, 5, 6]], box_format="yxyx")
    np.testing.assert_allclose(score(swapped, PREDICTIONS[:, yxyx + [4, 5, 6]])[1], [[BY_HAND[True, True]]], rtol=1e-6)

    def centred(rows):
        x1, y1, x2, y2 = rows[:, :4].T
        return np.concatenate([np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], 1), rows[:, 4:]], 1)

    centre = DRiseTarget(centred(REFERENCES[:2]), box_format="center_xywh")
    np.testing.assert_allclose(score(centre, centred(PREDICTIONS[:3]))[1], [[BY_HAND[True, True]]], rtol=1e-6)


def test_one_reference_set_per_input():
    predictions = np.stack([PREDICTIONS, PREDICTIONS[[2, 1, 0, 3]]])
    per_input = np.stack([REFERENCES, REFERENCES[[1, 2, 2]]])  # input 1: r1 alone
    _, scores = score(DRiseTarget(per_input), predictions)
    np.testing.assert_allclose(scores.numpy()[:, 0], [BY_HAND[True, True], 0.5], rtol=1e-6)
    _, shared = score(DRiseTarget(REFERENCES[0]), predictions)  # one box for every input
    np.testing.assert_allclose(shared.numpy()[:, 0], [0.45, 0.45], rtol=1e-6)


def test_gradient_reaches_the_matched_proposals_only():
    target = DRiseTarget(REFERENCES).bind([(None, 4, 7)], 1)
    predictions = tf.constant(PREDICTIONS[None])
    with tf.GradientTape() as tape:
        tape.watch(predictions)
        _, s = target([predictions], tf.constant(target.encode(1)), [False])
    g = tape.gradient(s, predictions).numpy()[0]
    assert np.all(np.isfinite(g))
    # dS/dO_p = IoU * cosine / 2 for the two matched proposals (p1 for r0, p2 for r1)
    np.testing.assert_allclose(g[:, 4], [0.0, 0.25, 0.25, 0.0], atol=1e-7)
    # p1 = [0, 0, 10, 5] in r0 = [0, 0, 10, 10]: IoU = 10 * y2 / 100, so dS/dy2 = 0.1 * 0.9 / 2
    np.testing.assert_allclose(g[1, 3], 0.045, rtol=1e-5)
    np.testing.assert_allclose(g[[0, 3]], 0.0)  # not the best match; padding


def numeric_gradient(fn, x, h=1e-4):
    grad = np.zeros_like(x, np.float64)
    flat = x.astype(np.float64).ravel()
    for i in range(flat.size):
        up, down = flat.copy(), flat.copy()
        up[i] += h
        down[i] -= h
        grad.ravel()[i] = (fn(up.reshape(x.shape)) - fn(down.reshape(x.shape))) / (2 * h)
    return grad


def test_toy_detector_saliency_is_the_formula_gradient():
    detector = linear_detector(PREDICTIONS[:3])
    kernel, bias = (w.astype(np.float64) for w in detector.get_layer("det_dense").get_weights())
    x = np.random.default_rng(0).uniform(-1, 1, (2, 6, 6, 1)).astype(np.float32)
    refs = np.stack([REFERENCES, REFERENCES[[1, 0, 2]]])

    def drise(image, i):
        out = (image.reshape(1, -1) @ kernel + bias).reshape(3, 7)
        return drise_score(out, refs[i])

    result = eli5.explain(detector, x, "saliency", targets=DRiseTarget(refs), reduce="max_abs",
                          relu=False, normalize=False)
    for i in range(2):
        expected = np.abs(numeric_gradient(lambda image: drise(image, i), x[i]))[..., 0]
        np.testing.assert_allclose(result.maps[i, 0], expected, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(result.scores[i, 0], drise(x[i], i), rtol=1e-5)


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="references"):
        DRiseTarget(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="references"):
        DRiseTarget(np.zeros((1, 2, 3, 7)))
    with pytest.raises(ValueError, match="box_format"):
        DRiseTarget(REFERENCES, box_format="xy")
    with pytest.raises(TypeError, match="objectness"):
        DRiseTarget(REFERENCES, objectness="yes")
    with pytest.raises(ValueError, match="targets.*7 values per box"):
        DRiseTarget(REFERENCES).bind([(None, 4, 8)], 1)
    with pytest.raises(ValueError, match="targets.*3 sets of boxes for 2 inputs"):
        DRiseTarget(np.stack([REFERENCES] * 3)).bind([(None, 4, 7)], 2)

"""Xplique's ``Tasks`` in the facade: names, Xplique's own operators recognised by name,
the semantic segmentation operator ``sum(f(x) * y) / count_nonzero(y)`` and the object
detection operators (D-RISE with Xplique's 1e-4, its three variants, ``(N, 5 + nc)`` and
``(N, R, 5 + nc)`` targets with padding rows) against the formulas written plainly
(a tape on the model, numpy loops, finite differences), through Saliency and Occlusion."""
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.compat import xplique as xq
from eli5_keras.compat.xplique import Tasks

from helpers.boxes import PREDICTIONS, REFERENCES, drise_score
from helpers.data import images
from helpers.models import linear_detector

EPS = 1e-4  # Xplique's _EPSILON
VARIANTS = {  # task: (objectness, class similarity)
    Tasks.OBJECT_DETECTION: (True, True), Tasks.OBJECT_DETECTION_BOX_POSITION: (False, False),
    Tasks.OBJECT_DETECTION_BOX_PROBA: (True, False), Tasks.OBJECT_DETECTION_BOX_CLASS: (False, True),
}


@pytest.fixture(scope="module")
def detector():
    return linear_detector(PREDICTIONS[:3])


def xplique_operator(module, qualname):
    """A stand-in for one of Xplique's ``Tasks`` attributes (functions), named as Xplique
    names them; calling it fails, so it is recognised by name, not called."""
    def operator(model, inputs, targets):
        raise AssertionError("called")
    operator.__module__, operator.__qualname__ = module, qualname
    return operator


def test_tasks_names_and_operator_values():
    assert [t.value for t in Tasks] == [
        "classification", "regression", "semantic segmentation", "object detection",
        "object detection box position", "object detection box proba", "object detection box class",
    ]
    assert Tasks.from_string("object detection box class") is Tasks.OBJECT_DETECTION_BOX_CLASS
    for operator, task in (
        (Tasks.SEMANTIC_SEGMENTATION, Tasks.SEMANTIC_SEGMENTATION), ("object detection", Tasks.OBJECT_DETECTION),
        (None, Tasks.CLASSIFICATION), ("regression", Tasks.REGRESSION),
        (xplique_operator("xplique.commons.operators", "semantic_segmentation_operator"), Tasks.SEMANTIC_SEGMENTATION),
        (xplique_operator("xplique.commons.operators", "predictions_operator"), Tasks.CLASSIFICATION),
        (xplique_operator("xplique.commons.operators", "object_detection_operator"), Tasks.OBJECT_DETECTION),
        (xplique_operator("xplique.commons.operators_operations", "Tasks.OBJECT_DETECTION_BOX_PROBA"),
         Tasks.OBJECT_DETECTION_BOX_PROBA),
    ):
        assert xq.Saliency(lambda t: t, operator=operator).operator is task
    custom = xplique_operator("mine", "predictions_operator")  # another module's function: a callable
    assert xq.Saliency(lambda t: t, operator=custom).operator is custom
    with pytest.raises(ValueError, match="operator must be one of .*'object detection box class'"):
        Tasks.from_string("detection")
    with pytest.raises(TypeError, match="operator"):
        xq.Saliency(lambda t: t, operator=3)


def segmentation_targets(model, x):
    """Input 0: class 1 on a rectangle; input 1: class 2 where predicted, minus a border
    strip of class 0 (Xplique's border targets use -1)."""
    y = np.zeros((2, 12, 12, 3), np.float32)
    y[0, 2:6, 3:9, 1] = 1
    y[1, ..., 2] = np.asarray(model(x)).argmax(-1)[1] == 2
    y[1, 4, 4:9, 0] = -1
    return y


def segmentation_score(out, y):
    return (out * y).sum(axis=(1, 2, 3)) / (y != 0).sum(axis=(1, 2, 3))


def test_semantic_segmentation_saliency_and_occlusion(segmentation_model):
    x = images(2, seed=1)
    y = segmentation_targets(segmentation_model, x)
    assert y[1, ..., 2].any()
    np.testing.assert_allclose(
        Tasks.SEMANTIC_SEGMENTATION(segmentation_model, x, y).numpy(),
        segmentation_score(np.asarray(segmentation_model(x)), y), rtol=1e-6,
    )
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        s = tf.reduce_sum(segmentation_model(xt) * y, axis=(1, 2, 3)) / np.sum(y != 0, axis=(1, 2, 3))
    expected = np.abs(tape.gradient(s, xt).numpy()).max(-1)[..., None]
    got = xq.Saliency(segmentation_model, operator="semantic segmentation").explain(x, y)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-7)

    base = segmentation_score(np.asarray(segmentation_model(x)), y)
    occlusion = np.zeros((2, 12, 12, 1))
    for i in range(0, 12, 4):
        for j in range(0, 12, 4):
            occluded = x.copy()
            occluded[:, i:i + 4, j:j + 4] = 0.0
            occlusion[:, i:i + 4, j:j + 4] += (base - segmentation_score(np.asarray(segmentation_model(occluded)), y))[
                :, None, None, None]
    got = xq.Occlusion(segmentation_model, patch_size=4, patch_stride=4, operator=Tasks.SEMANTIC_SEGMENTATION)
    np.testing.assert_allclose(got.explain(x, y).numpy(), occlusion, rtol=1e-4, atol=1e-6)


def detection_targets():
    """Input 0: one box (N, 5 + nc); both inputs: several references, padded."""
    one = REFERENCES[[0, 1]]
    several = np.stack([REFERENCES, REFERENCES[[1, 2, 2]]])
    return one, several


@pytest.mark.parametrize("task", list(VARIANTS))
def test_detection_operators_by_hand(detector, task):
    x = images(2, size=6, channels=1, seed=2)
    outputs = np.asarray(detector(x))
    for targets in detection_targets():
        expected = [drise_score(outputs[i], targets[i].reshape(-1, 7), *VARIANTS[task], epsilon=EPS) for i in range(2)]
        np.testing.assert_allclose(task(detector, x, targets).numpy(), expected, rtol=1e-5)
        np.testing.assert_allclose(Tasks.from_string(task.value)(detector, x, targets).numpy(), expected, rtol=1e-5)


def numeric_gradient(fn, x, h=1e-4):
    grad = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        up, down = x.astype(np.float64), x.astype(np.float64)
        up[index] += h
        down[index] -= h
        grad[index] = (fn(up) - fn(down)) / (2 * h)
    return grad


def test_detection_saliency_and_occlusion(detector):
    x = images(2, size=6, channels=1, seed=3)
    kernel, bias = (w.astype(np.float64) for w in detector.get_layer("det_dense").get_weights())
    _, targets = detection_targets()

    def drise(images, i):  # the detector in numpy, float64
        return drise_score((images.reshape(1, -1) @ kernel + bias).reshape(3, 7), targets[i], epsilon=EPS)

    expected = np.stack([np.abs(numeric_gradient(lambda image: drise(image, i), x[i])) for i in range(2)])
    got = xq.Saliency(detector, operator=Tasks.OBJECT_DETECTION).explain(x, targets)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-6)

    base = np.array([drise(x[i], i) for i in range(2)])
    occlusion = np.zeros((2, 6, 6, 1))
    for i in range(0, 6, 2):
        for j in range(0, 6, 2):
            occluded = x.copy()
            occluded[:, i:i + 2, j:j + 2] = 0.5
            drop = base - np.array([drise(occluded[k], k) for k in range(2)])
            occlusion[:, i:i + 2, j:j + 2] += drop[:, None, None, None]
    explainer = xq.Occlusion(detector, patch_size=2, patch_stride=2, occlusion_value=0.5, operator="object detection")
    np.testing.assert_allclose(explainer.explain(x, targets).numpy(), occlusion, rtol=1e-4, atol=1e-6)


def test_task_targets_errors(segmentation_model, detector):
    x = images(2, seed=4)
    y = segmentation_targets(segmentation_model, x)
    segmentation = xq.Saliency(segmentation_model, operator=Tasks.SEMANTIC_SEGMENTATION)
    with pytest.raises(ValueError, match="targets are required"):
        segmentation.explain(x)
    with pytest.raises(ValueError, match=r"targets must have the model output's shape .*\(2, 12, 12, 3\)"):
        segmentation.explain(x, y[..., :2])
    empty = y.copy()
    empty[1] = 0
    with pytest.raises(ValueError, match=r"targets for semantic segmentation .*all-zero mask for inputs \[1\]"):
        segmentation.explain(x, empty)
    boxes = images(2, size=6, channels=1)
    detection = xq.Saliency(detector, operator=Tasks.OBJECT_DETECTION_BOX_CLASS)
    with pytest.raises(ValueError, match="targets are required"):
        detection.explain(boxes)
    wrong_width = r"targets: the references have 8 values per box .*\(N, P, 8\); model output 0 has shape \(None, 3, 7"
    with pytest.raises(ValueError, match=wrong_width):
        detection.explain(boxes, np.zeros((2, 8), np.float32) + 1)
    with pytest.raises(ValueError, match="targets for object detection"):
        detection.explain(boxes, np.ones((2, 1, 1, 7), np.float32))

"""Targets beyond a class index, checked through explain(): binary sigmoid, regression,
segmentation regions, one output of several, user functions. Expected numbers come from
plain TF: the layers called by hand and tf.GradientTape."""
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.targets import (
    ClassTarget,
    FunctionTarget,
    OutputTarget,
    RegressionTarget,
    SegmentationTarget,
    as_target,
)

from helpers.data import images
from helpers.reference import dense_logits

RAW = dict(relu=False, normalize=False, resize=False)


def raw_gradcam(features, score_fn, x):
    """Grad-CAM of the scalar-per-input ``score_fn(A) -> (N,)``: (N, *s) float64."""
    with tf.GradientTape() as tape:
        acts = features(x)
        tape.watch(acts)
        score = score_fn(acts)
    g = tape.gradient(score, acts).numpy().astype(np.float64)
    a = acts.numpy().astype(np.float64)
    w = g.mean(axis=tuple(range(1, a.ndim - 1)))
    return np.einsum("n...c,nc->n...", a, w), score.numpy()


def conv_then_gap(model, conv_name, dense_name):
    conv, dense = model.get_layer(conv_name), model.get_layer(dense_name)
    return (lambda x: conv(tf.convert_to_tensor(x))), (lambda a: dense_logits(dense, tf.reduce_mean(a, axis=[1, 2])))


# -- single-sigmoid binary classifier --------------------------------------------------


def test_binary_top_class_and_both_classes(binary_model):
    x = images(4, seed=30)
    features, logit = conv_then_gap(binary_model, "bin_conv", "bin_dense")
    p = binary_model(x).numpy()[:, 0]
    result = eli5.explain(binary_model, x, targets=[[0, 1]] * 4, **RAW)
    positive, _ = raw_gradcam(features, lambda a: logit(a)[:, 0], x)
    np.testing.assert_allclose(result.maps[:, 1], positive, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.maps[:, 0], -positive, rtol=1e-4, atol=1e-6)  # class 0 scores -logit
    np.testing.assert_allclose(result.scores[:, 1], p, rtol=1e-5)
    np.testing.assert_allclose(result.scores[:, 0], 1 - p, rtol=1e-5)
    top = eli5.explain(binary_model, x)
    np.testing.assert_array_equal(top.targets[:, 0], (p > 0.5).astype(int))
    assert top.probabilities


def test_binary_rejects_class_two(binary_model):
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\)"):
        eli5.explain(binary_model, images(1), targets=2)


# -- regression -------------------------------------------------------------------------


@pytest.mark.parametrize("unit,sign", [(0, 1), (1, -1)])
def test_regression_unit_and_sign(regression_model, unit, sign):
    x = images(3, seed=31)
    features, head = conv_then_gap(regression_model, "reg_conv", "reg_dense")
    expected, value = raw_gradcam(features, lambda a: sign * head(a)[:, unit], x)
    result = eli5.explain(regression_model, x, targets=RegressionTarget(unit, sign=sign), **RAW)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(result.scores[:, 0], value, rtol=1e-5)
    np.testing.assert_array_equal(result.targets, [[unit]] * 3)
    assert not result.probabilities


def test_regression_target_checks():
    with pytest.raises(ValueError, match="sign"):
        RegressionTarget(0, sign=2)
    with pytest.raises(ValueError, match="unit=5"):
        RegressionTarget(5).bind([(None, 2)], 1)


# -- segmentation -------------------------------------------------------------------------


def test_segmentation_region_sum(segmentation_model):
    x = images(2, seed=32)
    conv, out = segmentation_model.get_layer("seg_conv"), segmentation_model.get_layer("seg_out")
    mask = np.zeros((12, 12), np.float32)
    mask[2:6, 3:9] = 1.0

    def score(a):  # logits of class 1 summed over the mask (softmax bypassed)
        logits = tf.nn.conv2d(a, out.kernel, 1, "VALID") + out.bias
        return tf.reduce_sum(logits[..., 1] * mask, axis=[1, 2])

    expected, value = raw_gradcam(lambda v: conv(tf.convert_to_tensor(v)), score, x)
    result = eli5.explain(segmentation_model, x, layer="seg_conv", targets=SegmentationTarget(1, mask=mask), **RAW)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-4, atol=1e-5)
    probs = segmentation_model(x).numpy()
    np.testing.assert_allclose(result.scores[:, 0], (probs[..., 1] * mask).sum(axis=(1, 2)), rtol=1e-5)


def test_segmentation_predicted_region_by_default(segmentation_model):
    x = images(2, seed=33)
    probs = segmentation_model(x).numpy()
    region = probs.argmax(-1) == 2
    result = eli5.explain(segmentation_model, x, layer="seg_conv", targets=SegmentationTarget(2))
    np.testing.assert_allclose(result.scores[:, 0], (probs[..., 2] * region).sum(axis=(1, 2)), rtol=1e-5)
    per_input = eli5.explain(
        segmentation_model, x, layer="seg_conv", targets=SegmentationTarget(2, mask=region.astype(np.float32))
    )
    np.testing.assert_allclose(result.maps, per_input.maps, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method, options", [("occlusion", dict(window=4, stride=4)), ("integrated_gradients", dict(steps=4))])
def test_segmentation_predicted_region_is_pinned_to_the_clean_input(segmentation_model, method, options):
    # Occluded copies predict other regions; they are scored over the clean prediction's region.
    x = images(2, seed=36)
    region = (segmentation_model(x).numpy().argmax(-1) == 2).astype(np.float32)
    predicted = eli5.explain(segmentation_model, x, method=method, targets=SegmentationTarget(2), **RAW, **options)
    given = eli5.explain(segmentation_model, x, method=method, targets=SegmentationTarget(2, mask=region),
                         **RAW, **options)
    np.testing.assert_allclose(predicted.maps, given.maps, rtol=1e-5, atol=1e-6)
    # not vacuous: some occluded copies predict another region
    occluded = np.repeat(x, 9, axis=0)
    for k, (i, j) in enumerate((i, j) for i in range(0, 12, 4) for j in range(0, 12, 4)):
        occluded[k::9, i:i + 4, j:j + 4] = 0.0
    regions = segmentation_model(occluded).numpy().argmax(-1) == 2
    assert (regions != np.repeat(region, 9, axis=0).astype(bool)).any()


def test_segmentation_target_checks():
    with pytest.raises(ValueError, match="class_index=3"):
        SegmentationTarget(3).bind([(None, 12, 12, 3)], 1)
    with pytest.raises(ValueError, match="mask has shape"):
        SegmentationTarget(0, mask=np.ones((5, 5))).bind([(None, 12, 12, 3)], 1)
    with pytest.raises(ValueError, match="dense output"):
        SegmentationTarget(0).bind([(None, 3)], 1)


# -- multi-output and functions ---------------------------------------------------------------


def test_one_output_of_several(multi_output_model):
    x = images(3, seed=34)
    features, cls_head = conv_then_gap(multi_output_model, "mo_conv", "cls")
    _, reg_head = conv_then_gap(multi_output_model, "mo_conv", "reg")
    cls = eli5.explain(multi_output_model, x, targets=OutputTarget(0, ClassTarget(2)), **RAW)
    expected, _ = raw_gradcam(features, lambda a: cls_head(a)[:, 2], x)
    np.testing.assert_allclose(cls.maps[:, 0], expected, rtol=1e-4, atol=1e-6)
    reg = eli5.explain(multi_output_model, x, targets=OutputTarget(1, RegressionTarget()), **RAW)
    expected, value = raw_gradcam(features, lambda a: reg_head(a)[:, 0], x)
    np.testing.assert_allclose(reg.maps[:, 0], expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(reg.scores[:, 0], value, rtol=1e-5)
    same = eli5.explain(multi_output_model, x, targets=2, output_index=0, **RAW)
    np.testing.assert_allclose(same.maps, cls.maps, rtol=1e-6)


def test_user_function_of_the_outputs(seq_model, seq_parts):
    x = images(3, seed=35)
    features, logits = seq_parts[0], seq_parts[1]

    def margin(outputs):  # logit of class 1 minus logit of class 3
        return outputs[:, 1] - outputs[:, 3]

    result = eli5.explain(seq_model, x, targets=margin, **RAW)
    expected, value = raw_gradcam(features, lambda a: logits(a)[:, 1] - logits(a)[:, 3], x)
    np.testing.assert_allclose(result.maps[:, 0], expected, rtol=1e-4, atol=1e-6)
    two = eli5.explain(seq_model, x, targets=FunctionTarget(lambda o: tf.stack([o[:, 0], -o[:, 0]], 1), 2), **RAW)
    np.testing.assert_allclose(two.maps[:, 0], -two.maps[:, 1], rtol=1e-5, atol=1e-7)


def test_function_target_wrong_width(seq_model):
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, 1\)"):
        eli5.explain(seq_model, images(1), targets=lambda o: o[:, :2])


def test_as_target_dispatch():
    assert isinstance(as_target(None), ClassTarget)
    assert isinstance(as_target(3), ClassTarget)
    assert isinstance(as_target(np.array([1, 2])), ClassTarget)
    assert isinstance(as_target(lambda o: o[:, 0]), FunctionTarget)
    target = RegressionTarget()
    assert as_target(target) is target
    with pytest.raises(ValueError, match="not both"):
        as_target(target, top_k=2)


def test_class_target_on_a_dense_output_says_what_to_use(segmentation_model):
    with pytest.raises(ValueError, match="SegmentationTarget"):
        eli5.explain(segmentation_model, images(1), layer="seg_conv")


def test_output_index_out_of_range(seq_model):
    with pytest.raises(ValueError, match=r"output_index must be an int in \[0, 1\) .*; got 3\."):
        eli5.explain(seq_model, images(1), output_index=3)

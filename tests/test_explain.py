"""explain(): batched Grad-CAM against an independent plain-TF Grad-CAM."""
import gc
import os
import subprocess
import sys
from pathlib import Path
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import eli5_keras as eli5
from eli5_keras.base import Explanation
from eli5_keras.explain import Explainer, get_explainer
from eli5_keras.targets import ClassTarget

from helpers import models
from helpers.checks import DEFAULT_OPTIONS, compiled_for
from helpers.data import CHANNELS, NUM_CLASSES, SIZE, images
from helpers.reference import dense_logits, plain_gradcam, top_classes

L = keras.layers
ATOL = 2e-5



def model_out(model, x):
    return model(x, training=False).numpy()


def check_result(result, ref_maps, model_outputs, classes):
    """Shape/dtype/targets/scores checks shared by the reference comparisons."""
    classes = np.asarray(classes)
    assert result.maps.dtype == np.float32
    assert result.maps.shape == ref_maps.shape
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(
        result.scores, np.take_along_axis(model_outputs, classes, axis=1), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(result.maps, ref_maps, atol=ATOL)


# --------------------------------------------------------------------------
# numbers against the plain reference
# --------------------------------------------------------------------------


def test_sequential_top_class(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(3)
    out = model_out(seq_model, x)
    classes = top_classes(out)
    ref, ref_logits = plain_gradcam(features, logits, x, classes, size=(SIZE, SIZE))
    # the hand-built head really is the model's pre-softmax score
    np.testing.assert_allclose(tf.nn.softmax(ref_logits).numpy(), out, rtol=1e-5, atol=1e-6)
    result = eli5.explain(seq_model, x)
    assert result.maps.shape == (3, 1, SIZE, SIZE)
    assert result.layer == "conv2"
    assert result.method == "Grad-CAM"
    check_result(result, ref, out, classes)
    assert result.maps.max() > 0.5  # a real map, not all zeros


def test_functional_with_softmax_activation_layer(func_model, func_parts):
    features, logits, _ = func_parts
    x = images(2, seed=1)
    out = model_out(func_model, x)
    classes = top_classes(out)
    ref, ref_logits = plain_gradcam(features, logits, x, classes, size=(SIZE, SIZE))
    np.testing.assert_allclose(tf.nn.softmax(ref_logits).numpy(), out, rtol=1e-5, atol=1e-6)
    result = eli5.explain(func_model, x)
    assert result.layer == "f_conv2"
    check_result(result, ref, out, classes)


def test_nested_backbone_auto_and_path(nested_model, nested_parts):
    features, logits = nested_parts
    x = images(2, seed=2)
    out = model_out(nested_model, x)
    classes = top_classes(out)
    ref, _ = plain_gradcam(features, logits, x, classes, size=(SIZE, SIZE))
    auto = eli5.explain(nested_model, x)
    assert auto.layer == "backbone/b_conv2"  # chosen inside the backbone
    check_result(auto, ref, out, classes)
    by_path = eli5.explain(nested_model, x, layer="backbone/b_conv2")
    assert by_path.layer == "backbone/b_conv2"
    check_result(by_path, ref, out, classes)


def test_nested_backbone_inner_layer_by_name(nested_model):
    backbone = nested_model.get_layer("backbone")
    conv1, conv2 = backbone.get_layer("b_conv1"), backbone.get_layer("b_conv2")
    dense = nested_model.get_layer("n_dense")
    x = images(2, seed=3)
    out = model_out(nested_model, x)
    classes = np.array([[1], [4]])
    ref, _ = plain_gradcam(
        lambda v: conv1(tf.convert_to_tensor(v)),
        lambda a: dense_logits(dense, tf.reduce_mean(conv2(a), axis=[1, 2])),
        x,
        classes,
        size=(SIZE, SIZE),
    )
    result = eli5.explain(nested_model, x, targets=[1, 4], layer="b_conv1")
    assert result.layer == "backbone/b_conv1"
    check_result(result, ref, out, classes)


def test_multi_input_model(multi_input_model):
    conv = multi_input_model.get_layer("m_conv")
    dense = multi_input_model.get_layer("m_dense")
    x = images(3, seed=4)
    v = np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32)
    out = model_out(multi_input_model, [x, v])
    classes = top_classes(out)
    ref, _ = plain_gradcam(
        lambda img: conv(tf.convert_to_tensor(img)),
        lambda a: dense_logits(dense, tf.concat([tf.reduce_mean(a, axis=[1, 2]), v], axis=1)),
        x,
        classes,
        size=(SIZE, SIZE),
    )
    result = eli5.explain(multi_input_model, [x, v])
    assert result.layer == "m_conv"
    check_result(result, ref, out, classes)
    as_dict = eli5.explain(multi_input_model, {"vector": v, "image": x})
    np.testing.assert_array_equal(as_dict.maps, result.maps)


@pytest.mark.parametrize("size", [12, 16])
def test_variable_size_input(variable_model, size):
    conv1, conv2 = variable_model.get_layer("v_conv1"), variable_model.get_layer("v_conv2")
    dense = variable_model.get_layer("v_dense")
    x = images(2, size=size, seed=size)
    out = model_out(variable_model, x)
    classes = top_classes(out)
    ref, _ = plain_gradcam(
        lambda v: conv2(conv1(tf.convert_to_tensor(v))),
        lambda a: dense_logits(dense, tf.reduce_mean(a, axis=[1, 2])),
        x,
        classes,
        size=(size, size),
    )
    result = eli5.explain(variable_model, x)
    assert result.maps.shape == (2, 1, size, size)
    check_result(result, ref, out, classes)


def test_several_targets_2d(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(3, seed=5)
    out = model_out(seq_model, x)
    classes = np.array([[0, 3], [2, 1], [4, 4]])
    ref, _ = plain_gradcam(features, logits, x, classes, size=(SIZE, SIZE))
    result = eli5.explain(seq_model, x, targets=classes)
    assert result.maps.shape == (3, 2, SIZE, SIZE)
    check_result(result, ref, out, classes)
    # the same target twice gives the same map; different targets differ
    np.testing.assert_allclose(result.maps[2, 0], result.maps[2, 1], atol=1e-6)
    assert not np.allclose(result.maps[0, 0], result.maps[0, 1], atol=1e-3)


def test_top_k_is_sorted_top_classes(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(4, seed=6)
    out = model_out(seq_model, x)
    classes = top_classes(out, k=3)
    result = eli5.explain(seq_model, x, top_k=3)
    np.testing.assert_array_equal(result.targets, classes)
    assert np.all(np.diff(result.scores, axis=1) <= 0)  # best first
    ref, _ = plain_gradcam(features, logits, x, classes, size=(SIZE, SIZE))
    check_result(result, ref, out, classes)


def test_per_input_targets_and_int_target(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(3, seed=7)
    out = model_out(seq_model, x)
    per_input = eli5.explain(seq_model, x, targets=[0, 2, 4])
    ref, _ = plain_gradcam(features, logits, x, [[0], [2], [4]], size=(SIZE, SIZE))
    check_result(per_input, ref, out, [[0], [2], [4]])
    one = eli5.explain(seq_model, x, targets=3)
    ref, _ = plain_gradcam(features, logits, x, [[3]] * 3, size=(SIZE, SIZE))
    check_result(one, ref, out, [[3]] * 3)


def test_use_logits_false_differentiates_probabilities(seq_model, seq_parts):
    features, logits, probs = seq_parts
    x = images(2, seed=8)
    out = model_out(seq_model, x)
    classes = np.array([[1], [3]])
    ref, _ = plain_gradcam(features, probs, x, classes, size=(SIZE, SIZE))
    result = eli5.explain(seq_model, x, targets=[1, 3], use_logits=False)
    check_result(result, ref, out, classes)
    with_logits, _ = plain_gradcam(features, logits, x, classes, size=(SIZE, SIZE))
    assert not np.allclose(ref, with_logits, atol=1e-3)  # the option matters here


def test_resize_false_keeps_layer_grid(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(2, seed=9)
    out = model_out(seq_model, x)
    classes = top_classes(out)
    ref, _ = plain_gradcam(features, logits, x, classes)
    result = eli5.explain(seq_model, x, resize=False)
    assert result.maps.shape == (2, 1, 6, 6)
    check_result(result, ref, out, classes)


def test_normalize_false_gives_raw_relu_map(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(2, seed=10)
    out = model_out(seq_model, x)
    classes = np.array([[0], [1]])
    ref, _ = plain_gradcam(features, logits, x, classes, normalize=False)
    result = eli5.explain(seq_model, x, targets=[0, 1], normalize=False, resize=False)
    check_result(result, ref, out, classes)
    assert result.maps.min() >= 0.0


def test_relu_false_keeps_negative_values(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(3, seed=11)
    out = model_out(seq_model, x)
    classes = np.array([[0, 1, 2, 3, 4]] * 3)
    ref, _ = plain_gradcam(features, logits, x, classes, relu=False, normalize=False)
    assert ref.min() < 0  # the test only means something with negative evidence
    result = eli5.explain(seq_model, x, targets=classes, relu=False, normalize=False, resize=False)
    check_result(result, ref, out, classes)
    assert result.maps.min() < 0


def test_relu_false_normalized_and_resized(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(2, seed=12)
    out = model_out(seq_model, x)
    classes = np.array([[2], [0]])
    ref, _ = plain_gradcam(features, logits, x, classes, relu=False, size=(SIZE, SIZE))
    result = eli5.explain(seq_model, x, targets=[2, 0], relu=False)
    check_result(result, ref, out, classes)


def test_sigmoid_multilabel_model(sigmoid_model):
    conv = sigmoid_model.get_layer("s_conv")
    dense = sigmoid_model.get_layer("s_dense")
    x = images(2, seed=13)
    out = model_out(sigmoid_model, x)
    classes = np.array([[0, 1, 2, 3]] * 2)
    ref, ref_logits = plain_gradcam(
        lambda v: conv(tf.convert_to_tensor(v)),
        lambda a: dense_logits(dense, tf.reduce_mean(a, axis=[1, 2])),
        x,
        classes,
        size=(SIZE, SIZE),
    )
    np.testing.assert_allclose(tf.sigmoid(ref_logits).numpy(), out, rtol=1e-5, atol=1e-6)
    result = eli5.explain(sigmoid_model, x, targets=classes)
    check_result(result, ref, out, classes)
    assert result.probabilities


def test_conv1d_model_resized_to_sequence_length():
    keras.utils.set_random_seed(14)
    inp = keras.Input((20, 2))
    conv = L.Conv1D(5, 3, strides=3, name="c1d")
    h = conv(inp)  # 6 steps
    dense = L.Dense(3, activation="softmax")
    out = dense(L.GlobalAveragePooling1D()(h))
    model = keras.Model(inp, out)
    x = np.random.default_rng(14).normal(size=(2, 20, 2)).astype(np.float32)
    classes = np.array([[0], [2]])
    grid, _ = plain_gradcam(
        lambda v: conv(tf.convert_to_tensor(v)),
        lambda a: dense_logits(dense, tf.reduce_mean(a, axis=1)),
        x,
        classes,
    )
    # 1-D linear interpolation with half-pixel centres, edges clamped
    src = np.clip((np.arange(20) + 0.5) * 6 / 20 - 0.5, 0, 5)
    expected = np.stack(
        [[np.interp(src, np.arange(6), grid[n, t]) for t in range(1)] for n in range(2)]
    )
    result = eli5.explain(model, x, targets=[0, 2])
    assert result.maps.shape == (2, 1, 20)
    check_result(result, expected, model_out(model, x), classes)


def test_image_as_second_input():
    keras.utils.set_random_seed(24)
    vec, img = keras.Input((4,), name="vec"), keras.Input((8, 8, 3), name="img")
    conv, dense = L.Conv2D(3, 3, name="c"), L.Dense(3, activation="softmax")
    out = dense(L.Concatenate()([vec, L.GlobalAveragePooling2D()(conv(img))]))
    model = keras.Model([vec, img], out)
    x = images(2, size=8, seed=24)
    v = np.random.default_rng(24).normal(size=(2, 4)).astype(np.float32)
    out = model_out(model, [v, x])
    classes = top_classes(out)
    ref, _ = plain_gradcam(
        lambda i: conv(tf.convert_to_tensor(i)),
        lambda a: dense_logits(dense, tf.concat([v, tf.reduce_mean(a, axis=[1, 2])], axis=1)),
        x,
        classes,
        size=(8, 8),
    )
    result = eli5.explain(model, [v, x])
    check_result(result, ref, out, classes)
    assert result[0].image.size == (8, 8)  # the image input, not the vector


def test_output_index_picks_the_classifier_head():
    keras.utils.set_random_seed(25)
    inp = keras.Input((8, 8, 3))
    conv = L.Conv2D(3, 3, name="mc")
    pooled = L.GlobalAveragePooling2D()(conv(inp))
    cls = L.Dense(4, activation="softmax", name="cls")
    model = keras.Model(inp, [L.Dense(2, name="reg")(pooled), cls(pooled)])
    x = images(2, size=8, seed=25)
    out = model(x)[1].numpy()
    classes = top_classes(out, k=2)
    ref, _ = plain_gradcam(
        lambda i: conv(tf.convert_to_tensor(i)),
        lambda a: dense_logits(cls, tf.reduce_mean(a, axis=[1, 2])),
        x,
        classes,
        size=(8, 8),
    )
    result = eli5.explain(model, x, top_k=2, output_index=1)
    check_result(result, ref, out, classes)
    assert result.probabilities


def test_sequential_without_input_is_built_on_first_use():
    keras.utils.set_random_seed(26)
    model = keras.Sequential([L.Conv2D(3, 3, name="uc"), L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])
    x = images(2, size=8, seed=26)
    result = eli5.explain(model, x)
    assert model.built
    assert result.maps.shape == (2, 1, 8, 8)
    np.testing.assert_array_equal(result.targets, top_classes(model_out(model, x)))


# --------------------------------------------------------------------------
# the ExplanationBatch as eli5 objects
# --------------------------------------------------------------------------


def test_result_items_are_eli5_explanations(seq_model):
    x = images(3, seed=15)
    result = eli5.explain(seq_model, x, top_k=2)
    assert len(result) == 3
    items = list(result)
    assert len(items) == 3
    for i, expl in enumerate(items):
        assert isinstance(expl, Explanation)
        assert not expl.error
        assert expl.method == "Grad-CAM"
        assert expl.layer == "conv2"
        assert len(expl.targets) == 2
        assert isinstance(expl.image, Image.Image)
        assert expl.image.size == (SIZE, SIZE)
        for t, target in enumerate(expl.targets):
            assert target.target == result.targets[i, t]
            assert target.score == pytest.approx(float(result.scores[i, t]))
            assert target.proba == pytest.approx(float(result.scores[i, t]))
            assert 0.0 <= target.heatmap.min() and target.heatmap.max() <= 1.0
            np.testing.assert_array_equal(target.heatmap, result.maps[i, t])
    assert result[-1] == items[2]
    with pytest.raises(IndexError):
        result[3]
    with pytest.raises(IndexError):
        result[-4]
    with pytest.raises(TypeError):
        result["0"]


def test_unnormalized_items_are_scaled_into_unit_range(seq_model):
    x = images(2, seed=16)
    result = eli5.explain(seq_model, x, normalize=False, relu=False, resize=False, targets=[[0, 1]])
    for i in range(2):
        for t in range(2):
            raw = result.maps[i, t]
            low = min(raw.min(), 0.0)
            expected = (raw - low) / (raw.max() - low + 1e-7)
            heatmap = result[i].targets[t].heatmap
            np.testing.assert_allclose(heatmap, expected, rtol=1e-6, atol=1e-7)
            assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0


def test_single_channel_input_image_is_greyscale(simple_seq):
    # simple_seq has no class head with softmax, but a (batch, 20) output
    x = np.random.default_rng(17).uniform(size=(1, 32, 32, 1)).astype(np.float32)
    result = eli5.explain(simple_seq, x)
    assert result.maps.shape == (1, 1, 32, 32)
    assert result[0].image.mode == "L"
    assert result[0].targets[0].proba is None  # linear output: no probability


def test_not_an_image_model_raises(dense_model):
    with pytest.raises(ValueError, match="suitable target layer"):
        eli5.explain(dense_model, np.zeros((1, 10), np.float32))


def test_explain_rejects_non_model():
    with pytest.raises(TypeError, match="keras.Model"):
        eli5.explain("model", images(1))


def test_explain_rejects_unknown_method(seq_model):
    with pytest.raises(ValueError, match="gradcam"):
        eli5.explain(seq_model, images(1), method="nope")


@pytest.mark.parametrize(
    "batch_size, error, message",
    [
        (0, ValueError, "batch_size must be an int >= 1; got 0"),
        (-1, ValueError, "batch_size must be an int >= 1; got -1"),
        (2.0, TypeError, "batch_size must be an int; got float: 2.0"),
        (True, TypeError, "batch_size must be an int; got bool: True"),
    ],
)
def test_explain_rejects_bad_batch_size(seq_model, batch_size, error, message):
    with pytest.raises(error, match=message):
        eli5.explain(seq_model, images(1), batch_size=batch_size)


# --------------------------------------------------------------------------
# compiled once
# --------------------------------------------------------------------------


def test_no_retrace_across_batches_and_target_kinds():
    model = models.seq_model()
    eli5.explain(model, images(3))
    eli5.explain(model, images(5, seed=1))
    eli5.explain(model, images(3, seed=2), targets=[1, 2, 3])
    eli5.explain(model, images(2, seed=3), targets=4)
    explainer = get_explainer(model, "gradcam", None, **DEFAULT_OPTIONS)
    assert explainer.trace_count == 1  # the model is this test's own: one kind of target so far (T = 1)
    eli5.explain(model, images(3), targets=[[0, 1]] * 3)
    eli5.explain(model, images(4), top_k=2)
    eli5.explain(model, images(1), targets=[[4, 3]])
    assert explainer.trace_count == 2  # T = 1 and T = 2, each traced once
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1
    assert compiled_for(explainer, 1).experimental_get_tracing_count() == 1
    assert get_explainer(model, "gradcam", None, **DEFAULT_OPTIONS) is explainer


def test_no_retrace_for_a_new_image_size(variable_model):
    eli5.explain(variable_model, images(1, size=10))
    eli5.explain(variable_model, images(2, size=14))
    explainer = get_explainer(variable_model, "gradcam", None, **DEFAULT_OPTIONS)
    assert compiled_for(explainer, 1).experimental_get_tracing_count() == 1


RETRACING_SCRIPT = """
import logging
import eli5_keras as eli5
from eli5_keras import methods
from eli5_keras.compat.gradcam import gradcam_backend
from helpers import models
from helpers.data import images

logger = logging.getLogger("tensorflow")
level = logger.level
messages = []
handler = logging.Handler()
handler.emit = lambda record: messages.append(record.getMessage())
logger.addHandler(handler)
model = models.seq_model()
for name in list(methods.REGISTRY)[:8]:
    eli5.explain(model, images(2), method=name)
for layer in ["conv1", "conv2"] * 3:
    gradcam_backend(models.seq_model(), images(1), [0], layer)
print(sum("triggered tf.function retracing" in m for m in messages), level == logger.level)
"""


def test_many_methods_on_one_model_raise_no_retracing_warning(tmp_path):
    # TensorFlow's count of tracing calls is process-wide and warns at most twice per
    # function, so the check runs in a fresh process.
    root = Path(eli5.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(Path(__file__).parent)]))
    proc = subprocess.run([sys.executable, "-c", RETRACING_SCRIPT], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "True"], proc.stderr


def test_layer_given_differently_shares_the_explainer(seq_model):
    a = get_explainer(seq_model, "gradcam", "conv2", **DEFAULT_OPTIONS)
    b = get_explainer(seq_model, "gradcam", seq_model.get_layer("conv2"), **DEFAULT_OPTIONS)
    c = get_explainer(seq_model, "GradCAM".lower(), None, **DEFAULT_OPTIONS)
    assert a is b is c
    assert get_explainer(seq_model, "gradcam", "conv1", **DEFAULT_OPTIONS) is not a


# --------------------------------------------------------------------------
# chunking
# --------------------------------------------------------------------------


def test_chunked_batches_equal_one_batch(seq_model):
    x = images(5, seed=18)
    small = eli5.explain(seq_model, x, batch_size=2)
    big = eli5.explain(seq_model, x, batch_size=32)
    np.testing.assert_allclose(small.maps, big.maps, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(small.targets, big.targets)
    np.testing.assert_allclose(small.scores, big.scores, rtol=1e-6)


def targets_and_data(model, targets, top_k=None, n=5):
    target = ClassTarget(targets, top_k=top_k).bind([(None, 5)], n)
    return target, target.encode(n)


def test_chunk_holds_batch_size_pairs(seq_model, monkeypatch):
    x = images(5, seed=19)
    targets = np.array([[0, 1]] * 5)
    expected = eli5.explain(seq_model, x, targets=targets, batch_size=32)
    explainer = get_explainer(seq_model, "gradcam", None, **DEFAULT_OPTIONS)
    probe, context, compiled = explainer.function(*targets_and_data(seq_model, targets))
    chunks = []

    def recording(inputs, code, block):
        chunks.append((int(inputs[0].shape[0]), tuple(code.shape)))
        return compiled(inputs, code, block)

    monkeypatch.setattr(explainer, "function", lambda target, data: (probe, context, recording))
    chunked = eli5.explain(seq_model, x, targets=targets, batch_size=4)
    assert chunks == [(2, (2, 2)), (2, (2, 2)), (1, (1, 2))]  # 4 pairs = 2 inputs x 2 targets
    np.testing.assert_allclose(chunked.maps, expected.maps, rtol=1e-6, atol=1e-6)


def test_batch_size_smaller_than_targets_still_runs_one_input(seq_model, monkeypatch):
    explainer = get_explainer(seq_model, "gradcam", None, **DEFAULT_OPTIONS)
    probe, context, compiled = explainer.function(*targets_and_data(seq_model, None, top_k=3, n=2))
    sizes = []

    def recording(inputs, code, block):
        sizes.append(int(inputs[0].shape[0]))
        return compiled(inputs, code, block)

    monkeypatch.setattr(explainer, "function", lambda target, data: (probe, context, recording))
    eli5.explain(seq_model, images(2), top_k=3, batch_size=2)
    assert sizes == [1, 1]


# --------------------------------------------------------------------------
# the user's model is never changed
# --------------------------------------------------------------------------


def snapshot(model, x):
    return dict(
        layers=list(model.layers),
        names=[layer.name for layer in model.layers],
        weights=[w.copy() for w in model.get_weights()],
        activation=model.layers[-1].activation,
        predict=model.predict(x, verbose=0),
    )


def assert_unchanged(model, x, before):
    after = snapshot(model, x)
    assert len(after["layers"]) == len(before["layers"])
    assert all(a is b for a, b in zip(after["layers"], before["layers"]))
    assert after["names"] == before["names"]
    assert len(after["weights"]) == len(before["weights"])
    assert all(np.array_equal(a, b) for a, b in zip(after["weights"], before["weights"]))
    assert after["activation"] is before["activation"]
    assert after["activation"] is keras.activations.softmax
    np.testing.assert_array_equal(after["predict"], before["predict"])


def test_explain_and_explain_prediction_do_not_change_the_model():
    model = models.seq_model()
    x = images(3, seed=20)
    before = snapshot(model, x)
    eli5.explain(model, x)
    eli5.explain(model, x, top_k=2, use_logits=False)
    eli5.explain(model, x, layer="conv1", resize=False)
    eli5.explain_prediction(model, x[:1])
    eli5.explain_prediction(model, x[:1], targets=[1, 2], layer=0)
    assert_unchanged(model, x, before)


# --------------------------------------------------------------------------
# subclassed models
# --------------------------------------------------------------------------


class ChainModel(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv1 = L.Conv2D(4, 3, activation="relu", name="sc_conv1")
        self.conv2 = L.Conv2D(4, 3, padding="same", name="sc_conv2")
        self.gap = L.GlobalAveragePooling2D(name="sc_gap")
        self.dense = L.Dense(NUM_CLASSES, activation="softmax", name="sc_dense")

    def call(self, x):
        return self.dense(self.gap(self.conv2(self.conv1(x))))


class ResidualModel(ChainModel):
    def call(self, x):
        h = self.conv1(x)
        return self.dense(self.gap(h + self.conv2(h)))


def test_subclassed_chain_model_with_layer_instance():
    keras.utils.set_random_seed(21)
    model = ChainModel()
    x = images(2, seed=21)
    out = model_out(model, x)
    classes = top_classes(out)
    ref, ref_logits = plain_gradcam(
        lambda v: model.conv2(model.conv1(tf.convert_to_tensor(v))),
        lambda a: dense_logits(model.dense, tf.reduce_mean(a, axis=[1, 2])),
        x,
        classes,
        size=(SIZE, SIZE),
    )
    np.testing.assert_allclose(tf.nn.softmax(ref_logits).numpy(), out, rtol=1e-5, atol=1e-6)
    result = eli5.explain(model, x, layer=model.conv2)
    assert result.layer == "sc_conv2"
    check_result(result, ref, out, classes)


def test_subclassed_non_chain_model_is_refused():
    keras.utils.set_random_seed(22)
    model = ResidualModel()
    x = images(2, seed=22)
    model(x)
    with pytest.raises(ValueError, match="subclassed"):
        eli5.explain(model, x, layer=model.conv2)


def built(model_class, seed):
    """``(model, x)``: a subclassed model from ``seed``, called once on two images."""
    keras.utils.set_random_seed(seed)
    model = model_class()
    x = images(2, seed=seed)
    model(x)
    return model, x


def test_subclassed_chain_model_automatic_layer():
    """The automatic layer of a subclassed model comes from the chain the runner replays
    (its layers have no symbolic outputs)."""
    model, x = built(ChainModel, 24)
    automatic = eli5.explain(model, x)
    assert automatic.layer == "sc_conv2"
    np.testing.assert_allclose(automatic.maps, eli5.explain(model, x, layer=model.conv2).maps, atol=1e-6)


def test_subclassed_non_chain_model_runs_methods_on_the_input_as_it_is():
    model, x = built(ResidualModel, 25)
    probabilities = model_out(model, x)
    classes = top_classes(probabilities)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        score = tf.gather(model(xt, training=False), classes[:, 0], batch_dims=1)
    expected = tf.reduce_sum(xt * tape.gradient(score, xt), axis=-1).numpy()[:, None]
    result = eli5.explain(model, x, method="gradient_input", use_logits=False)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)
    for method, options in (("occlusion", dict(window=4, stride=4)), ("rise", dict(masks=8, seed=0))):
        result = eli5.explain(model, x, method=method, **options)
        np.testing.assert_allclose(result.scores, np.take_along_axis(probabilities, classes, 1), rtol=1e-5)
    with pytest.raises(ValueError, match=r"keras\.Model\(inputs, outputs\).*methods on the input"):
        eli5.explain(model, x, method="gradcam")


class ScaledOutputModel(ChainModel):
    """Its call() does more after its last layer: the logits cannot be read there."""

    def call(self, x):
        return 0.5 * super().call(x)


def test_subclassed_model_whose_last_layer_is_not_its_output_refuses_logits():
    model, x = built(ScaledOutputModel, 26)
    probabilities = model_out(model, x)
    with pytest.raises(ValueError, match="does not end with its last layer 'sc_dense'.*use_logits=False"):
        eli5.explain(model, x, method="saliency")
    result = eli5.explain(model, x, method="saliency", use_logits=False)
    np.testing.assert_allclose(result.scores, probabilities.max(axis=1, keepdims=True), rtol=1e-5)


def test_explanations_follow_weight_updates():
    """A cached explainer reads the model's current weights (e.g. after training)."""
    model = models.seq_model()
    x = images(2, seed=23)
    eli5.explain(model, x, targets=[0, 1])  # builds and caches the explainer
    dense = model.get_layer("dense")
    rng = np.random.default_rng(23)
    dense.kernel.assign(rng.normal(size=tuple(dense.kernel.shape)).astype(np.float32))
    dense.bias.assign(rng.normal(size=tuple(dense.bias.shape)).astype(np.float32))
    conv2 = model.get_layer("conv2")
    ref, _ = plain_gradcam(
        lambda v: conv2(model.get_layer("conv1")(tf.convert_to_tensor(v))),
        lambda a: dense_logits(dense, tf.reduce_mean(a, axis=[1, 2])),
        x,
        [[0], [1]],
        size=(SIZE, SIZE),
    )
    result = eli5.explain(model, x, targets=[0, 1])
    check_result(result, ref, model_out(model, x), [[0], [1]])


# --------------------------------------------------------------------------
# the package's top level
# --------------------------------------------------------------------------


def test_top_level_names():
    import eli5_keras
    from eli5_keras import base
    from eli5_keras.compat import explain_prediction, gradcam, show
    from eli5_keras.formatters import image

    assert eli5_keras.explain_prediction is explain_prediction.explain_prediction
    assert eli5_keras.explain_prediction_keras is eli5_keras.explain_prediction
    assert eli5_keras.gradcam is gradcam.gradcam
    assert eli5_keras.gradcam_backend is gradcam.gradcam_backend
    assert eli5_keras.show_prediction is show.show_prediction
    assert eli5_keras.format_as_image is image.format_as_image
    assert eli5_keras.heatmap_to_image is image.heatmap_to_image
    assert eli5_keras.expand_heatmap is image.expand_heatmap
    assert eli5_keras.Explanation is base.Explanation
    assert eli5_keras.TargetExplanation is base.TargetExplanation
    assert eli5_keras.explain is eli5.explain and eli5_keras.Explainer is Explainer
    assert "gradcam" in eli5_keras.methods.available()
    for name in eli5_keras.__all__:
        assert getattr(eli5_keras, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        eli5_keras.nope


# --------------------------------------------------------------------------
# empty maps and the scale of the normalisation
# --------------------------------------------------------------------------


def explain_quietly(*args, **kwargs):
    """``eli5.explain`` that fails on any EmptyMapWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", eli5.EmptyMapWarning)
        return eli5.explain(*args, **kwargs)


@pytest.mark.parametrize("method", ["gradcam", "gradcam++", "guided_backprop"])
def test_a_class_with_only_negative_evidence_gets_a_flagged_empty_map_and_one_warning(
    negative_evidence_model, method
):
    x = images(3, seed=30)
    classes = [[0, models.NEGATIVE_CLASS, 2]] * 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = eli5.explain(negative_evidence_model, x, method=method, targets=classes)
    empty = [w for w in caught if issubclass(w.category, eli5.EmptyMapWarning)]
    assert len(empty) == 1 and issubclass(eli5.EmptyMapWarning, UserWarning)
    message = str(empty[0].message)
    assert empty[0].filename == __file__  # attributed to the caller's line
    for fragment in ("3 of 9 maps are empty", "input 0 target 1", "input 2 target 1", "relu=False",
                     "counterfactual=True"):
        assert fragment in message, (fragment, message)
    assert result.empty.dtype == bool and result.empty.shape == (3, 3)
    np.testing.assert_array_equal(result.empty, [[False, True, False]] * 3)
    np.testing.assert_array_equal(result.maps[:, 1], 0.0)
    assert (result.maps[:, [0, 2]].max(axis=(2, 3)) > 0).all()
    for i in range(3):
        assert [t.empty for t in result[i].targets] == [False, True, False]


def test_the_hints_show_what_an_empty_map_hides(negative_evidence_model):
    x = images(2, seed=31)
    signed = explain_quietly(negative_evidence_model, x, targets=models.NEGATIVE_CLASS, relu=False, normalize=False)
    assert not signed.empty.any() and signed.maps.max() <= 0 < -signed.maps.min()  # the negative evidence
    lowering = explain_quietly(negative_evidence_model, x, targets=models.NEGATIVE_CLASS, counterfactual=True)
    assert not lowering.empty.any()
    np.testing.assert_array_equal(lowering.maps.max(axis=(2, 3)), 1.0)


def test_batches_made_by_hand_compute_empty_from_their_maps():
    maps = np.zeros((2, 2, 3, 3), np.float32)
    maps[0, 0, 1, 1] = 0.5
    maps[1, 1] = 0.25  # constant
    batch = eli5.ExplanationBatch(maps=maps, targets=np.array([[4, 2], [4, 2]]), scores=np.zeros((2, 2), np.float32),
                                  method="m", layer=None, model_name="x", normalized=True, probabilities=False)
    np.testing.assert_array_equal(batch.empty, [[False, True], [True, True]])
    assert batch.empty_maps() == [(0, 2), (1, 4), (1, 2)]


def test_maps_of_any_scale_reach_one_and_match_plain_gradcam():
    # raw maps of about 1e-11 (a random-weight MobileNetV2's scale): with (max - min + 1e-7)
    # "[0, 1]" maps peaked at 1e-4 and drew as nothing
    model = models.tiny_activation_model()
    x = images(3, seed=32)
    classes = np.array([[0, 1]] * 3)
    result = explain_quietly(model, x, targets=classes, resize=False)
    raw = explain_quietly(model, x, targets=classes, resize=False, normalize=False)
    assert 0 < raw.maps.max() < 1e-9
    np.testing.assert_array_equal(result.maps.max(axis=(2, 3)), 1.0)
    np.testing.assert_array_equal(result.maps.min(axis=(2, 3)), 0.0)
    features = keras.Model(model.input, model.get_layer("tiny").output)
    head = model.get_layer("ti_dense")
    ref, _ = plain_gradcam(features, lambda a: head(tf.reduce_mean(a, axis=[1, 2])), x, classes)
    np.testing.assert_allclose(result.maps, ref, atol=1e-5)
    resized = explain_quietly(model, x, targets=classes)
    ref, _ = plain_gradcam(features, lambda a: head(tf.reduce_mean(a, axis=[1, 2])), x, classes, size=(SIZE, SIZE))
    np.testing.assert_allclose(resized.maps, ref, atol=1e-5)


def test_input_gradient_maps_of_any_scale_reach_one():
    model = models.tiny_activation_model()
    x = images(2, seed=33)
    result = explain_quietly(model, x, method="saliency", targets=[[0, 2]] * 2)
    np.testing.assert_array_equal(result.maps.max(axis=(2, 3)), 1.0)
    with tf.GradientTape() as tape:
        xs = tf.constant(x)
        tape.watch(xs)
        logits = model(xs)[:, 0]
    grads = np.abs(tape.gradient(logits, xs).numpy().astype(np.float64)).max(axis=-1)
    assert grads.max() < 1e-9
    low = grads.min(axis=(1, 2), keepdims=True)
    expected = (grads - low) / (grads.max(axis=(1, 2), keepdims=True) - low)
    np.testing.assert_allclose(result.maps[:, 0], expected, atol=1e-5)

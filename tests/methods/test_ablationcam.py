"""Ablation-CAM against its formula written plainly, and its invariants.

The reference (:func:`plain_ablationcam`) zeroes one channel of the activations at a
time and runs the rest of the model by hand (layers called one by one, Dense kernels
applied by hand): ``w_k = (y - y_k) / y``, ``L = sum_k w_k A^k``, then ReLU, min-max
and ``tf.image.resize`` bilinear onto the input.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.explain import get_explainer
from eli5_keras.methods import Context, get
from eli5_keras.methods.ablationcam import AblationCAM, relative_drop

from conftest import dense_logits, images, signals, top_classes, volumes
from plain_ops import check_in_flight_bound, relu_minmax, upsample_maps
from test_explain import DEFAULT_OPTIONS, compiled_for

L = keras.layers
ATOL = 5e-5


def plain_ablationcam(features, head, x, classes):
    """features(x) -> A (N, *s, K); head(A, x) -> logits (N, classes)."""
    a = np.asarray(features(x), np.float32)
    n, k = a.shape[0], a.shape[-1]
    y = np.asarray(head(a, x), np.float64)[np.arange(n)[:, None], classes]  # (N, T)
    weights = np.empty(classes.shape + (k,))
    for c in range(k):
        ablated = a.copy()
        ablated[..., c] = 0.0
        y_c = np.asarray(head(ablated, x), np.float64)[np.arange(n)[:, None], classes]
        weights[..., c] = (y - y_c) / y
    maps = np.einsum("n...k,ntk->nt...", a.astype(np.float64), weights)
    return upsample_maps(relu_minmax(maps), x.shape[1:-1])


def skip_model():
    """(8, 8, 2) -> c1 (stride 2, 4x4x3, relu) -> c2 (4x4x3, relu) -> c2 + c1 -> GAP ->
    Dense(4, softmax): the layer after the explained one also needs c1."""
    keras.utils.set_random_seed(31)
    inp = keras.Input((8, 8, 2))
    c1 = L.Conv2D(3, 3, strides=2, padding="same", activation="relu", name="c1")(inp)
    c2 = L.Conv2D(3, 3, padding="same", activation="relu", name="c2")(c1)
    h = L.GlobalAveragePooling2D()(L.Add()([c2, c1]))
    out = L.Dense(4, activation="softmax", name="dense")(h)
    return keras.Model(inp, out, name="skip_model")


@pytest.fixture(scope="module")
def skip():
    model = skip_model()
    c1, c2, dense = (model.get_layer(n) for n in ("c1", "c2", "dense"))

    def features(x):
        return c2(c1(x)).numpy()

    def head(a, x):
        return dense_logits(dense, tf.reduce_mean(a + c1(x), axis=[1, 2])).numpy()

    return model, features, head


def inputs(n=3, seed=1):
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, 8, 8, 2)).astype(np.float32)


def test_matches_the_formula(skip):
    model, features, head = skip
    x = inputs()
    classes = np.array([[3], [0], [1]])
    result = eli5.explain(model, x, method="ablationcam", layer="c2", targets=classes[:, 0])
    np.testing.assert_allclose(result.maps, plain_ablationcam(features, head, x, classes), atol=ATOL)
    np.testing.assert_allclose(result.scores[:, 0], model(x).numpy()[np.arange(3), classes[:, 0]], rtol=1e-5)


def test_several_targets_top_k(skip):
    model, features, head = skip
    x = inputs(seed=2)
    result = eli5.explain(model, x, method="ablationcam", layer="c2", top_k=3)
    classes = top_classes(model(x).numpy(), 3)
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.maps, plain_ablationcam(features, head, x, classes), atol=ATOL)


def test_relative_drop_guards_a_zero_score():
    scores = tf.constant([[0.0, -1e-9, 2.0, -4.0]])
    ablated = tf.constant([[[1.0], [1.0], [1.0], [-2.0]]])
    w = relative_drop(scores, ablated).numpy()[0, :, 0]
    np.testing.assert_allclose(w, [(0 - 1) / 1e-7, (-1e-9 - 1) / -1e-7, (2 - 1) / 2, (-4 + 2) / -4], rtol=1e-5)
    assert np.isfinite(w).all()


def test_zero_score_gives_no_nan(skip):
    model = skip[0]
    x = inputs(seed=3)
    # a target that is identically 0 on every pass: y = y_k = 0
    result = eli5.explain(model, x, method="ablationcam", layer="c2", targets=lambda out: 0.0 * out[:, 0])
    assert np.isfinite(result.maps).all()
    np.testing.assert_array_equal(result.maps, 0.0)


def test_dead_channel_gets_weight_zero():
    model = skip_model()
    c2 = model.get_layer("c2")
    kernel, bias = c2.get_weights()
    kernel[..., 1], bias[1] = 0.0, -1.0  # relu(-1) = 0: channel 1 is dead
    c2.set_weights([kernel, bias])
    x = inputs(seed=4)
    result = eli5.explain(model, x, method="ablationcam", layer="c2", targets=[0, 1, 2])
    assert np.isfinite(result.maps).all()
    c1 = model.get_layer("c1")
    dense = model.get_layer("dense")
    a = c2(c1(x)).numpy()
    assert np.all(a[..., 1] == 0.0)

    def head(acts, v):
        return dense_logits(dense, tf.reduce_mean(acts + c1(v), axis=[1, 2])).numpy()

    classes = np.array([[0], [1], [2]])
    np.testing.assert_allclose(result.maps, plain_ablationcam(lambda v: a, head, x, classes), atol=ATOL)


@pytest.mark.parametrize("batch_size, largest", [(1, 1), (4, 4), (64, 18)])
def test_batch_size_bounds_the_ablated_copies_in_flight(seq_model, batch_size, largest):
    """6 channels x 3 inputs: at most batch_size ablated copies per forward pass."""
    check_in_flight_bound(seq_model, images(3, seed=5), "ablationcam", batch_size, largest, column=1)


def test_batch_sizes_agree_for_several_targets(seq_model):
    x = images(3, seed=6)
    small = eli5.explain(seq_model, x, method="ablationcam", top_k=2, batch_size=1)
    large = eli5.explain(seq_model, x, method="ablationcam", top_k=2, batch_size=64)
    np.testing.assert_allclose(small.maps, large.maps, atol=1e-5)


def test_no_retrace_on_a_second_call(seq_model):
    eli5.explain(seq_model, images(2, seed=7), method="ablationcam", top_k=2, batch_size=5)
    eli5.explain(seq_model, images(3, seed=8), method="ablationcam", top_k=2, batch_size=5)
    explainer = get_explainer(seq_model, "ablationcam", None, **DEFAULT_OPTIONS)
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1


def test_expansion_is_the_number_of_channels():
    assert AblationCAM().expansion(Context(None, None, 0, (None, 4, 4, 7))) == 7
    assert AblationCAM.per_target_work is False


def gap_head(dense, axes):
    return lambda a, _: dense_logits(dense, tf.reduce_mean(tf.constant(a), axis=axes)).numpy()


@pytest.mark.parametrize("kind", ["signal", "volume"])
def test_every_rank(kind, signal_model, volume_model):
    model, x, names, dense, axes = {
        "signal": (signal_model, signals(2, seed=9), ("sig_conv1", "sig_conv2"), "sig_dense", [1]),
        "volume": (volume_model, volumes(2, seed=9), ("vol_conv1", "vol_conv2"), "vol_dense", [1, 2, 3]),
    }[kind]
    first, second = (model.get_layer(n) for n in names)
    result = eli5.explain(model, x, method="ablationcam", top_k=2)
    assert result.maps.shape == (2, 2) + x.shape[1:-1]
    classes = top_classes(model(x).numpy(), 2)
    expected = plain_ablationcam(
        lambda v: second(first(v)).numpy(), gap_head(model.get_layer(dense), axes), x, classes
    )
    np.testing.assert_allclose(result.maps, expected, atol=ATOL)


def test_nested_model(nested_model, nested_parts):
    features, _ = nested_parts
    x = images(2, seed=10)
    result = eli5.explain(nested_model, x, method="ablationcam", layer="backbone/b_conv2", top_k=2)
    classes = top_classes(nested_model(x).numpy(), 2)
    head = gap_head(nested_model.get_layer("n_dense"), [1, 2])
    np.testing.assert_allclose(
        result.maps, plain_ablationcam(lambda v: features(v).numpy(), head, x, classes), atol=ATOL
    )


def test_multi_input_model(multi_input_model):
    img = images(2, seed=11)
    vec = np.random.default_rng(11).normal(size=(2, 4)).astype(np.float32)
    conv, dense = multi_input_model.get_layer("m_conv"), multi_input_model.get_layer("m_dense")

    def head(a, _):
        pooled = tf.reduce_mean(tf.constant(a), axis=[1, 2])
        return dense_logits(dense, tf.concat([pooled, vec], axis=1)).numpy()

    result = eli5.explain(multi_input_model, [img, vec], method="ablationcam", top_k=2)
    classes = top_classes(multi_input_model([img, vec]).numpy(), 2)
    np.testing.assert_allclose(
        result.maps, plain_ablationcam(lambda v: conv(v).numpy(), head, img, classes), atol=ATOL
    )


def test_registered_without_options():
    assert isinstance(get("ablationcam"), AblationCAM)
    with pytest.raises(TypeError, match="ablationcam"):
        get("ablationcam", ratio=0.5)


def test_targets_are_pinned_to_the_clean_pass():
    """The ablated copies are scored for the classes resolved on the clean input."""
    from eli5_keras.targets import ClassTarget, OutputTarget, RegressionTarget

    labels = tf.constant([[3, 1], [0, 2]])
    top = ClassTarget(top_k=2)
    top = top.bind([(None, 4)], 2)
    np.testing.assert_array_equal(top.pin(tf.constant(top.encode(2)), labels).numpy(), labels.numpy())
    wrapped = OutputTarget(0, ClassTarget(top_k=2))
    wrapped = wrapped.bind([(None, 4)], 2)
    np.testing.assert_array_equal(wrapped.pin(tf.constant(wrapped.encode(2)), labels).numpy(), labels.numpy())
    unit = tf.constant([[1], [1]])
    assert RegressionTarget(unit=1).pin(unit, unit) is unit

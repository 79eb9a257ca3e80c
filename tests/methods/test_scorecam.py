"""Score-CAM against the authors' definition written plainly, and its invariants.

The reference (:func:`plain_scorecam`) makes one mask per input and channel by hand
(``tf.image.resize`` bilinear, per-channel min-max), runs the masked input through
the model's layers called one by one, and sums ``s_k * M_k`` at the input's
resolution (or the pytorch-grad-cam variant: softmax of the logits across channels,
weights on the low-resolution activations).
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.explain import get_explainer
from eli5_keras.methods import Context, get
from eli5_keras.methods.scorecam import ScoreCAM
from eli5_keras.targets import RegressionTarget

from helpers.checks import DEFAULT_OPTIONS, check_in_flight_bound, compiled_for
from helpers.data import images, signals, volumes
from helpers.reference import dense_logits, relu_minmax, top_classes, upsample, upsample_maps

L = keras.layers
ATOL = 5e-5


def softmax(z, axis=-1):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def plain_scorecam(features, score, x, classes, softmax_over="classes", keep=None, extra=None):
    """Score-CAM from scratch, one masked input at a time.

    features(x) -> A (N, *s, K); score(x_masked, extra_i) -> (1, classes) scores
    (probabilities for "classes", logits for "channels"); classes (N, T).
    """
    a = np.asarray(features(x), np.float64)
    n, spatial, k = a.shape[0], x.shape[1:-1], a.shape[-1]
    axes = tuple(range(a.ndim - 2))
    out = []
    for i in range(n):
        channels = range(k) if keep is None else np.argsort(-a[i].std(axis=axes), kind="stable")[:keep]
        weights, kept = [], []
        for c in channels:
            m = upsample(a[i : i + 1, ..., c : c + 1], spatial)[0, ..., 0]
            if m.max() == m.min():
                continue  # the reference skips constant channels
            mask = (m - m.min()) / (m.max() - m.min())
            masked = (x[i : i + 1] * mask[..., None]).astype(np.float32)
            scores = np.asarray(score(masked, i), np.float64)[0]
            weights.append(scores[classes[i]])
            kept.append(c)
        weights = np.array(weights).reshape(len(kept), classes.shape[1])
        if softmax_over == "classes":
            up = upsample(a[i : i + 1], spatial)[0]  # M_k for every channel
            maps = np.einsum("...k,kt->t...", up[..., kept], weights)
        else:
            w = softmax(weights, axis=0) if kept else weights
            maps = np.einsum("...k,kt->t...", a[i][..., kept], w)
        out.append(maps)
    maps = relu_minmax(np.stack(out))
    return maps if softmax_over == "classes" else upsample_maps(maps, spatial)


def tiny_model(dead=True, seed=21):
    """(8, 8, 2) -> conv 'conv' (stride 2, 4x4x4, relu) -> GAP -> Dense(3, softmax).
    With ``dead``, channel 3 is constant: zero kernel, bias 0.5."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 2))
    conv = L.Conv2D(4, 3, strides=2, padding="same", activation="relu", name="conv")
    h = L.GlobalAveragePooling2D()(conv(inp))
    out = L.Dense(3, activation="softmax", name="dense")(h)
    model = keras.Model(inp, out, name="tiny_scorecam")
    kernel, bias = conv.get_weights()
    bias[:] = [0.1, -0.05, 0.2, 0.0]
    if dead:
        kernel[..., 3], bias[3] = 0.0, 0.5
    conv.set_weights([kernel, bias])
    return model


def tiny_parts(model):
    conv, dense = model.get_layer("conv"), model.get_layer("dense")

    def logits(x, _=None):
        return dense_logits(dense, tf.reduce_mean(conv(x), axis=[1, 2])).numpy()

    return (lambda x: conv(x).numpy()), logits, (lambda x, _=None: softmax(logits(x)))


def tiny_inputs(n=3, seed=5):
    return np.random.default_rng(seed).uniform(0.0, 1.0, size=(n, 8, 8, 2)).astype(np.float32)


@pytest.fixture(scope="module")
def tiny():
    return tiny_model()


def test_matches_the_authors_definition(tiny):
    features, _, probs = tiny_parts(tiny)
    x = tiny_inputs()
    classes = np.array([[0], [2], [1]])
    result = eli5.explain(tiny, x, method="scorecam", layer="conv", targets=classes[:, 0])
    np.testing.assert_allclose(result.maps, plain_scorecam(features, probs, x, classes), atol=ATOL)
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.scores[:, 0], tiny(x).numpy()[np.arange(3), classes[:, 0]], rtol=1e-5)


def test_several_targets_top_k(tiny):
    features, _, probs = tiny_parts(tiny)
    x = tiny_inputs(seed=6)
    result = eli5.explain(tiny, x, method="scorecam", layer="conv", top_k=2)
    classes = top_classes(tiny(x).numpy(), 2)
    np.testing.assert_array_equal(result.targets, classes)
    assert result.maps.shape == (3, 2, 8, 8)
    np.testing.assert_allclose(result.maps, plain_scorecam(features, probs, x, classes), atol=ATOL)


def test_channels_softmax_is_pytorch_grad_cams_variant(tiny):
    features, logits, _ = tiny_parts(tiny)
    x = tiny_inputs(seed=7)
    result = eli5.explain(tiny, x, method="scorecam", layer="conv", top_k=2, softmax="channels")
    classes = top_classes(tiny(x).numpy(), 2)
    expected = plain_scorecam(features, logits, x, classes, softmax_over="channels")
    np.testing.assert_allclose(result.maps, expected, atol=ATOL)
    default = eli5.explain(tiny, x, method="scorecam", layer="conv", top_k=2).maps
    assert np.abs(default - result.maps).max() > 1e-2  # the variants differ


def test_the_map_is_formed_at_the_input_resolution(tiny):
    """The driver's resize is the identity: the map is already at the input's size, so
    ReLU and min-max act on the input grid (as in the reference)."""
    x = tiny_inputs(seed=8)
    default = eli5.explain(tiny, x, method="scorecam", layer="conv", top_k=2).maps
    unresized = eli5.explain(tiny, x, method="scorecam", layer="conv", top_k=2, resize=False).maps
    assert unresized.shape == (3, 2, 8, 8)
    np.testing.assert_allclose(default, unresized, atol=1e-6)


@pytest.mark.parametrize("variant", ["classes", "channels"])
def test_constant_channel_gets_weight_zero_and_no_nan(tiny, variant):
    features, logits, probs = tiny_parts(tiny)
    x = tiny_inputs(seed=9)
    assert np.ptp(features(x)[..., 3]) == 0.0  # channel 3 is dead-constant
    result = eli5.explain(tiny, x, method="scorecam", layer="conv", top_k=3, softmax=variant)
    assert np.isfinite(result.maps).all()
    classes = top_classes(tiny(x).numpy(), 3)
    score = probs if variant == "classes" else logits
    np.testing.assert_allclose(result.maps, plain_scorecam(features, score, x, classes, variant), atol=ATOL)


@pytest.mark.parametrize("variant", ["classes", "channels"])
def test_all_channels_constant_gives_zero_maps(variant):
    model = tiny_model(seed=22)
    conv = model.get_layer("conv")
    kernel, bias = conv.get_weights()
    conv.set_weights([np.zeros_like(kernel), bias])
    result = eli5.explain(model, tiny_inputs(), method="scorecam", layer="conv", top_k=2, softmax=variant)
    assert np.isfinite(result.maps).all()
    np.testing.assert_array_equal(result.maps, 0.0)


def test_binary_model_uses_the_sigmoid_probability(binary_model):
    x = images(3, seed=11)
    conv, dense = binary_model.get_layer("bin_conv"), binary_model.get_layer("bin_dense")

    def probs(xm, _):
        p = tf.sigmoid(dense_logits(dense, tf.reduce_mean(conv(xm), axis=[1, 2]))).numpy()
        return np.concatenate([1.0 - p, p], axis=1)

    classes = np.array([[1, 0]] * 3)
    result = eli5.explain(binary_model, x, method="scorecam", targets=classes)
    assert np.isfinite(result.maps).all()
    assert (np.ptp(result.maps, axis=(2, 3)) > 0.5).all()  # not constant
    expected = plain_scorecam(lambda v: conv(v).numpy(), probs, x, classes)
    np.testing.assert_allclose(result.maps, expected, atol=ATOL)
    p = binary_model(x).numpy()[:, 0]
    np.testing.assert_allclose(result.scores, np.stack([p, 1 - p], 1), rtol=1e-5, atol=1e-6)


def test_linear_head_uses_the_raw_output(regression_model):
    x = images(2, seed=12)
    conv = regression_model.get_layer("reg_conv")
    result = eli5.explain(regression_model, x, method="scorecam", targets=RegressionTarget(unit=1))
    expected = plain_scorecam(
        lambda v: conv(v).numpy(), lambda xm, _: regression_model(xm).numpy(), x, np.array([[1], [1]])
    )
    np.testing.assert_allclose(result.maps, expected, atol=ATOL)


def test_max_channels_keeps_the_highest_std_channels(seq_model, seq_parts):
    features = seq_parts[0]
    x = images(3, seed=13)
    a = features(x).numpy()
    std = a.std(axis=(1, 2))
    chosen = ScoreCAM(max_channels=2).select_channels(tf.constant(a)).numpy()
    for i in range(3):
        top = np.argsort(-std[i])[:2]
        np.testing.assert_array_equal(chosen[i], a[i][..., top])
    assert ScoreCAM().select_channels(tf.constant(a)).shape == a.shape
    assert ScoreCAM(max_channels=99).select_channels(tf.constant(a)).shape == a.shape

    classes = top_classes(seq_model(x).numpy(), 1)
    faster = eli5.explain(seq_model, x, method="scorecam", max_channels=2)
    probs = lambda xm, _: seq_model(xm).numpy()  # noqa: E731
    np.testing.assert_allclose(faster.maps, plain_scorecam(features, probs, x, classes, keep=2), atol=ATOL)
    full = eli5.explain(seq_model, x, method="scorecam").maps
    assert np.abs(full - faster.maps).max() > 1e-2


def test_expansion_is_the_number_of_scored_channels():
    context = Context(probe=None, path=None, input_index=0, layer_shape=(None, 6, 6, 6))
    assert ScoreCAM().expansion(context) == 6
    assert ScoreCAM(max_channels=4).expansion(context) == 4
    assert ScoreCAM(max_channels=9).expansion(context) == 6
    unknown = Context(probe=None, path=None, input_index=0, layer_shape=None)
    assert ScoreCAM().expansion(unknown) >= 2**31 - 1  # one input at a time, blocks of batch_size
    assert ScoreCAM.per_target_work is False


@pytest.mark.parametrize("batch_size, largest", [(1, 1), (4, 4), (64, 18)])
def test_batch_size_bounds_the_masked_inputs_in_flight(seq_model, batch_size, largest):
    """6 channels x 3 inputs: batch_size=1 and 4 go one input at a time in blocks of 1
    and 4 channels; 64 takes all 3 inputs x 6 channels at once. Results agree."""
    check_in_flight_bound(seq_model, images(3, seed=14), "scorecam", batch_size, largest, column=2)


def test_batch_sizes_agree_for_several_targets(seq_model):
    x = images(3, seed=15)
    small = eli5.explain(seq_model, x, method="scorecam", top_k=2, batch_size=1, softmax="channels")
    large = eli5.explain(seq_model, x, method="scorecam", top_k=2, batch_size=64, softmax="channels")
    np.testing.assert_allclose(small.maps, large.maps, atol=1e-5)
    np.testing.assert_array_equal(small.targets, large.targets)


def test_no_retrace_on_a_second_call(seq_model):
    eli5.explain(seq_model, images(2, seed=16), method="scorecam", top_k=2, batch_size=5)
    eli5.explain(seq_model, images(3, seed=17), method="scorecam", top_k=2, batch_size=5)
    explainer = get_explainer(seq_model, "scorecam", None, **DEFAULT_OPTIONS)
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1


@pytest.mark.parametrize("kind", ["signal", "volume"])
def test_every_rank(kind, signal_model, volume_model):
    model, x, names = {
        "signal": (signal_model, signals(2, seed=18), ("sig_conv1", "sig_conv2")),
        "volume": (volume_model, volumes(2, seed=18), ("vol_conv1", "vol_conv2")),
    }[kind]
    first, second = (model.get_layer(n) for n in names)
    result = eli5.explain(model, x, method="scorecam", top_k=2)
    assert result.maps.shape == (2, 2) + x.shape[1:-1]
    classes = top_classes(model(x).numpy(), 2)
    expected = plain_scorecam(lambda v: second(first(v)).numpy(), lambda xm, _: model(xm).numpy(), x, classes)
    np.testing.assert_allclose(result.maps, expected, atol=ATOL)


def test_nested_model(nested_model):
    backbone = nested_model.get_layer("backbone")
    x = images(2, seed=19)

    def features(v):
        return backbone.get_layer("b_conv2")(backbone.get_layer("b_conv1")(v)).numpy()

    result = eli5.explain(nested_model, x, method="scorecam", layer="backbone/b_conv2", top_k=2)
    classes = top_classes(nested_model(x).numpy(), 2)
    expected = plain_scorecam(features, lambda xm, _: nested_model(xm).numpy(), x, classes)
    np.testing.assert_allclose(result.maps, expected, atol=ATOL)


def test_multi_input_masks_only_the_explained_input(multi_input_model):
    img = images(2, seed=20)
    vec = np.random.default_rng(20).normal(size=(2, 4)).astype(np.float32)
    conv = multi_input_model.get_layer("m_conv")
    result = eli5.explain(multi_input_model, [img, vec], method="scorecam", top_k=2)
    classes = top_classes(multi_input_model([img, vec]).numpy(), 2)
    expected = plain_scorecam(
        lambda v: conv(v).numpy(), lambda xm, i: multi_input_model([xm, vec[i : i + 1]]).numpy(), img, classes
    )
    np.testing.assert_allclose(result.maps, expected, atol=ATOL)


def test_token_inputs_cannot_be_masked():
    keras.utils.set_random_seed(23)
    inp = keras.Input((10,), dtype="int32")
    h = L.Embedding(20, 4)(inp)
    h = L.Conv1D(3, 3, activation="relu", name="tok_conv")(h)
    out = L.Dense(2, activation="softmax")(L.GlobalAveragePooling1D()(h))
    model = keras.Model(inp, out)
    tokens = np.random.default_rng(0).integers(0, 20, size=(2, 10))
    with pytest.raises(ValueError, match="token ids, which cannot be masked"):
        eli5.explain(model, tokens, method="scorecam", layer="tok_conv")


@pytest.mark.parametrize(
    "options, error, message",
    [
        (dict(softmax="logits"), ValueError, r"softmax must be one of 'classes', 'channels'; got 'logits'"),
        (dict(max_channels=0), ValueError, "max_channels must be None or an int >= 1; got 0"),
        (dict(max_channels=True), TypeError, "max_channels must be None or an int; got bool: True"),
        (dict(max_channels=2.5), TypeError, "max_channels must be None or an int; got float: 2.5"),
    ],
)
def test_bad_options(options, error, message):
    with pytest.raises(error, match=message):
        get("scorecam", **options)


def test_registered():
    method = get("ScoreCAM")
    assert isinstance(method, ScoreCAM)
    assert method.options() == {"softmax": "classes", "max_channels": None, "masks": "upsampled"}
    with pytest.raises(ValueError, match="masks must be one of 'upsampled', 'layer'"):
        get("scorecam", masks="input")
    with pytest.raises(ValueError, match='masks="layer"'):
        get("scorecam", masks="layer", softmax="channels")


def test_variable_size_inputs(variable_model):
    small = eli5.explain(variable_model, images(1, size=10, seed=24), method="scorecam", top_k=2)
    large = eli5.explain(variable_model, images(2, size=14, seed=25), method="scorecam", top_k=2)
    assert small.maps.shape == (1, 2, 10, 10) and large.maps.shape == (2, 2, 14, 14)
    assert np.isfinite(large.maps).all()
    explainer = get_explainer(variable_model, "scorecam", None, **DEFAULT_OPTIONS)
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1

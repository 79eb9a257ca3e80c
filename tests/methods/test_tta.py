"""Test-time augmentation against the augmentations done plainly in numpy (flips,
zooms and resizes by np.interp), a flip-symmetric model, and exact flip-backs."""
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.explain import get_explainer
from eli5_keras.methods import get
from eli5_keras.methods.tta import TTA

from helpers.checks import check_in_flight_bound, compiled_for
from helpers.data import images, signals, volumes
from helpers.methods import InputGradient
from helpers.models import token_model
from helpers.reference import chain_logits, plain_gradcam, probabilities, tape_gradient_maps, top_classes

L = keras.layers
RAW = dict(relu=False, normalize=False)
PIPELINE = dict(use_logits=True, relu=False, normalize=False, resize=True, input_index=None)


def resample(values, out_size, axis, zoom=1.0):
    """Linear resampling along ``axis`` (half-pixel centres, edge clamping) that zooms by
    ``zoom`` about the centre; samples outside the source are 0."""
    in_size = values.shape[axis]
    index = (((np.arange(out_size) + 0.5) / out_size - 0.5) / zoom + 0.5) * in_size - 0.5
    inside = (index >= -0.5) & (index <= in_size - 0.5)
    src = np.clip(index, 0, in_size - 1)
    out = np.apply_along_axis(lambda v: np.interp(src, np.arange(in_size), v), axis, values)
    shape = [1] * values.ndim
    shape[axis] = out_size
    return out * inside.reshape(shape)


def plain_tta(map_fn, x, classes, flips, scales, zoom, grid=None):
    """Average over every scale and flip subset of map_fn's maps, mapped back; weights
    are the mapped-back ones. ``map_fn(x_aug, classes) -> (n, T, *g')``."""
    rank = x.ndim - 2
    grid = grid or x.shape[1:-1]
    total, weight = 0.0, 0.0
    for scale in scales:
        for chosen in itertools.product([False, True], repeat=len(flips)):
            augmented = x.astype(np.float64)
            for a in range(rank):
                size = x.shape[1 + a] if zoom else int(np.round(scale * x.shape[1 + a]))
                augmented = resample(augmented, size, 1 + a, scale if zoom else 1.0)
            for axis, flip in zip(flips, chosen):
                if flip:
                    augmented = np.flip(augmented, 1 + axis)
            maps = map_fn(augmented.astype(np.float32), classes)
            for axis, flip in zip(flips, chosen):
                if flip:
                    maps = np.flip(maps, 2 + axis)
            ones = np.ones(maps.shape[2:])
            for a in range(rank):
                maps = resample(maps, grid[a], 2 + a, 1.0 / scale if zoom else 1.0)
                ones = resample(ones, grid[a], a, 1.0 / scale if zoom else 1.0)
            total, weight = total + maps, weight + ones
    return np.where(weight > 0, total / np.where(weight > 0, weight, 1.0), 0.0)


def gradients_of(model):
    return lambda b, classes: tape_gradient_maps(chain_logits(model), b, classes)



@pytest.fixture(scope="module")
def symmetric_model():
    """Conv layers with kernels symmetric under a flip of the width axis ('same' padding,
    stride 1) and global pooling: the model is flip-invariant, its conv maps equivariant."""
    keras.utils.set_random_seed(30)
    inp = keras.Input((8, 8, 2))
    conv1 = L.Conv2D(3, 3, padding="same", activation="relu", name="sym_conv1")
    conv2 = L.Conv2D(4, 3, padding="same", activation="tanh", name="sym_conv2")
    h = conv2(conv1(inp))
    out = L.Dense(3, activation="softmax", name="sym_dense")(L.GlobalAveragePooling2D()(h))
    model = keras.Model(inp, out, name="symmetric_model")
    for conv in (conv1, conv2):
        kernel, bias = conv.get_weights()
        conv.set_weights([(kernel + kernel[:, ::-1]) / 2, bias])
    return model


# -- flips map back exactly ------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture, make, flips",
    [("seq_model", lambda: images(2), (-1,)), ("seq_model", lambda: images(2, seed=1), (0, 1)),
     ("signal_model", lambda: signals(3), (0,)), ("volume_model", lambda: volumes(2), (0, 2))],
)
def test_flips_of_an_input_gradient(fixture, make, flips, request):
    model = request.getfixturevalue(fixture)
    x = make()
    result = eli5.explain(model, x, method="tta", base=InputGradient(), flips=flips, scales=(1.0,), top_k=2, **RAW)
    classes = top_classes(probabilities(model, x), 2)
    rank = x.ndim - 2
    expected = plain_tta(gradients_of(model), x, classes, [a % rank for a in flips], (1.0,), zoom=True)
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)
    # the same number by hand for one flip: (g(x) + flip(g(flip(x)))) / 2
    if len(flips) == 1:
        axis = 1 + flips[0] % rank
        grads = gradients_of(model)
        by_hand = (grads(x, classes) + np.flip(grads(np.flip(x, axis), classes), axis + 1)) / 2
        np.testing.assert_allclose(result.maps, by_hand, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("base", ["gradcam", "input_gradient"])
def test_flip_symmetric_model_gives_the_map_without_tta(symmetric_model, base):
    x = images(3, size=8, channels=2, seed=2)
    method = InputGradient() if base == "input_gradient" else "gradcam"
    plain = eli5.explain(symmetric_model, x, method=method, top_k=2, **RAW)
    tta = eli5.explain(symmetric_model, x, method="tta", base=method, flips=(1,), scales=(1.0,), top_k=2, **RAW)
    np.testing.assert_allclose(tta.maps, plain.maps, rtol=1e-4, atol=1e-6)
    assert np.abs(plain.maps - np.flip(plain.maps, -1)).max() > 1e-3  # the maps themselves are not symmetric


def test_flips_change_the_map_of_an_asymmetric_model(seq_model):
    x = images(2, seed=3)
    plain = eli5.explain(seq_model, x, method="gradcam", **RAW)
    tta = eli5.explain(seq_model, x, method="tta", base="gradcam", flips=(-1,), scales=(1.0,), **RAW)
    assert np.abs(tta.maps - plain.maps).max() > 1e-3


# -- scales ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture, make, scales, flips",
    [("seq_model", lambda: images(2, seed=4), (0.5, 1.0, 1.5), (-1,)),
     ("signal_model", lambda: signals(2, seed=1), (0.8, 1.25), (0,)),
     ("volume_model", lambda: volumes(1, seed=2), (0.7, 1.3), ())],
)
def test_zoom_at_a_fixed_size(fixture, make, scales, flips, request):
    model = request.getfixturevalue(fixture)
    x = make()
    result = eli5.explain(model, x, method="tta", base=InputGradient(), flips=flips, scales=scales, top_k=2, **RAW)
    rank = x.ndim - 2
    expected = plain_tta(gradients_of(model), x, result.targets, [a % rank for a in flips], scales, zoom=True)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


def test_zoom_of_grad_cam_at_its_layer_grid(seq_model, seq_parts):
    features, logits, _ = seq_parts
    x = images(2, seed=5)
    result = eli5.explain(
        seq_model, x, method="tta", base="gradcam", scales=(0.75, 1.25), top_k=2, resize=False, **RAW
    )

    def cams(b, classes):
        return plain_gradcam(features, logits, b, classes, relu=False, normalize=False)[0]

    expected = plain_tta(cams, x, result.targets, [1], (0.75, 1.25), zoom=True, grid=(6, 6))
    assert result.maps.shape == (2, 2, 6, 6)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)
    assert result.method == "TTA(Grad-CAM)"


def test_zoom_in_only_leaves_the_unseen_border_at_zero(seq_model):
    x = images(1, seed=6)
    result = eli5.explain(seq_model, x, method="tta", base=InputGradient(), flips=(), scales=(2.0,), **RAW)
    assert not np.isnan(result.maps).any()
    assert np.all(result.maps[0, 0, :2] == 0) and np.all(result.maps[0, 0, :, -2:] == 0)
    assert np.abs(result.maps[0, 0, 4:8, 4:8]).max() > 0


def test_resize_for_a_model_with_free_sizes(variable_model):
    for size in (10, 13):
        x = images(2, size=size, seed=size)
        result = eli5.explain(
            variable_model, x, method="tta", base=InputGradient(), scales=(0.5, 1.5), use_logits=False, **RAW
        )

        def grads(b, classes):
            return tape_gradient_maps(lambda t: variable_model(t), b, classes)

        expected = plain_tta(grads, x, result.targets, [1], (0.5, 1.5), zoom=False)
        np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)
    explainer = get_explainer(
        variable_model, "tta", None, **dict(PIPELINE, use_logits=False), base=InputGradient(), scales=(0.5, 1.5)
    )
    assert compiled_for(explainer, 1).experimental_get_tracing_count() == 1


def test_resize_of_grad_cam_maps_back_onto_the_clean_grid(variable_model):
    x = images(1, size=10, seed=7)
    result = eli5.explain(variable_model, x, method="tta", base="gradcam", scales=(0.6, 1.0, 1.4), resize=False)
    assert result.maps.shape == (1, 1, 5, 5)  # v_conv2's grid on the clean 10x10 input
    assert not np.isnan(result.maps).any()
    zoomed = eli5.explain(variable_model, x, method="tta", base="gradcam", scales=(0.6, 1.0, 1.4), scaling="zoom")
    assert zoomed.maps.shape == (1, 1, 10, 10)


def test_batch_size_does_not_change_maps_and_no_retrace(seq_model):
    x = images(5, seed=8)
    options = dict(method="tta", base="gradcam", flips=(0, 1), scales=(0.8, 1.0), top_k=2, **RAW)
    one = eli5.explain(seq_model, x, batch_size=1, **options)
    many = eli5.explain(seq_model, x, batch_size=64, **options)
    some = eli5.explain(seq_model, x, batch_size=5, **options)
    np.testing.assert_allclose(one.maps, many.maps, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(some.maps, many.maps, rtol=1e-5, atol=1e-6)
    explainer = get_explainer(seq_model, "tta", None, **PIPELINE, base="gradcam", flips=(0, 1), scales=(0.8, 1.0))
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1
    assert explainer.method.expansion(None) == 8


@pytest.mark.parametrize("batch_size, largest", [(3, 3), (8, 8)])
def test_augmented_copies_in_flight_are_bounded_by_batch_size(seq_model, batch_size, largest):
    # 4 augmentations per input: blocks of 3 of one input, or 2 inputs x 4
    method = TTA(base="gradcam", scales=(0.8, 1.0))
    check_in_flight_bound(seq_model, images(3, seed=9), method, batch_size, largest, column=3)


def test_extras_of_the_base_are_averaged(seq_model):
    x = images(2, seed=9)
    result = eli5.explain(seq_model, x, method="tta", base=InputGradient(), flips=(-1,), scales=(1.0,), **RAW)
    classes = result.targets
    flipped = np.flip(x, 2)
    expected = (
        np.take_along_axis(chain_logits(seq_model)(x).numpy(), classes, 1)
        + np.take_along_axis(chain_logits(seq_model)(flipped).numpy(), classes, 1)
    ) / 2
    np.testing.assert_allclose(result.extras["score"], expected, rtol=1e-5)


def test_nested_and_multi_input_models(nested_model, multi_input_model):
    x = images(2, seed=10)
    result = eli5.explain(nested_model, x, method="tta", base="gradcam", top_k=2)
    assert result.maps.shape == (2, 2, 12, 12) and not np.isnan(result.maps).any()
    vec = tf.constant(np.random.default_rng(3).normal(size=(2, 4)).astype(np.float32))
    result = eli5.explain(
        multi_input_model, [x, vec.numpy()], method="tta", base=InputGradient(), scales=(0.8, 1.0),
        use_logits=False, **RAW,
    )

    def grads(b, classes):
        return tape_gradient_maps(lambda t: multi_input_model([t, vec]), b, classes)

    expected = plain_tta(grads, x, result.targets, [1], (0.8, 1.0), zoom=True)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


def test_defaults_and_properties():
    method = get("tta")
    assert method.base.name == "gradcam" and method.flips == (-1,)
    assert method.scales == (0.75, 1.0, 1.25) and method.scaling == "auto"
    assert method.copies(None) == 6 and method.uses_layer and method.title == "TTA(Grad-CAM)"
    signed = TTA(base=InputGradient())
    assert signed.signed and not signed.uses_layer
    assert TTA(flips=1).flips == (1,) and TTA(scales=[2, 1]).scales == (2.0, 1.0)
    assert TTA().key() != TTA(flips=()).key() and TTA().key() == TTA(scales=[0.75, 1, 1.25]).key()


def test_token_input_is_refused():
    model = token_model()
    with pytest.raises(ValueError, match="tta flips and rescales the input, so it needs a float input"):
        eli5.explain(model, np.ones((1, 8), np.int32), method="tta", base=InputGradient())


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(flips=(2,)), ValueError, r"flips must be spatial axes in \[-2, 2\); got \(2,\)"),
        (dict(flips=(1, -1)), ValueError, "flips names an axis twice"),
        (dict(scaling="resize"), ValueError, "scaling='resize' feeds inputs of another size"),
    ],
)
def test_options_checked_against_the_model(seq_model, options, error, match):
    with pytest.raises(error, match=match):
        eli5.explain(seq_model, images(1), method="tta", **options)


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(flips=(0, 0)), ValueError, "flips must not repeat an entry"),
        (dict(flips="h"), TypeError, "flips must be a tuple of ints"),
        (dict(scales=()), TypeError, "scales must be a non-empty tuple of numbers"),
        (dict(scales=(1.0, 0.0)), ValueError, r"scales\[1\] must be in \(0.0, inf\]"),
        (dict(scaling="crop"), ValueError, "scaling must be one of 'auto', 'resize', 'zoom'"),
        (dict(base=None), TypeError, "base must be a method name"),
    ],
)
def test_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        get("tta", **options)


def test_grid_and_rounding_options_are_checked():
    """grid="input" (maps averaged at the input's shape, keras-explainable's tta of a CAM;
    its numbers: tests/compat/test_keras_explainable.py) and rounding="floor"."""
    with pytest.raises(ValueError, match="grid must be one of 'base', 'input'; got 'layer'"):
        get("tta", grid="layer")
    with pytest.raises(ValueError, match="rounding must be one of 'round', 'floor'; got 'ceil'"):
        get("tta", rounding="ceil")
    assert get("tta", grid="input").maps_at_input and not get("tta").maps_at_input

"""Occlusion against a plain loop over window positions, hand-computed numbers and its
invariants, on every rank."""
import itertools

import keras
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras.explain import get_explainer
from eli5_keras.methods import get
from eli5_keras.methods.occlusion import UNKNOWN_EXPANSION, Occlusion

from helpers.checks import check_in_flight_bound, class_graph, compiled_for
from helpers.data import images, signals, volumes
from helpers.models import token_model
from helpers.reference import chain_logits, gather, probabilities, top_classes

L = keras.layers
RAW = dict(relu=False, normalize=False)
PIPELINE = dict(use_logits=True, relu=False, normalize=False, resize=True, input_index=None)


def window_starts(size, window, stride):
    """Window positions from 0 on, one stride apart, until a window reaches the end."""
    starts = [0]
    while starts[-1] + window < size:
        starts.append(starts[-1] + stride)
    return starts


def plain_occlusion(score_fn, x, classes, window, stride, baseline=0.0, aggregate="mean", channels=True):
    """Loop over every window position: occlude, score, credit the drop to the window."""
    x = np.asarray(x)
    spatial = x.shape[1:-1] if channels else x.shape[1:]
    window = window if isinstance(window, tuple) else (window,) * len(spatial)
    stride = stride if isinstance(stride, tuple) else (stride,) * len(spatial)
    clean = gather(score_fn(x), classes)
    total = np.zeros(classes.shape + spatial)
    cover = np.zeros(spatial)
    for begin in itertools.product(*[window_starts(d, w, s) for d, w, s in zip(spatial, window, stride)]):
        region = tuple(slice(b, b + w) for b, w in zip(begin, window))
        occluded = x.copy()
        occluded[(slice(None),) + region] = baseline
        drop = clean - gather(score_fn(occluded), classes)
        inside = np.zeros(spatial)
        inside[region] = 1.0
        total += drop.reshape(drop.shape + (1,) * len(spatial)) * inside
        cover += inside
    if aggregate == "mean":
        total = np.where(cover > 0, total / np.maximum(cover, 1.0), 0.0)
    return total



# -- hand-computed -------------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_model():
    """Logits s0 = 3 x0 + 3 x1 and s1 = x0 + x1 + x2 + x3 of a (4, 1) input."""
    inp = keras.Input((4, 1))
    h = L.Flatten()(inp)
    dense = L.Dense(2, use_bias=False)
    out = dense(h)
    model = keras.Model(inp, out, name="toy_occlusion")
    dense.set_weights([np.array([[3, 1], [3, 1], [0, 1], [0, 1]], np.float32)])
    return model


def test_hand_computed_non_overlapping(toy_model):
    x = np.ones((1, 4, 1), np.float32)  # s = (6, 4): class 0 on top
    result = eli5.explain(toy_model, x, method="occlusion", window=2, top_k=2, **RAW)
    np.testing.assert_array_equal(result.targets, [[0, 1]])
    # window [0, 2): s = (0, 2), which puts class 1 on top: the explained class stays 0
    np.testing.assert_allclose(result.maps[0, 0], [6, 6, 0, 0], atol=1e-6)
    np.testing.assert_allclose(result.maps[0, 1], [2, 2, 2, 2], atol=1e-6)


@pytest.mark.parametrize("aggregate, expected", [("mean", [6, 4.5, 4.5, 3]), ("sum", [6, 9, 9, 3])])
def test_hand_computed_overlapping_windows_cut_at_the_border(toy_model, aggregate, expected):
    x = np.ones((1, 4, 1), np.float32)
    # windows [0, 3) and [1, 4): class-0 scores 0 and 3
    result = eli5.explain(
        toy_model, x, method="occlusion", targets=0, window=3, stride=1, aggregate=aggregate, **RAW
    )
    np.testing.assert_allclose(result.maps[0, 0], expected, atol=1e-6)


# -- against the plain loop ------------------------------------------------------------


CASES = {
    "image": ("seq_model", lambda: images(3), dict(window=5, stride=3)),
    "image-tuple": ("seq_model", lambda: images(2, seed=4), dict(window=(4, 6), stride=(4, 3), baseline=0.5)),
    "signal": ("signal_model", lambda: signals(3), dict(window=4, stride=3)),
    "volume": ("volume_model", lambda: volumes(2), dict(window=(3, 2, 4), stride=2, baseline=-0.25)),
}


@pytest.mark.parametrize("aggregate", ["mean", "sum"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_plain_loop(case, aggregate, request):
    fixture, make, options = CASES[case]
    model = request.getfixturevalue(fixture)
    x = make()
    result = eli5.explain(model, x, method="occlusion", top_k=2, aggregate=aggregate, **options, **RAW)
    classes = top_classes(probabilities(model, x), 2)
    expected = plain_occlusion(
        chain_logits(model), x, classes, options["window"], options["stride"],
        options.get("baseline", 0.0), aggregate,
    )
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.scores, gather(probabilities(model, x), classes), rtol=1e-5, atol=1e-6)
    assert result.maps.shape == expected.shape
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=2e-5)


def test_probabilities_with_use_logits_false(func_model):
    x = images(2, seed=1)
    result = eli5.explain(func_model, x, method="occlusion", targets=[1, 3], window=4, use_logits=False, **RAW)
    expected = plain_occlusion(lambda b: probabilities(func_model, b), x, np.array([[1], [3]]), 4, 4)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize(
    "fixture, make, size",
    [("seq_model", lambda: images(2), (12, 12)), ("signal_model", lambda: signals(2), (16,)),
     ("volume_model", lambda: volumes(2), (6, 6, 6))],
)
def test_whole_input_window_is_the_score_drop_to_the_baseline(fixture, make, size, request):
    model = request.getfixturevalue(fixture)
    x = make()
    result = eli5.explain(model, x, method="occlusion", top_k=2, window=size, baseline=0.1, **RAW)
    classes = result.targets
    drop = gather(chain_logits(model)(x), classes) - gather(chain_logits(model)(np.full_like(x, 0.1)), classes)
    expected = np.broadcast_to(drop.reshape(drop.shape + (1,) * len(size)), result.maps.shape)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-5)


def test_window_larger_than_the_input_covers_it(seq_model):
    x = images(1)
    large = eli5.explain(seq_model, x, method="occlusion", window=40, **RAW)
    whole = eli5.explain(seq_model, x, method="occlusion", window=12, **RAW)
    np.testing.assert_allclose(large.maps, whole.maps, rtol=1e-6, atol=1e-7)


def test_nested_and_multi_input_models(nested_model, multi_input_model):
    x = images(2, seed=2)
    result = eli5.explain(nested_model, x, method="occlusion", window=6, stride=3, use_logits=False, **RAW)
    expected = plain_occlusion(lambda b: probabilities(nested_model, b), x, result.targets, 6, 3)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)

    vec = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    result = eli5.explain(
        multi_input_model, [x, vec], method="occlusion", top_k=2, window=5, stride=4, use_logits=False, **RAW
    )
    expected = plain_occlusion(lambda b: probabilities(multi_input_model, [b, vec]), x, result.targets, 5, 4)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


def test_variable_size_input_and_no_retrace(variable_model):
    for size, seed in [(10, 0), (14, 1), (14, 2)]:
        x = images(2, size=size, seed=seed)
        result = eli5.explain(variable_model, x, method="occlusion", window=4, stride=3, use_logits=False, **RAW)
        expected = plain_occlusion(lambda b: probabilities(variable_model, b), x, result.targets, 4, 3)
        np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)
    pipeline = dict(PIPELINE, use_logits=False)
    explainer = get_explainer(variable_model, "occlusion", None, **pipeline, window=4, stride=3)
    assert compiled_for(explainer, 1).experimental_get_tracing_count() == 1
    assert explainer.method.expansion(class_graph(explainer, 1)[1]) == UNKNOWN_EXPANSION


def test_token_ids_occluded_with_a_token():
    model = token_model()
    x = np.random.default_rng(0).integers(1, 10, size=(3, 8)).astype(np.int32)
    result = eli5.explain(model, x, method="occlusion", window=2, stride=1, baseline=0, use_logits=False, **RAW)
    expected = plain_occlusion(lambda b: probabilities(model, b), x, result.targets, 2, 1, 0, channels=False)
    assert result.maps.shape == (3, 1, 8)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="baseline must be a whole number for input 0 of dtype int32"):
        eli5.explain(model, x, method="occlusion", baseline=0.5)


def test_other_heads(binary_model, regression_model):
    x = images(2, seed=3)
    result = eli5.explain(binary_model, x, method="occlusion", top_k=2, window=6, use_logits=False, **RAW)
    p = probabilities(binary_model, x)[:, 0]

    def both(b):
        q = probabilities(binary_model, b)[:, 0]
        return np.stack([1 - q, q], axis=1)

    assert set(result.targets[:, 0]) <= {0, 1} and np.all(result.targets[:, 0] == (p > 0.5))
    np.testing.assert_allclose(result.maps, plain_occlusion(both, x, result.targets, 6, 6), rtol=1e-4, atol=1e-6)

    from eli5_keras.targets import RegressionTarget

    result = eli5.explain(regression_model, x, method="occlusion", targets=RegressionTarget(1), window=6, **RAW)
    expected = plain_occlusion(lambda b: probabilities(regression_model, b), x, np.ones((2, 1), int), 6, 6)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


def test_batch_size_does_not_change_maps_and_no_retrace(seq_model):
    x = images(5, seed=5)
    options = dict(method="occlusion", window=4, stride=2, top_k=2, **RAW)
    one = eli5.explain(seq_model, x, batch_size=1, **options)
    many = eli5.explain(seq_model, x, batch_size=64, **options)
    some = eli5.explain(seq_model, x, batch_size=7, **options)
    np.testing.assert_allclose(one.maps, many.maps, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(some.maps, many.maps, rtol=1e-5, atol=1e-6)
    explainer = get_explainer(seq_model, "occlusion", None, **PIPELINE, window=4, stride=2)
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1


@pytest.mark.parametrize("batch_size, largest", [(9, 8), (3, 3)])
def test_occluded_copies_in_flight_are_bounded_by_batch_size(seq_model, batch_size, largest):
    # 4 windows per input: 2 inputs (8 copies) per chunk, or blocks of 3 windows of one input
    check_in_flight_bound(seq_model, images(3, seed=7), Occlusion(window=6), batch_size, largest, column=2)


def test_gaps_between_windows_get_zero_and_no_nan(seq_model):
    x = np.zeros((1, 12, 12, 3), np.float32)  # constant input: every drop is 0
    result = eli5.explain(seq_model, x, method="occlusion", window=2, stride=5)
    assert not np.isnan(result.maps).any()
    result = eli5.explain(seq_model, images(1), method="occlusion", window=2, stride=5, **RAW)
    covered = np.zeros((12, 12), bool)
    for i, j in itertools.product([0, 5, 10], [0, 5, 10]):
        covered[i : i + 2, j : j + 2] = True
    assert np.all(result.maps[0, 0][~covered] == 0) and np.any(result.maps[0, 0][covered] != 0)


def test_expansion_is_the_number_of_windows(seq_model):
    explainer = get_explainer(seq_model, "occlusion", None, **PIPELINE, window=5, stride=3)
    eli5.explain(seq_model, images(1), method="occlusion", window=5, stride=3, **RAW)
    context = class_graph(explainer, 1)[1]
    assert explainer.method.expansion(context) == 16  # ceil((12 - 5) / 3) + 1 = 4 per axis


def test_defaults_and_properties():
    method = get("occlusion")
    assert (method.window, method.stride, method.baseline, method.aggregate) == (8, None, 0.0, "mean")
    assert not Occlusion.uses_layer and Occlusion.signed and not Occlusion.per_target_work
    assert get("occlusion", window=(2, 3)).key() == get("occlusion", window=[2, 3]).key()


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(window=0), ValueError, "window must be an int >= 1; got 0"),
        (dict(window="4"), TypeError, "window must be an int"),
        (dict(window=(2, 0)), ValueError, r"window\[1\] must be an int >= 1"),
        (dict(stride=-1), ValueError, "stride must be an int >= 1"),
        (dict(baseline="grey"), TypeError, "baseline must be a finite number"),
        (dict(baseline=float("nan")), TypeError, "baseline must be a finite number"),
        (dict(aggregate="max"), ValueError, "aggregate must be one of 'mean', 'sum'; got 'max'"),
        (dict(size=3), TypeError, "size"),
    ],
)
def test_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        get("occlusion", **options)


def test_window_tuple_must_match_the_rank(seq_model):
    with pytest.raises(ValueError, match="window has 3 entries but the input has 2 spatial axes"):
        eli5.explain(seq_model, images(1), method="occlusion", window=(2, 2, 2))
    with pytest.raises(ValueError, match="layer= does not apply"):
        eli5.explain(seq_model, images(1), method="occlusion", layer="conv2")

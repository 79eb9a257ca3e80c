"""RISE against its formula in numpy on the method's own random grids and shifts, its
mask construction against a numpy upsample-and-crop, and seeding, on every rank."""
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras.explain import get_explainer
from eli5_keras.methods import get
from eli5_keras.methods.rise import RISE, mask_parameters, upsampled_masks

from helpers.checks import check_in_flight_bound, compiled_for
from helpers.data import images, signals, volumes
from helpers.models import token_model
from helpers.reference import gather, probabilities

RAW = dict(relu=False, normalize=False)
PIPELINE = dict(use_logits=True, relu=False, normalize=False, resize=True, input_index=None)


def linear_resize(values, out_size, axis):
    """Linear resize along ``axis`` with half-pixel centres and edge clamping (np.interp)."""
    in_size = values.shape[axis]
    src = np.clip((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0, in_size - 1)
    return np.apply_along_axis(lambda v: np.interp(src, np.arange(in_size), v), axis, values)


def plain_mask(grid, shift, sizes):
    """One RISE mask: the grid upsampled to (s + 1) * ceil(D / s) per axis, cropped at shift."""
    mask = grid.astype(np.float64)
    for axis, size in enumerate(sizes):
        cells = grid.shape[axis]
        cell = -(-size // cells)
        mask = linear_resize(mask, (cells + 1) * cell, axis)
        mask = np.take(mask, np.arange(shift[axis], shift[axis] + size), axis=axis)
    return mask


def plain_rise(model, x, classes, count, grid, p1, seed, mask_value=0.0, mask_sum=False):
    """sum_i P_i M_i / (N p1) with the method's random grids/shifts and numpy masks."""
    sizes = x.shape[1:-1]
    grid = grid if isinstance(grid, tuple) else (grid,) * len(sizes)
    grids, shifts = mask_parameters(count, list(sizes), grid, p1, seed)
    masks = np.stack([plain_mask(g, s, sizes) for g, s in zip(grids.numpy(), shifts.numpy())])
    total = np.zeros(classes.shape + sizes)
    for mask in masks:
        keep = mask[None, ..., None]
        p = gather(probabilities(model, (x * keep + (1 - keep) * mask_value).astype(np.float32)), classes)
        total += p.reshape(p.shape + (1,) * len(sizes)) * mask
    if mask_sum:
        return total / (masks.sum(axis=0) + 1e-7)
    return total / (count * p1)



@pytest.mark.parametrize(
    "sizes, grid", [((13,), (4,)), ((12, 10), (3, 4)), ((6, 5, 7), (2, 3, 2)), ((7, 7), (8, 8))]
)
def test_masks_are_upsampled_grids_cropped_at_their_own_shift(sizes, grid):
    rng = np.random.default_rng(0)
    grids = (rng.uniform(size=(5,) + grid) < 0.5).astype(np.float32)
    cells = [-(-d // s) for d, s in zip(sizes, grid)]
    shifts = np.stack([rng.integers(0, c, size=5) for c in cells], axis=1).astype(np.int32)
    masks = upsampled_masks(grids, shifts, list(sizes)).numpy()
    expected = np.stack([plain_mask(g, s, sizes) for g, s in zip(grids, shifts)])
    assert masks.shape == (5,) + sizes
    np.testing.assert_allclose(masks, expected, atol=1e-6)


def test_mask_parameters_binary_grids_and_independent_shifts():
    grids, shifts = mask_parameters(2000, [16, 12], (4, 3), 0.3, seed=7)
    grids, shifts = grids.numpy(), shifts.numpy()
    assert grids.shape == (2000, 4, 3) and set(np.unique(grids)) <= {0.0, 1.0}
    assert abs(grids.mean() - 0.3) < 0.02
    assert shifts.shape == (2000, 2) and shifts.min() == 0
    assert shifts[:, 0].max() == 3 and shifts[:, 1].max() == 3  # cells ceil(16/4) = 4, ceil(12/3) = 4
    # every mask draws its own shift, on each axis independently (not one offset per batch)
    assert len({tuple(s) for s in shifts[:32]}) > 8
    assert np.mean(shifts[:, 0] == shifts[:, 1]) < 0.5
    again, _ = mask_parameters(2000, [16, 12], (4, 3), 0.3, seed=7)
    np.testing.assert_array_equal(again.numpy(), grids)


CASES = {
    "image": ("seq_model", lambda: images(2), dict(masks=12, grid=4, p1=0.5)),
    "image-value": ("func_model", lambda: images(2, seed=3), dict(masks=10, grid=(3, 5), p1=0.4, mask_value=0.5)),
    "image-mask-sum": ("seq_model", lambda: images(2, seed=1), dict(masks=9, grid=3, p1=0.6, mask_sum=True)),
    "signal": ("signal_model", lambda: signals(3), dict(masks=15, grid=5, p1=0.5)),
    "volume": ("volume_model", lambda: volumes(2), dict(masks=8, grid=2, p1=0.5, seed=3)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_the_formula(case, request):
    fixture, make, options = CASES[case]
    model = request.getfixturevalue(fixture)
    x = make()
    result = eli5.explain(model, x, method="rise", top_k=2, **options, **RAW)
    expected = plain_rise(
        model, x, result.targets, options["masks"], options["grid"], options["p1"], options.get("seed", 0),
        options.get("mask_value", 0.0), options.get("mask_sum", False),
    )
    np.testing.assert_array_equal(result.targets, np.argsort(-probabilities(model, x), axis=1)[:, :2])
    np.testing.assert_allclose(result.scores, gather(probabilities(model, x), result.targets), rtol=1e-5)
    assert result.maps.shape == expected.shape
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


def test_probabilities_are_used_whatever_use_logits_says(seq_model):
    x = images(1, seed=2)
    logits = eli5.explain(seq_model, x, method="rise", masks=6, grid=3, use_logits=True, **RAW)
    probs = eli5.explain(seq_model, x, method="rise", masks=6, grid=3, use_logits=False, **RAW)
    np.testing.assert_allclose(logits.maps, probs.maps, rtol=1e-6)


def test_regression_head_uses_the_raw_value(regression_model):
    from eli5_keras.targets import RegressionTarget

    x = images(2, seed=4)
    result = eli5.explain(regression_model, x, method="rise", targets=RegressionTarget(1), masks=7, grid=3, **RAW)
    expected = plain_rise(regression_model, x, np.ones((2, 1), int), 7, 3, 0.5, 0)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


def test_nested_and_multi_input_models(nested_model, multi_input_model):
    x = images(2, seed=5)
    result = eli5.explain(nested_model, x, method="rise", masks=6, grid=3, **RAW)
    np.testing.assert_allclose(result.maps, plain_rise(nested_model, x, result.targets, 6, 3, 0.5, 0), rtol=1e-4)

    vec = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)
    result = eli5.explain(multi_input_model, [x, vec], method="rise", masks=6, grid=3, **RAW)

    class WithVector:
        def __call__(self, b, training=False):
            return multi_input_model([b, vec], training=training)

    expected = plain_rise(WithVector(), x, result.targets, 6, 3, 0.5, 0)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-4, atol=1e-6)


def test_same_seed_same_maps_whatever_the_batch_size(seq_model):
    x = images(4, seed=6)
    options = dict(method="rise", masks=10, grid=3, top_k=2, seed=11, **RAW)
    one = eli5.explain(seq_model, x, batch_size=1, **options)
    many = eli5.explain(seq_model, x, batch_size=64, **options)
    some = eli5.explain(seq_model, x, batch_size=7, **options)
    np.testing.assert_allclose(one.maps, many.maps, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(some.maps, many.maps, rtol=1e-5, atol=1e-7)
    other = eli5.explain(seq_model, x, batch_size=64, **dict(options, seed=12))
    assert np.abs(other.maps - many.maps).max() > 1e-3
    explainer = get_explainer(seq_model, "rise", None, **PIPELINE, masks=10, grid=3, seed=11)
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1


@pytest.mark.parametrize("batch_size, largest", [(4, 4), (25, 20)])
def test_masked_copies_in_flight_are_bounded_by_batch_size(seq_model, batch_size, largest):
    check_in_flight_bound(seq_model, images(3, seed=8), RISE(masks=10, grid=3), batch_size, largest, column=1)


def test_variable_size_and_no_nan(variable_model):
    for size in (9, 13):
        x = images(1, size=size, seed=size)
        result = eli5.explain(variable_model, x, method="rise", masks=5, grid=4, **RAW)
        np.testing.assert_allclose(
            result.maps, plain_rise(variable_model, x, result.targets, 5, 4, 0.5, 0), rtol=1e-4, atol=1e-6
        )
    result = eli5.explain(variable_model, np.zeros((1, 8, 8, 3), np.float32), method="rise", masks=4, grid=2)
    assert not np.isnan(result.maps).any()  # constant maps, min-max normalised


def test_defaults_and_properties():
    method = get("rise")
    assert (method.masks, method.grid, method.p1, method.seed, method.mask_value, method.mask_sum) == (
        4000, 8, 0.5, 0, 0.0, False
    )
    assert not RISE.uses_layer and not RISE.signed and not RISE.per_target_work


def test_token_input_is_refused():
    model = token_model()
    with pytest.raises(ValueError, match="rise masks the input continuously .* needs a float input"):
        eli5.explain(model, np.ones((1, 8), np.int32), method="rise", masks=2)


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(masks=0), ValueError, "masks must be an int >= 1; got 0"),
        (dict(masks=2.5), TypeError, "masks must be an int"),
        (dict(grid=(2, 0)), ValueError, r"grid\[1\] must be an int >= 1"),
        (dict(p1=0.0), ValueError, r"p1 must be in \(0.0, 1.0\]; got 0.0"),
        (dict(p1=1.5), ValueError, "p1 must be in"),
        (dict(seed=-1), ValueError, "seed must be an int >= 0"),
        (dict(mask_value=None), TypeError, "mask_value must be a finite number"),
        (dict(mask_sum=1), TypeError, "mask_sum must be True or False"),
    ],
)
def test_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        get("rise", **options)


def test_grid_tuple_must_match_the_rank(signal_model):
    with pytest.raises(ValueError, match="grid has 2 entries but the input has 1 spatial axes"):
        eli5.explain(signal_model, signals(1), method="rise", grid=(2, 2), masks=2)

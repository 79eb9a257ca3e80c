"""HSIC attribution against Xplique's estimator written plainly in numpy (full Gram
matrices: K_i = 1 + (0.5 - (x_i - x_i')^2), RBF output kernel of width median(y),
tr(H K H L) / N) on the method's own binary design: an additive model (cells ordered by
|coefficient|, ignored cells near 0), real models on 1-D, 2-D and 3-D inputs, seeding
and the batch_size bound."""
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.methods import get
from eli5_keras.methods.gsa_design import binary_design
from eli5_keras.methods.hsic import HSICAttribution, hsic_binary, median
from eli5_keras.targets import RegressionTarget

from helpers.checks import check_batch_size_and_tracing, check_in_flight_bound
from helpers.data import images, signals, volumes
from helpers.gsa import additive_model, plain_hsic, reference_maps

RAW = dict(relu=False, normalize=False)


def test_estimator_matches_the_gram_formula_in_blocks_of_rows():
    rng = np.random.default_rng(0)
    design = binary_design("sobol", 6, 40, 0)
    scores = rng.normal(1.0, 0.5, size=(2, 3, 40)).astype(np.float32)
    expected = plain_hsic(scores.astype(np.float64), design.astype(np.float64))
    for block in (1, 7, 40, 100):
        got = hsic_binary(tf.constant(scores), tf.constant(design), tf.constant(block)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_median_is_numpy_median():
    values = np.random.default_rng(1).normal(size=(2, 3, 7)).astype(np.float32)
    for count in (7, 6, 1):
        np.testing.assert_allclose(median(tf.constant(values[..., :count])).numpy(), np.median(values[..., :count], -1))


def test_additive_model_orders_cells_by_coefficient_and_ignores_unused_cells():
    coefficients = np.zeros((4, 4))
    coefficients[0, 0], coefficients[1, 2], coefficients[3, 1] = 3.0, -1.5, 0.6
    model = additive_model(coefficients, bias=2.0)
    x = np.ones((1, 4, 4, 1), np.float32)
    result = eli5.explain(model, x, method="hsic", grid=4, designs=128, targets=RegressionTarget(0), **RAW)
    maps = result.maps[0, 0].reshape(-1)
    design = binary_design("sobol", 16, 128, 0).astype(np.float64)
    scores = (2.0 + design @ coefficients.reshape(-1))[None, None]  # f = b + sum beta_i m_i, by hand
    np.testing.assert_allclose(maps, plain_hsic(scores, design)[0, 0], rtol=1e-4, atol=1e-7)
    order = np.argsort(-np.abs(coefficients.reshape(-1)))
    np.testing.assert_array_equal(np.argsort(-maps)[:3], order[:3])
    assert maps[coefficients.reshape(-1) == 0].max() < 0.02 * maps.max()


CASES = {
    "image": ("seq_model", lambda: images(2), dict(grid=(3, 4), designs=16)),
    "image-blurring-lhs": ("seq_model", lambda: images(1, seed=2), dict(grid=3, designs=12, perturbation="blurring",
                                                                      sampler="lhs", seed=3)),
    "signal": ("signal_model", lambda: signals(2), dict(grid=5, designs=10, perturbation="amplitude")),
    "volume": ("volume_model", lambda: volumes(1), dict(grid=2, designs=16, sampler="scrambled_sobol")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_the_formula_on_every_rank(case, request):
    fixture, make, options = CASES[case]
    model, x = request.getfixturevalue(fixture), make()
    result = eli5.explain(model, x, method="hsic", top_k=2, **options, **RAW)
    expected = reference_maps(model, x, result.targets, options, binary_design, plain_hsic)
    assert result.maps.shape == expected.shape
    np.testing.assert_allclose(result.maps, expected, rtol=2e-3, atol=1e-6)


def test_same_seed_same_maps_whatever_the_batch_size(seq_model):
    x, other = images(3, seed=6), images(3, seed=7)
    options = dict(grid=3, designs=10, sampler="lhs", seed=5)
    result = check_batch_size_and_tracing(seq_model, x, other, "hsic", **options)
    reseeded = eli5.explain(seq_model, x, method="hsic", top_k=2, **dict(options, seed=6))
    assert np.abs(reseeded.maps - result.maps).max() > 1e-3


@pytest.mark.parametrize("batch_size, largest", [(4, 4), (25, 20)])
def test_perturbed_copies_in_flight_are_bounded_by_batch_size(seq_model, batch_size, largest):
    check_in_flight_bound(seq_model, images(3, seed=8), HSICAttribution(grid=2, designs=10), batch_size, largest, 1)


def test_defaults_and_properties():
    method = get("hsic")
    assert (method.grid, method.designs, method.sampler, method.perturbation, method.seed) == (
        8, 500, "sobol", "inpainting", 0
    )
    assert not HSICAttribution.uses_layer and not HSICAttribution.signed and not HSICAttribution.per_target_work


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(designs=1), ValueError, "designs must be an int >= 2; got 1"),
        (dict(grid="8"), TypeError, "grid must be an int"),
        (dict(sampler="random"), ValueError, "sampler must be one of"),
        (dict(perturbation=None), ValueError, "perturbation must be one of"),
        (dict(estimator="binary"), TypeError, "method 'hsic' has no option"),
    ],
)
def test_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        get("hsic", **options)

"""Sobol attribution against its formulas written in numpy on the method's own design:
the total-index estimators, an additive model whose indices are known
(beta_i^2 / sum beta^2, ignored cells exactly 0), real models on 1-D, 2-D and 3-D inputs
with each perturbation, the design itself, seeding, and the batch_size bound."""
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.methods import get
from eli5_keras.methods.gsa_design import binary_design, replicated_design, replicated_rows, sample, sobol_design
from eli5_keras.methods.sobol import ESTIMATORS, SobolAttribution, total_indices
from eli5_keras.targets import RegressionTarget

from helpers.checks import check_batch_size_and_tracing, check_in_flight_bound
from helpers.data import images, signals, volumes
from helpers.gsa import additive_model, plain_sobol, reference_maps
from helpers.models import token_model

RAW = dict(relu=False, normalize=False)


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_estimators_match_their_formulas(name):
    rng = np.random.default_rng(1)
    scores = rng.normal(size=(2, 3, 8 * 6)).astype(np.float32)  # N = 8 designs, d = 5 cells
    scores[1, 2, :8] = scores[1, 2, 8:16]  # C_0 = A: cell 0 without effect
    got = total_indices(name, tf.constant(scores), 8).numpy()
    np.testing.assert_allclose(got, plain_sobol(scores.astype(np.float64), 8, name), rtol=2e-4, atol=2e-5)


def test_replicated_design_and_samplers():
    a, b = np.arange(6.0).reshape(3, 2), -np.arange(6.0).reshape(3, 2)
    design = replicated_design(a, b)
    expected = np.concatenate([a, np.stack([b[:, 0], a[:, 1]], 1), np.stack([a[:, 0], b[:, 1]], 1)])
    np.testing.assert_array_equal(design, expected)
    np.testing.assert_array_equal(sample("sobol", 6, 16, seed=3), tf.math.sobol_sample(6, 16).numpy())
    points = sample("lhs", 6, 5, seed=1)  # [A | B] of 5 points in 3 dimensions
    blocks = [replicated_rows(tf.constant(points), start, size).numpy() for start, size in [(0, 3), (3, 7), (10, 10)]]
    np.testing.assert_array_equal(np.concatenate(blocks), replicated_design(points[:, :3], points[:, 3:]))
    full = sobol_design("sobol", 3, 16, 0)
    np.testing.assert_array_equal(full[:16], tf.math.sobol_sample(6, 16).numpy()[:, :3])
    assert full.shape == (16 * 4, 3)
    for sampler in ("scrambled_sobol", "lhs"):
        points = sample(sampler, 5, 32, seed=4)
        np.testing.assert_array_equal(points, sample(sampler, 5, 32, seed=4))
        assert np.abs(points - sample(sampler, 5, 32, seed=5)).max() > 0.1
    # Latin hypercube: one point in each of the 32 strata of every axis
    lhs = sample("lhs", 5, 32, seed=4)
    assert all(len(set(np.floor(lhs[:, k] * 32).astype(int))) == 32 for k in range(5))
    # digital shift: each axis' first 24 binary digits XOR-ed with one constant word
    words = [np.floor(p.astype(np.float64) * 2.0**24).astype(np.uint64) for p in
             (sample("scrambled_sobol", 5, 32, seed=4), tf.math.sobol_sample(5, 32, dtype=tf.float64).numpy())]
    shifts = words[0] ^ words[1]
    assert np.all(shifts == shifts[:1]) and np.all(shifts[0] > 0)
    assert set(np.unique(binary_design("lhs", 4, 10, 0))) == {0.0, 1.0}


def test_additive_model_recovers_squared_coefficients_and_ignores_unused_cells():
    coefficients = np.zeros((4, 4))
    coefficients[0, 0], coefficients[1, 2], coefficients[3, 1], coefficients[2, 3] = 3.0, -2.0, 1.0, 0.5
    model = additive_model(coefficients)
    x = np.ones((1, 4, 4, 1), np.float32)
    result = eli5.explain(model, x, method="sobol", grid=4, designs=64, targets=RegressionTarget(0), **RAW)
    maps = result.maps[0, 0]
    design = sobol_design("sobol", 16, 64, 0)
    scores = (0.3 + design @ coefficients.reshape(-1))[None, None]  # f = b + sum beta_i m_i, by hand
    np.testing.assert_allclose(maps.reshape(-1), plain_sobol(scores, 64)[0, 0], rtol=1e-4, atol=1e-7)
    theory = coefficients.reshape(-1) ** 2 / np.sum(coefficients**2)
    np.testing.assert_allclose(maps.reshape(-1), theory, atol=0.05)  # 64 quasi-random designs
    assert np.all(maps[coefficients == 0] < 1e-6)
    used = np.argsort(-maps.reshape(-1))[:4]
    np.testing.assert_array_equal(used, np.argsort(-np.abs(coefficients.reshape(-1)))[:4])


CASES = {
    "image": ("seq_model", lambda: images(2), dict(grid=(3, 4), designs=4)),
    "image-blurring": ("seq_model", lambda: images(1, seed=2), dict(grid=3, designs=4, perturbation="blurring")),
    "image-amplitude": ("func_model", lambda: images(1, seed=3), dict(grid=2, designs=8, perturbation="amplitude",
                                                                    estimator="glen", sampler="lhs", seed=2)),
    "signal": ("signal_model", lambda: signals(2), dict(grid=5, designs=4, sampler="scrambled_sobol")),
    "volume": ("volume_model", lambda: volumes(1), dict(grid=2, designs=4, estimator="homma")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_the_formula_on_every_rank(case, request):
    fixture, make, options = CASES[case]
    model, x = request.getfixturevalue(fixture), make()
    result = eli5.explain(model, x, method="sobol", top_k=2, **options, **RAW)
    expected = reference_maps(model, x, result.targets, options, sobol_design,
                              lambda scores, _: plain_sobol(scores, options["designs"], options.get("estimator", "jansen")))
    assert result.maps.shape == expected.shape
    np.testing.assert_allclose(result.maps, expected, rtol=2e-3, atol=2e-5)


def test_same_seed_same_maps_whatever_the_batch_size(seq_model):
    x, other = images(3, seed=6), images(3, seed=7)
    options = dict(grid=3, designs=4, sampler="scrambled_sobol", seed=5)
    result = check_batch_size_and_tracing(seq_model, x, other, "sobol", **options)
    again = eli5.explain(seq_model, x, method="sobol", top_k=2, batch_size=7, **options)
    np.testing.assert_allclose(again.maps, result.maps, rtol=1e-4, atol=1e-7)
    reseeded = eli5.explain(seq_model, x, method="sobol", top_k=2, **dict(options, seed=6))
    assert np.abs(reseeded.maps - result.maps).max() > 1e-3
    # the unscrambled Sobol sequence is deterministic: the seed changes nothing
    plain = [eli5.explain(seq_model, x, method="sobol", grid=3, designs=4, seed=s).maps for s in (0, 9)]
    np.testing.assert_array_equal(plain[0], plain[1])


@pytest.mark.parametrize("batch_size, largest", [(4, 4), (45, 40)])
def test_perturbed_copies_in_flight_are_bounded_by_batch_size(seq_model, batch_size, largest):
    # 4 designs x (4 cells + 1) = 20 copies per input: 2 inputs per call with batch_size 45
    check_in_flight_bound(seq_model, images(3, seed=8), SobolAttribution(grid=2, designs=4), batch_size, largest, 1)


def test_defaults_and_properties():
    method = get("sobol")
    assert (method.grid, method.designs, method.sampler, method.estimator, method.perturbation, method.seed) == (
        8, 32, "sobol", "jansen", "inpainting", 0
    )
    assert not SobolAttribution.uses_layer and not SobolAttribution.signed and not SobolAttribution.per_target_work


def test_token_input_is_refused():
    with pytest.raises(ValueError, match="sobol perturbs the input with continuous masks, so it needs a float input"):
        eli5.explain(token_model(), np.ones((1, 8), np.int32), method="sobol", designs=2)


@pytest.mark.parametrize(
    "options, error, match",
    [
        (dict(designs=12), ValueError, "designs must be a power of two .*; got 12"),
        (dict(designs=1), ValueError, "designs must be an int >= 2; got 1"),
        (dict(designs=4.0), TypeError, "designs must be an int"),
        (dict(grid=(2, 0)), ValueError, r"grid\[1\] must be an int >= 1"),
        (dict(estimator="sobol"), ValueError, "estimator must be one of 'jansen', .*; got 'sobol'"),
        (dict(sampler="halton"), ValueError, "sampler must be one of 'sobol', 'scrambled_sobol', 'lhs'; got 'halton'"),
        (dict(perturbation="noise"), ValueError, "perturbation must be one of 'inpainting', 'blurring', 'amplitude'"),
        (dict(seed=-1), ValueError, "seed must be an int >= 0"),
    ],
)
def test_bad_options(options, error, match):
    with pytest.raises(error, match=match):
        get("sobol", **options)


def test_grid_of_the_wrong_rank_is_refused(seq_model):
    with pytest.raises(ValueError, match=r"grid has 3 entries but the input has 2 spatial axes; got \(2, 2, 2\)"):
        eli5.explain(seq_model, images(1), method="sobol", grid=(2, 2, 2), designs=2)

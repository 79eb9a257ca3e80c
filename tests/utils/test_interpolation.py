"""1-D resizing of text heatmaps: scipy's interp1d kinds, without scipy."""
import numpy as np
import pytest

from eli5_keras.utils.interpolation import (
    INTERPOLATION_KINDS,
    bspline_basis,
    not_a_knot_knots,
    resize_1d,
    validate_interpolation_kind,
)

# Minimum number of samples per kind (a spline of degree k needs k + 1).
MIN_SAMPLES = {"quadratic": 3, "cubic": 4}


def test_linear_by_hand():
    np.testing.assert_allclose(resize_1d([0.0, 1.0], 5), [0.0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(resize_1d([0.0, 1.0, 0.0], 5), [0.0, 0.5, 1.0, 0.5, 0.0])
    # first and last samples sit on the first and last token (eli5's linspace(0, 1))
    out = resize_1d([3.0, 7.0, 5.0], 8)
    assert out[0] == 3.0 and out[-1] == 5.0


def test_step_kinds_by_hand():
    y = [10.0, 20.0, 30.0]  # at 0, 0.5, 1; read at 0, .25, .5, .75, 1
    np.testing.assert_array_equal(resize_1d(y, 5, "previous"), [10, 10, 20, 20, 30])
    np.testing.assert_array_equal(resize_1d(y, 5, "next"), [10, 20, 20, 30, 30])
    # halfway between two samples, 'nearest' takes the lower one (scipy's rule)
    np.testing.assert_array_equal(resize_1d([1.0, 2.0], 3, "nearest"), [1.0, 1.0, 2.0])
    np.testing.assert_array_equal(resize_1d(y, 7, "nearest"), [10, 10, 20, 20, 20, 30, 30])


@pytest.mark.parametrize("kind,degree", [("slinear", 1), ("quadratic", 2), ("cubic", 3)])
def test_splines_reproduce_polynomials_of_their_degree(kind, degree):
    coefficients = [0.3, -1.2, 2.0, 0.7][: degree + 1]
    x, x_new = np.linspace(0, 1, 7), np.linspace(0, 1, 23)
    out = resize_1d(np.polyval(coefficients, x), 23, kind, clip=False)
    np.testing.assert_allclose(out, np.polyval(coefficients, x_new), atol=1e-12)


@pytest.mark.parametrize("kind", ["slinear", "quadratic", "cubic"])
def test_splines_pass_through_the_samples(kind):
    y = np.random.default_rng(0).normal(size=5)
    # width 9 reads the 5 samples back at every second position
    np.testing.assert_allclose(resize_1d(y, 9, kind, clip=False)[::2], y, atol=1e-12)


@pytest.mark.parametrize(
    "kind,n,width",
    [
        (kind, n, width)
        for kind in INTERPOLATION_KINDS
        for n, width in [(2, 5), (4, 12), (5, 3), (7, 20), (10, 10), (12, 31)]
        if n >= MIN_SAMPLES.get(kind, 2)
    ],
)
def test_matches_scipy_interp1d(kind, n, width):
    interpolate = pytest.importorskip("scipy.interpolate", reason="scipy comes with eli5 0.16, the test reference")
    y = np.random.default_rng(n * 100 + width).normal(size=n)
    expected = interpolate.interp1d(np.linspace(0, 1, n), y, kind=kind)(np.linspace(0, 1, width))
    np.testing.assert_allclose(resize_1d(y, width, kind, clip=False), expected, atol=1e-10)


def test_clip_keeps_splines_inside_the_range():
    y = np.array([0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    raw = resize_1d(y, 40, "cubic", clip=False)
    assert raw.min() < 0.0 and raw.max() > 1.0  # overshoot at the step
    clipped = resize_1d(y, 40, "cubic")
    np.testing.assert_allclose(clipped, np.clip(raw, 0.0, 1.0))
    for kind in INTERPOLATION_KINDS:
        out = resize_1d(y, 40, kind)
        assert out.min() >= 0.0 and out.max() <= 1.0


def test_same_width_and_single_value():
    y = np.array([0.2, 0.9, 0.4], np.float32)
    out = resize_1d(y, 3, "cubic")
    assert out.dtype == np.float64 and out is not y
    np.testing.assert_array_equal(out, y.astype(np.float64))
    np.testing.assert_array_equal(resize_1d([0.7], 4, "cubic"), [0.7] * 4)
    np.testing.assert_allclose(resize_1d([0.0, 1.0], 1), [0.0])


def test_bspline_basis_is_a_partition_of_unity():
    x = np.linspace(0, 1, 8)
    for k in (1, 2, 3):
        knots = not_a_knot_knots(x, k)
        assert len(knots) - k - 1 == len(x)  # as many basis functions as samples
        basis = bspline_basis(knots, k, np.linspace(0, 1, 50))
        np.testing.assert_allclose(basis.sum(axis=1), 1.0, atol=1e-12)
        assert basis.min() >= -1e-12


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="interpolation_kind.*'quintic'"):
        resize_1d([0.0, 1.0], 4, "quintic")
    with pytest.raises(TypeError, match="interpolation_kind"):
        resize_1d([0.0, 1.0], 4, 3)
    with pytest.raises(ValueError, match="'cubic'.*at least 4 values.*has 3"):
        resize_1d([0.0, 1.0, 0.0], 8, "cubic")
    with pytest.raises(ValueError, match="1-D"):
        resize_1d(np.zeros((2, 3)), 4)
    with pytest.raises(ValueError, match="1-D"):
        resize_1d([], 4)
    with pytest.raises(ValueError, match="finite"):
        resize_1d([0.0, np.nan], 4)
    with pytest.raises(ValueError, match="width"):
        resize_1d([0.0, 1.0], 0)
    with pytest.raises(TypeError, match="width"):
        resize_1d([0.0, 1.0], 4.0)
    assert validate_interpolation_kind("nearest") == "nearest"

"""Colour scales: names and objects, the signed scale's centre and limits, legends."""
import matplotlib
import numpy as np
import pytest

from eli5_keras.base import Explanation, TargetExplanation
from eli5_keras.formatters.colormaps import (
    LEGEND_SIZE,
    ColorScale,
    format_number,
    legend_image,
    resolve_colormap,
    resolve_signed,
)


@pytest.mark.parametrize("name", ["viridis", "magma", "RdBu_r", "coolwarm", "gray"])
def test_any_matplotlib_name_or_object(name):
    assert resolve_colormap(name).name == name  # matplotlib.colormaps returns copies
    cmap = matplotlib.colormaps[name]
    assert resolve_colormap(cmap) is cmap


def test_unknown_name_says_which_argument_and_suggests():
    with pytest.raises(ValueError, match=r"^colormap 'virdis' is not a known matplotlib colormap name; valid names"):
        resolve_colormap("virdis")
    with pytest.raises(TypeError, match=r"^colormap must be a callable"):
        resolve_colormap(3)


def test_signed_scale_is_symmetric_and_puts_zero_at_the_centre():
    values = np.array([[-0.5, 0.0], [0.25, 2.0]])
    scale = ColorScale.symmetric(values, matplotlib.colormaps["RdBu_r"])
    assert (scale.low, scale.high) == (-2.0, 2.0)
    np.testing.assert_allclose(scale.unit(values), [[0.375, 0.5], [0.5625, 1.0]])
    np.testing.assert_allclose(scale.opacity(values), [[0.25, 0.0], [0.125, 1.0]])
    assert scale.ticks() == (-2.0, 0.0, 2.0)
    # mostly negative map: the limits still come from max|m|, never inverted or shifted
    negative = ColorScale.symmetric(np.array([-4.0, 1.0]), matplotlib.colormaps["RdBu_r"])
    assert (negative.low, negative.high) == (-4.0, 4.0)
    np.testing.assert_allclose(negative.unit(np.array([-4.0, 0.0, 1.0])), [0.0, 0.5, 0.625])


def test_all_zero_signed_map_is_transparent():
    scale = ColorScale.symmetric(np.zeros((2, 2)), matplotlib.colormaps["RdBu_r"])
    np.testing.assert_array_equal(scale.opacity(np.zeros((2, 2))), 0.0)
    np.testing.assert_array_equal(scale.unit(np.zeros((2, 2))), 0.5)


def test_sequential_scale_passes_heatmaps_through_unchanged():
    heatmap = np.random.default_rng(0).random((3, 3)).astype(np.float32)
    scale = ColorScale(matplotlib.cm.viridis)
    assert scale.unit(heatmap) is heatmap and scale.opacity(heatmap) is heatmap


def test_legend_runs_from_low_to_high():
    scale = ColorScale(matplotlib.colormaps["RdBu_r"], -1.0, 1.0, True)
    legend = np.asarray(legend_image(scale))
    assert legend.shape == (LEGEND_SIZE[1], LEGEND_SIZE[0], 3)
    expected = (np.array(matplotlib.colormaps["RdBu_r"]([0.0, 1.0]))[:, :3] * 255).astype(np.uint8)
    np.testing.assert_array_equal(legend[0, [0, -1]], expected)
    assert legend[0, 0, 2] > legend[0, 0, 0]  # blue (negative) on the left, red on the right
    assert legend[0, -1, 0] > legend[0, -1, 2]


def test_tick_labels():
    assert [format_number(v) for v in (-0.000276, 0.0, 1.0, 12345.0)] == ["\u22120.000276", "0", "1", "1.23e+04"]


def test_resolve_signed():
    raw = TargetExplanation(0, heatmap=np.ones((2, 2)), raw_heatmap=np.ones((2, 2)))
    plain = TargetExplanation(0, heatmap=np.ones((2, 2)))
    signed_expl = Explanation("m", signed=True, normalization="raw values")
    unsigned_expl = Explanation("m", signed=False)
    assert resolve_signed("auto", signed_expl, raw) is True
    assert resolve_signed("auto", signed_expl, plain) is False
    assert resolve_signed("auto", unsigned_expl, raw) is False
    assert resolve_signed(True, unsigned_expl, raw) is True
    with pytest.raises(ValueError, match=r"signed=True .*raw_heatmap.*normalize=False"):
        resolve_signed(True, signed_expl, plain)
    with pytest.raises(TypeError, match="signed must be True, False or 'auto'"):
        resolve_signed("yes", signed_expl, raw)

"""Tests for eli5_keras.formatters.image (ported from eli5's test_formatters_image.py)."""
import matplotlib
import numpy as np
import pytest
from PIL import Image

from eli5_keras.base import Explanation, TargetExplanation
from eli5_keras.formatters.image import (
    _cap_alpha,
    _colorize,
    _overlay_heatmap,
    _update_alpha,
    _validate_heatmap,
    expand_heatmap,
    format_as_image,
    heatmap_to_image,
)


# --------------------------------------------------------------------------
# helpers and fixtures
# --------------------------------------------------------------------------


def assert_pixel_by_pixel_equal(actual, expected):
    assert isinstance(actual, Image.Image)
    assert actual.mode == expected.mode
    assert actual.size == expected.size
    np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))


def explanation(image, *heatmaps):
    targets = [TargetExplanation(i, heatmap=h) for i, h in enumerate(heatmaps)]
    return Explanation("mock estimator", targets=targets or None, image=image)


def pure_red(heatmap):
    """A colormap that paints every cell opaque red."""
    rgba = np.zeros(heatmap.shape + (4,))
    rgba[..., 0] = 1.0
    rgba[..., 3] = 1.0
    return rgba


def composite_over_opaque(src_rgb, src_alpha, dst_rgb):
    """Source-over compositing onto an opaque pixel, rounded to uint8."""
    a = src_alpha / 255
    return np.round(np.asarray(src_rgb) * a + np.asarray(dst_rgb) * (1 - a)).astype(np.uint8)


@pytest.fixture
def rgba_image():
    """A 6 (high) x 5 (wide) RGBA image of random colours, alpha never 0."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(6, 5, 4), dtype=np.uint8)
    pixels[..., 3] = rng.integers(1, 256, size=(6, 5), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture
def rgb_image():
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 256, size=(5, 5, 3), dtype=np.uint8))


# --------------------------------------------------------------------------
# _validate_heatmap
# --------------------------------------------------------------------------


@pytest.mark.parametrize("heatmap", [None, [[0.5]], "heatmap", 0.5])
def test_validate_heatmap_type(heatmap):
    with pytest.raises(TypeError, match="heatmap"):
        _validate_heatmap(heatmap)


@pytest.mark.parametrize(
    "heatmap",
    [
        np.array([[-0.1, 0.5]]),
        np.array([[0.5, 1.1]]),
        np.full((2, 2), 2.0),
        np.array([[-1.0, 2.0]]),
    ],
)
def test_validate_heatmap_range(heatmap):
    with pytest.raises(ValueError, match=r"heatmap.*\[0, 1\]"):
        _validate_heatmap(heatmap)


def test_validate_heatmap_range_message_gives_min_and_max():
    with pytest.raises(ValueError, match=r"-0\.25.*1\.5"):
        _validate_heatmap(np.array([[-0.25, 1.5]]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_validate_heatmap_non_finite(bad):
    heatmap = np.full((2, 2), 0.5)
    heatmap[1, 1] = bad
    with pytest.raises(ValueError, match="heatmap"):
        _validate_heatmap(heatmap)


@pytest.mark.parametrize("heatmap", [np.zeros((2, 2)), np.ones((3, 3, 4)), np.array([[0, 1]])])
def test_validate_heatmap_accepts_valid(heatmap):
    _validate_heatmap(heatmap)


# --------------------------------------------------------------------------
# heatmap_to_image
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heatmap, expected",
    [
        (np.zeros((5, 5)), Image.new("L", (5, 5), 0)),
        (np.zeros((5, 5, 3)), Image.new("RGB", (5, 5), (0, 0, 0))),
        (np.zeros((5, 5, 4)), Image.new("RGBA", (5, 5), (0, 0, 0, 0))),
    ],
)
def test_heatmap_to_image(heatmap, expected):
    assert_pixel_by_pixel_equal(heatmap_to_image(heatmap), expected)


def test_heatmap_to_image_scales_by_255_and_truncates():
    heatmap = np.array([[0.0, 0.5], [0.999, 1.0]])
    image = heatmap_to_image(heatmap)
    assert image.mode == "L"
    assert image.size == (2, 2)
    np.testing.assert_array_equal(np.asarray(image), [[0, 127], [254, 255]])


@pytest.mark.parametrize("heatmap", [np.zeros((5, 5, 2)), np.zeros((5, 5, 1)), np.zeros((5, 5, 5))])
def test_heatmap_to_image_invalid_channels(heatmap):
    with pytest.raises(ValueError, match="channels"):
        heatmap_to_image(heatmap)


@pytest.mark.parametrize("heatmap", [np.zeros((5,)), np.zeros((5, 5, 3, 1)), np.zeros((1, 5, 5, 3))])
def test_heatmap_to_image_invalid_rank(heatmap):
    with pytest.raises(ValueError, match="rank"):
        heatmap_to_image(heatmap)


def test_heatmap_to_image_validates_first():
    with pytest.raises(TypeError):
        heatmap_to_image([[0.0]])
    with pytest.raises(ValueError):
        heatmap_to_image(np.full((2, 2), 1.5))


# --------------------------------------------------------------------------
# _colorize
# --------------------------------------------------------------------------


@pytest.mark.parametrize("heatmap", [np.zeros((2, 2)), np.ones((3, 2)), np.random.default_rng(2).random((4, 4))])
def test_colorize(heatmap):
    colorized = _colorize(heatmap, matplotlib.cm.viridis)
    assert colorized.shape == heatmap.shape + (4,)
    assert 0 <= np.min(colorized) and np.max(colorized) <= 1


def test_colorize_matches_colormap():
    heatmap = np.array([[0.0, 0.25], [0.75, 1.0]])
    np.testing.assert_array_equal(_colorize(heatmap, matplotlib.cm.viridis), matplotlib.cm.viridis(heatmap))


def test_colorize_reads_integer_heatmaps_as_floats():
    ints = np.array([[0, 1], [1, 0]])
    np.testing.assert_array_equal(
        _colorize(ints, matplotlib.cm.viridis), matplotlib.cm.viridis(ints.astype(float))
    )


# --------------------------------------------------------------------------
# _update_alpha and _cap_alpha
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image_array, starting_array, expected",
    [
        (np.ones((2, 2, 4)), None, np.ones((2, 2, 4))),
        (np.zeros((1, 1, 4)), np.ones((1, 1)), np.array([[[0, 0, 0, 1]]])),
    ],
)
def test_update_alpha(image_array, starting_array, expected):
    _update_alpha(image_array, starting_array=starting_array)
    np.testing.assert_array_equal(image_array, expected)


def test_update_alpha_caps_current_alpha_in_place():
    image_array = np.full((2, 2, 4), 0.9)
    _update_alpha(image_array, alpha_limit=0.5)
    np.testing.assert_array_equal(image_array[..., 3], np.full((2, 2), 0.5))
    np.testing.assert_array_equal(image_array[..., :3], np.full((2, 2, 3), 0.9))


@pytest.mark.parametrize(
    "alpha, alpha_limit, expected",
    [
        (np.zeros((4, 3)), 0, np.zeros((4, 3))),
        (np.array([[0.5, 0.49], [0.51, 0.5]]), 0.5, np.array([[0.5, 0.49], [0.5, 0.5]])),
        (np.array([[0.2, 0.9]]), None, np.array([[0.2, 0.9]])),
        (np.array([[0.2, 0.9]]), 1, np.array([[0.2, 0.9]])),
    ],
)
def test_cap_alpha(alpha, alpha_limit, expected):
    np.testing.assert_array_equal(_cap_alpha(alpha, alpha_limit), expected)


@pytest.mark.parametrize(
    "alpha_limit, error",
    [
        ("a", TypeError),
        (True, TypeError),
        ([0.5], TypeError),
        (1.1, ValueError),
        (-0.1, ValueError),
        (float("nan"), ValueError),
    ],
)
def test_cap_alpha_invalid(alpha_limit, error):
    with pytest.raises(error, match="alpha_limit"):
        _cap_alpha(np.zeros((2, 2)), alpha_limit)


# --------------------------------------------------------------------------
# expand_heatmap and _overlay_heatmap
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "heatmap, mode",
    [(np.zeros((3, 3)), "L"), (np.zeros((10, 10, 4)), "RGBA")],
)
def test_expand_heatmap(heatmap, mode, rgb_image):
    expanded = expand_heatmap(heatmap, rgb_image)
    assert_pixel_by_pixel_equal(expanded, Image.new(mode, (5, 5), 0))


def test_expand_heatmap_uses_image_width_and_height():
    wide = Image.new("RGB", (7, 3))
    expanded = expand_heatmap(np.ones((2, 2)), wide, resampling_filter=Image.NEAREST)
    assert expanded.size == (7, 3)
    np.testing.assert_array_equal(np.asarray(expanded), np.full((3, 7), 255))


@pytest.mark.parametrize("image", [np.zeros((5, 5, 3)), None, "image.png"])
def test_expand_heatmap_invalid_image(image):
    with pytest.raises(TypeError, match="image"):
        expand_heatmap(np.zeros((3, 3)), image)


def test_overlay_heatmap_over_itself(rgba_image):
    opaque = Image.fromarray(np.asarray(rgba_image)[..., :3]).convert("RGBA")
    assert_pixel_by_pixel_equal(_overlay_heatmap(opaque, opaque), opaque)


# --------------------------------------------------------------------------
# format_as_image
# --------------------------------------------------------------------------


def test_format_as_image_no_transparency(rgba_image):
    expl = explanation(rgba_image, np.random.default_rng(3).random((3, 3)))
    overlay = format_as_image(expl, alpha_limit=0.0)
    assert_pixel_by_pixel_equal(overlay, rgba_image)


@pytest.mark.parametrize("targets", [None, []])
def test_format_as_image_no_targets(rgba_image, targets):
    expl = Explanation("mock estimator", targets=targets, image=rgba_image)
    assert_pixel_by_pixel_equal(format_as_image(expl), rgba_image)


def test_format_as_image_converts_to_rgba(rgb_image):
    formatted = format_as_image(explanation(rgb_image))
    assert_pixel_by_pixel_equal(formatted, rgb_image.convert("RGBA"))


@pytest.mark.parametrize("image", [np.zeros((5, 5, 3)), None])
def test_format_as_image_invalid_image(image):
    expl = explanation(image, np.zeros((2, 2)))
    with pytest.raises(TypeError, match=r"expl\.image.*PIL"):
        format_as_image(expl)


def test_format_as_image_keeps_size_and_mode(rgba_image):
    formatted = format_as_image(explanation(rgba_image, np.full((3, 2), 0.5)))
    assert formatted.mode == "RGBA"
    assert formatted.size == rgba_image.size


def test_format_as_image_full_heat_pure_red():
    image = Image.new("RGB", (6, 4), (0, 128, 255))
    expl = explanation(image, np.ones((2, 3)))
    formatted = format_as_image(expl, colormap=pure_red, alpha_limit=1.0)
    expected = np.zeros((4, 6, 4), dtype=np.uint8)
    expected[..., 0] = 255
    expected[..., 3] = 255
    np.testing.assert_array_equal(np.asarray(formatted), expected)


def test_format_as_image_quadrant_composite():
    white = Image.new("RGB", (4, 4), (255, 255, 255))
    heatmap = np.array([[0.0, 1.0], [0.0, 0.0]])
    formatted = format_as_image(
        explanation(white, heatmap), resampling_filter=Image.NEAREST, alpha_limit=0.5
    )

    # The hot cell: viridis(1.0) with opacity min(1.0, 0.5), truncated to bytes.
    hot_rgb = (np.array(matplotlib.cm.viridis(1.0)[:3]) * 255).astype(np.uint8)
    hot_alpha = int(0.5 * 255)  # 127
    hot_pixel = np.append(composite_over_opaque(hot_rgb, hot_alpha, [255, 255, 255]), 255)

    expected = np.full((4, 4, 4), 255, dtype=np.uint8)
    expected[:2, 2:] = hot_pixel  # rows 0-1 (top), columns 2-3 (right)
    np.testing.assert_array_equal(np.asarray(formatted), expected)


def test_format_as_image_target_selects_heatmap():
    black = Image.new("RGB", (2, 2), (0, 0, 0))
    expl = explanation(black, np.zeros((2, 2)), np.ones((2, 2)))
    first = format_as_image(expl, colormap=pure_red, alpha_limit=1.0)
    second = format_as_image(expl, colormap=pure_red, alpha_limit=1.0, target=1)
    last = format_as_image(expl, colormap=pure_red, alpha_limit=1.0, target=-1)
    assert_pixel_by_pixel_equal(first, black.convert("RGBA"))
    assert_pixel_by_pixel_equal(second, Image.new("RGBA", (2, 2), (255, 0, 0, 255)))
    assert_pixel_by_pixel_equal(last, second)


@pytest.mark.parametrize("target", [2, 5, -3])
def test_format_as_image_target_out_of_range(rgba_image, target):
    expl = explanation(rgba_image, np.zeros((2, 2)), np.ones((2, 2)))
    with pytest.raises(IndexError, match=rf"target={target}.*2 targets"):
        format_as_image(expl, target=target)


@pytest.mark.parametrize("target", ["1", 1.0, None, True])
def test_format_as_image_target_not_an_integer(rgba_image, target):
    expl = explanation(rgba_image, np.zeros((2, 2)), np.ones((2, 2)))
    with pytest.raises(TypeError, match="target"):
        format_as_image(expl, target=target)


def test_format_as_image_target_is_keyword_only(rgba_image):
    expl = explanation(rgba_image, np.zeros((2, 2)))
    with pytest.raises(TypeError):
        format_as_image(expl, Image.LANCZOS, matplotlib.cm.viridis, 0.65, 0)


@pytest.mark.parametrize("name", ["jet", "viridis", "gray"])
def test_format_as_image_colormap_by_name(rgba_image, name):
    heatmap = np.random.default_rng(4).random((3, 3))
    expl = explanation(rgba_image, heatmap)
    by_name = format_as_image(expl, colormap=name)
    by_object = format_as_image(expl, colormap=matplotlib.colormaps[name])
    assert_pixel_by_pixel_equal(by_name, by_object)


def test_format_as_image_unknown_colormap_name(rgba_image):
    expl = explanation(rgba_image, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"colormap 'not_a_colormap'.*valid names include"):
        format_as_image(expl, colormap="not_a_colormap")


def test_format_as_image_colormap_not_callable(rgba_image):
    expl = explanation(rgba_image, np.zeros((2, 2)))
    with pytest.raises(TypeError, match="colormap"):
        format_as_image(expl, colormap=42)


def test_format_as_image_nan_heatmap(rgba_image):
    heatmap = np.full((3, 3), 0.5)
    heatmap[0, 0] = np.nan
    with pytest.raises(ValueError, match="heatmap"):
        format_as_image(explanation(rgba_image, heatmap))


@pytest.mark.parametrize("heatmap", [np.zeros((3,)), np.zeros((3, 3, 3)), np.zeros((2, 3, 3, 1))])
def test_format_as_image_heatmap_rank(rgba_image, heatmap):
    with pytest.raises(ValueError, match=r"heatmap.*rank 2"):
        format_as_image(explanation(rgba_image, heatmap))


def test_format_as_image_missing_heatmap(rgba_image):
    expl = Explanation("mock estimator", targets=[TargetExplanation(0)], image=rgba_image)
    with pytest.raises(TypeError, match="heatmap"):
        format_as_image(expl)


@pytest.mark.parametrize("alpha_limit, error", [(1.5, ValueError), ("0.5", TypeError)])
def test_format_as_image_invalid_alpha_limit(rgba_image, alpha_limit, error):
    with pytest.raises(error, match="alpha_limit"):
        format_as_image(explanation(rgba_image, np.zeros((2, 2))), alpha_limit=alpha_limit)


def test_format_as_image_does_not_modify_inputs(rgba_image):
    heatmap = np.array([[0.2, 0.9], [0.4, 0.0]])
    before_heatmap = heatmap.copy()
    before_image = np.asarray(rgba_image).copy()
    format_as_image(explanation(rgba_image, heatmap))
    np.testing.assert_array_equal(heatmap, before_heatmap)
    np.testing.assert_array_equal(np.asarray(rgba_image), before_image)


def test_an_empty_map_gets_a_note_drawn_and_every_other_map_stays_eli5s():
    rng = np.random.default_rng(5)
    image = Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    zero = np.zeros((4, 4))

    def explanation(empty):
        return Explanation("m", targets=[TargetExplanation(1, heatmap=zero, empty=empty)], image=image)

    eli5_drawing = np.asarray(format_as_image(explanation(False)))
    noted = np.asarray(format_as_image(explanation(True)))
    np.testing.assert_array_equal(np.asarray(format_as_image(explanation(True), note_empty=False)), eli5_drawing)
    band = np.any(noted != eli5_drawing, axis=(1, 2))
    assert band[0] and not band[24:].any()  # a band across the top, the rest untouched
    rows = noted[: int(np.argmin(band))]
    assert (rows[..., :3].min(axis=-1) > 200).any() and (rows[..., :3].max(axis=-1) < 100).any()  # light on dark
    assert (noted[..., 3] == 255).all()

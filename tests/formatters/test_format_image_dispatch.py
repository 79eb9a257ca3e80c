"""format_as_image beyond eli5: signed maps, and dispatch on the map's rank."""
import matplotlib
import numpy as np
import pytest
from PIL import Image

from eli5_keras.base import Explanation, TargetExplanation
from eli5_keras.formatters.image import format_as_image

WHITE = (255, 255, 255)


def signed_explanation(raw, image=None, signed=True):
    heatmap = (raw - min(raw.min(), 0)) / (raw.max() - min(raw.min(), 0))
    target = TargetExplanation(0, heatmap=heatmap, raw_heatmap=raw)
    image = image or Image.new("RGB", raw.shape[::-1], WHITE)
    return Explanation("m", targets=[target], image=image, signed=signed, normalization="raw values")


def over_white(rgba):
    """eli5's compositing of one RGBA float colour over white, in uint8."""
    colour = (np.asarray(rgba) * 255).astype(np.uint8)
    alpha = colour[3] / 255
    return np.round(colour[:3] * alpha + 255 * (1 - alpha)).astype(np.uint8)


def test_signed_map_zero_sits_at_the_colormaps_centre_and_limits_are_symmetric():
    raw = np.array([[-1.0, 0.0], [0.5, 2.0]])
    out = np.asarray(format_as_image(signed_explanation(raw), Image.NEAREST, alpha_limit=1.0, signed=True))
    cmap = matplotlib.colormaps["RdBu_r"]  # the default for signed maps
    limit = 2.0
    for (row, col), value in np.ndenumerate(raw):
        colour = cmap((value / limit + 1) / 2)
        expected = over_white(colour[:3] + (abs(value) / limit,))
        np.testing.assert_allclose(out[row, col, :3], expected, atol=1)
    np.testing.assert_array_equal(out[0, 1, :3], WHITE)  # zero: fully transparent
    assert out[1, 1, 0] > out[1, 1, 2] and out[0, 0, 2] > out[0, 0, 0]  # positive red, negative blue


def test_signed_uses_the_given_colormap_and_caps_opacity():
    raw = np.array([[-3.0, 3.0]])
    expl = signed_explanation(raw)
    out = np.asarray(format_as_image(expl, Image.NEAREST, "coolwarm", 0.5, signed=True))
    expected = over_white(matplotlib.colormaps["coolwarm"](1.0)[:3] + (0.5,))
    np.testing.assert_allclose(out[0, 1, :3], expected, atol=1)


def test_signed_auto_follows_the_explanation():
    raw = np.array([[-1.0, 1.0]])
    signed = signed_explanation(raw)
    plain = format_as_image(signed)  # eli5 default: signed=False, draws the [0, 1] heatmap
    unsigned_copy = Explanation("m", targets=[TargetExplanation(0, heatmap=signed.targets[0].heatmap)],
                                image=signed.image)
    np.testing.assert_array_equal(np.asarray(plain), np.asarray(format_as_image(unsigned_copy)))
    np.testing.assert_array_equal(
        np.asarray(format_as_image(signed, signed="auto")), np.asarray(format_as_image(signed, signed=True))
    )
    not_signed = signed_explanation(raw, signed=False)
    np.testing.assert_array_equal(np.asarray(format_as_image(not_signed, signed="auto")), np.asarray(plain))


def test_signed_true_without_raw_map_names_the_argument():
    expl = Explanation("m", targets=[TargetExplanation(0, heatmap=np.zeros((2, 2)))],
                       image=Image.new("RGB", (2, 2)), normalization="min-max per map")
    with pytest.raises(ValueError, match=r"signed=True .*raw_heatmap.*min-max per map"):
        format_as_image(expl, signed=True)


def test_volume_without_input_is_a_clear_error():
    expl = Explanation("m", targets=[TargetExplanation(0, heatmap=np.zeros((3, 4, 4)))], image=None)
    with pytest.raises(ValueError, match=r"heatmap has rank 3, shape \(3, 4, 4\): a volume.*expl\.input"):
        format_as_image(expl)


def test_volume_options_on_an_image_name_the_argument():
    expl = Explanation("m", targets=[TargetExplanation(0, heatmap=np.zeros((2, 2)))], image=Image.new("RGB", (2, 2)))
    with pytest.raises(ValueError, match=r"^axis applies to volume explanations.*rank 2"):
        format_as_image(expl, axis=1)
    with pytest.raises(ValueError, match=r"^slices applies to volume explanations"):
        format_as_image(expl, slices=3)


def test_input_field_does_not_change_the_2d_drawing():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (8, 6, 3), dtype=np.uint8))
    heatmap = rng.random((4, 3))
    without = Explanation("m", targets=[TargetExplanation(0, heatmap=heatmap)], image=image)
    with_input = Explanation("m", targets=[TargetExplanation(0, heatmap=heatmap)], image=image,
                             input=np.asarray(image, np.float32))
    np.testing.assert_array_equal(np.asarray(format_as_image(without)), np.asarray(format_as_image(with_input)))


def test_empty_image_names_expl_image():
    expl = Explanation("m", targets=[TargetExplanation(0, heatmap=np.zeros((2, 2)))], image=Image.new("RGB", (0, 4)))
    with pytest.raises(ValueError, match=r"^expl\.image must be at least 1x1 pixels to draw on; got size \(0, 4\)"):
        format_as_image(expl)


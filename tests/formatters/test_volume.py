"""Volumes: slice montage (slices with most heat by default), GIF, errors."""
import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

import eli5_keras
from eli5_keras.base import Explanation, TargetExplanation
from eli5_keras.formatters.image import format_as_image
from eli5_keras.formatters.volume import (
    DEFAULT_SLICES,
    LABEL_HEIGHT,
    MIN_TILE,
    format_volume_as_gif,
    montage_boxes,
    select_slices,
)

D, H, W = 6, 4, 5
FACTOR = MIN_TILE // H  # slices of 4x5 pixels become 64x80 tiles


def volume_explanation(heatmap, volume=None, raw=None, signed=False):
    volume = np.zeros(heatmap.shape, np.float32) if volume is None else volume
    target = TargetExplanation(0, heatmap=heatmap, raw_heatmap=raw)
    return Explanation("m", targets=[target], input=volume, signed=signed)


def hot_slices_heatmap():
    """Slices 1 (all 1.0) and 4 (all 0.5) hold most heat; others 0.2 on one voxel only."""
    heatmap = np.zeros((D, H, W))
    heatmap[:, 0, 0] = 0.2
    heatmap[1] = 1.0
    heatmap[4] = 0.5
    return heatmap


def viridis_over_black(value):
    colour = (np.array(matplotlib.cm.viridis(value)) * 255).astype(np.uint8)
    return np.round(colour[:3] * (int(value * 255) / 255)).astype(np.uint8)


def test_select_slices_picks_most_heat_in_index_order():
    heat = hot_slices_heatmap()
    assert select_slices(heat, 0, 2) == [1, 4]
    assert select_slices(heat, 0, 3) == [0, 1, 4]  # ties (0.2 each): lowest index first
    assert select_slices(heat, 0, 100) == list(range(D))
    assert select_slices(heat, 0, [4, -1, 0]) == [4, 5, 0]
    across = np.zeros((2, 7, 3))
    across[:, 5] = 1.0
    across[0, 2] = 0.9
    assert select_slices(across, 1, 2) == [2, 5]


def test_montage_shows_the_hottest_slices_drawn_as_eli5_draws_an_image():
    expl = volume_explanation(hot_slices_heatmap())
    montage = format_as_image(expl, Image.NEAREST, alpha_limit=1.0, slices=2)
    boxes = montage_boxes(2, (W * FACTOR, H * FACTOR))
    assert montage.mode == "RGBA" and montage.size == (boxes[1][2], boxes[1][3])
    pixels = np.asarray(montage)
    for (left, top, right, bottom), value in zip(boxes, (1.0, 0.5)):
        tile = pixels[top:bottom, left:right, :3]
        np.testing.assert_allclose(tile.reshape(-1, 3), np.tile(viridis_over_black(value), (tile.size // 3, 1)),
                                   atol=1)
    label_strip = pixels[: LABEL_HEIGHT, : boxes[0][2], :3]
    assert (label_strip < 128).any() and (label_strip == 255).any()  # text on white


def test_default_montage_has_default_count_and_axis_changes_tiles():
    heatmap = np.random.default_rng(0).random((10, 4, 8))
    expl = volume_explanation(heatmap)
    tile = (8 * 16, 4 * 16)
    default = format_as_image(expl)
    assert default.size[1] == montage_boxes(DEFAULT_SLICES, tile)[-1][3]
    along_width = format_as_image(expl, axis=2, slices=[0, 7])  # slices of shape (10, 4)
    assert along_width.size == (2 * 4 * 16 + 2, 10 * 16 + LABEL_HEIGHT)


def test_input_slices_show_through_and_share_one_intensity_scale():
    volume = np.zeros((2, 4, 4), np.float32)
    volume[0] = 1.0
    volume[1] = 0.5
    volume[1, 3, 3] = 0.0  # the volume's minimum
    expl = volume_explanation(np.zeros((2, 4, 4)), volume=volume)
    montage = np.asarray(format_as_image(expl, slices=[0, 1]))
    (l0, t0, _, _), (l1, t1, _, _) = montage_boxes(2, (64, 64))
    assert tuple(montage[t0 + 5, l0 + 5, :3]) == (255, 255, 255)
    assert tuple(montage[t1 + 5, l1 + 5, :3]) == (127, 127, 127)  # not rescaled per slice


def test_coarse_map_is_resized_onto_the_volume():
    coarse = np.zeros((3, 2, 2))
    coarse[1] = 1.0
    expl = volume_explanation(coarse, volume=np.zeros((6, 4, 4, 1), np.float32))
    assert select_slices(np.abs(coarse), 0, 1) == [1]
    montage = format_as_image(expl, Image.NEAREST, alpha_limit=1.0, slices=1)
    assert montage.size == (64, 64 + LABEL_HEIGHT)


def test_signed_volume_picks_slices_by_absolute_value():
    raw = np.zeros((4, 4, 4))
    raw[2] = -3.0
    raw[0, 0, 0] = 1.0
    expl = volume_explanation(np.zeros((4, 4, 4)), raw=raw, signed=True)
    montage = np.asarray(format_as_image(expl, Image.NEAREST, alpha_limit=1.0, signed=True, slices=1))
    blue = (np.array(matplotlib.colormaps["RdBu_r"](0.0))[:3] * 255).astype(np.uint8)
    np.testing.assert_allclose(montage[LABEL_HEIGHT + 10, 10, :3], blue, atol=1)


def test_gif_steps_through_every_slice():
    expl = volume_explanation(hot_slices_heatmap())
    data = format_volume_as_gif(expl, duration=80)
    assert data[:6] == b"GIF89a"
    with Image.open(io.BytesIO(data)) as gif:
        assert gif.n_frames == D and gif.info["duration"] == 80
    assert eli5_keras.format_volume_as_gif is format_volume_as_gif


def test_gif_written_to_path(tmp_path):
    expl = volume_explanation(hot_slices_heatmap())
    data = format_volume_as_gif(expl, slices=[1, 4], path=tmp_path / "v.gif")
    assert (tmp_path / "v.gif").read_bytes() == data
    with Image.open(tmp_path / "v.gif") as gif:
        assert gif.n_frames == 2


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(axis=3), ValueError, r"^axis must be 0, 1 or 2"),
        (dict(axis=1.0), TypeError, r"^axis must be an int"),
        (dict(slices=0), ValueError, r"^slices must be a positive count"),
        (dict(slices=[1, 9]), ValueError, r"slice index 9 is out of range for 6 slices along axis 0"),
        (dict(slices="1"), TypeError, r"^slices must be a positive int or a non-empty sequence"),
        (dict(slices=[1.5]), TypeError, r"^slices\[0\] must be an int; got float: 1.5"),
    ],
)
def test_bad_axis_and_slices_name_the_argument(kwargs, error, match):
    with pytest.raises(error, match=match):
        format_as_image(volume_explanation(hot_slices_heatmap()), **kwargs)


def test_wrong_input_for_a_volume_names_expl_input():
    expl = volume_explanation(hot_slices_heatmap(), volume=np.zeros((D, H), np.float32))
    with pytest.raises(ValueError, match=r"^expl\.input must be a volume of shape \(D, H, W\) or \(D, H, W, C\)"):
        format_as_image(expl)


def test_heatmap_outside_unit_range_is_rejected():
    heatmap = hot_slices_heatmap()
    heatmap[0, 0, 0] = 1.5
    with pytest.raises(ValueError, match=r"heatmap must hold floats in the range \[0, 1\]"):
        format_as_image(volume_explanation(heatmap))


def test_gif_of_a_2d_explanation_is_refused():
    expl = Explanation("m", targets=[TargetExplanation(0, heatmap=np.zeros((4, 4)))], input=np.zeros((4, 4)))
    with pytest.raises(ValueError, match=r"heatmap must have rank 3.*volume"):
        format_volume_as_gif(expl)


def test_volume_model_end_to_end():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 10, 12, 1)),
        keras.layers.Conv3D(3, 3, padding="same", activation="relu", name="c3d"),
        keras.layers.GlobalAveragePooling3D(),
        keras.layers.Dense(2, activation="softmax"),
    ])
    x = np.random.default_rng(0).random((1, 8, 10, 12, 1)).astype(np.float32)
    expl = eli5_keras.explain(model, x)[0]
    assert expl.image is None and expl.input.shape == (8, 10, 12, 1)
    montage = eli5_keras.format_as_image(expl, slices=3)
    factor = -(-MIN_TILE // 10)
    assert montage.size == (3 * 12 * factor + 2 * 2, 10 * factor + LABEL_HEIGHT)

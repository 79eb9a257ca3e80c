"""1-D signals: line plot with the map as tint and as a coloured band."""
import matplotlib
import numpy as np
import pytest
from PIL import Image

import eli5_keras
from eli5_keras.base import Explanation, TargetExplanation
from eli5_keras.formatters.image import format_as_image
from eli5_keras.formatters.signal import BAND_GAP, BAND_HEIGHT, PLOT_HEIGHT, signal_layout


def signal_explanation(heatmap, signal=None, raw=None, signed=False):
    signal = np.zeros(len(heatmap), np.float32) if signal is None else signal
    return Explanation("m", targets=[TargetExplanation(0, heatmap=heatmap, raw_heatmap=raw)], input=signal,
                       signed=signed)


def band_row(picture):
    return np.asarray(picture)[PLOT_HEIGHT + BAND_GAP + BAND_HEIGHT // 2]


def test_band_colours_follow_the_map():
    heatmap = np.linspace(0.0, 1.0, 10)
    picture = format_as_image(signal_explanation(heatmap), Image.NEAREST)
    columns, width = signal_layout(10)
    assert picture.size == (width, PLOT_HEIGHT + BAND_GAP + BAND_HEIGHT) and picture.mode == "RGBA"
    row = band_row(picture)
    expected = (matplotlib.cm.viridis(heatmap) * 255).astype(np.uint8)
    for i in range(10):
        np.testing.assert_array_equal(row[i * columns + columns // 2], expected[i])


def test_plot_background_is_tinted_like_an_overlay():
    heatmap = np.array([0.0, 1.0])
    picture = np.asarray(format_as_image(signal_explanation(heatmap), Image.NEAREST, "magma", 1.0))
    columns, _ = signal_layout(2)
    np.testing.assert_array_equal(picture[10, columns // 2, :3], (255, 255, 255))  # no heat: white
    np.testing.assert_array_equal(
        picture[10, columns + columns // 2, :3], (np.array(matplotlib.colormaps["magma"](1.0)[:3]) * 255).astype(np.uint8)
    )


def test_lines_follow_the_signal_one_colour_per_channel():
    length = 40
    ramp = np.linspace(0.0, 1.0, length)
    signal = np.stack([ramp, 1.0 - ramp], axis=1)
    picture = np.asarray(format_as_image(signal_explanation(np.zeros(length), signal=signal), alpha_limit=0.0))
    columns, _ = signal_layout(length)
    first_x = columns // 2
    column = picture[:PLOT_HEIGHT, first_x, :3].astype(int)
    dark = np.flatnonzero((column < 80).all(axis=1))  # channel 0 (dark grey) starts at its minimum: bottom
    blue = np.flatnonzero((np.abs(column - (31, 119, 180)) < 40).all(axis=1))  # channel 1, tab10 blue, at the top
    assert dark.size and dark.min() > PLOT_HEIGHT * 0.8
    assert blue.size and blue.max() < PLOT_HEIGHT * 0.2


def test_signed_band_puts_zero_at_the_colormaps_centre():
    raw = np.array([-2.0, 0.0, 1.0])
    expl = signal_explanation(np.zeros(3), raw=raw, signed=True)
    picture = format_as_image(expl, Image.NEAREST, signed="auto")
    columns, _ = signal_layout(3)
    row = band_row(picture)
    cmap = matplotlib.colormaps["RdBu_r"]
    expected = (cmap(np.array([0.0, 0.5, 0.75])) * 255).astype(np.uint8)
    for i in range(3):
        np.testing.assert_array_equal(row[i * columns + columns // 2], expected[i])


def test_coarse_map_is_resized_onto_the_samples():
    picture = format_as_image(signal_explanation(np.array([0.0, 1.0]), signal=np.zeros((8, 1))), Image.NEAREST)
    columns, width = signal_layout(8)
    assert picture.width == width
    row = band_row(picture)
    # linear, half-pixel centres: samples 0-1 read 0, 6-7 read 1, between a ramp
    resized = np.array([0.0, 0.0, 0.125, 0.375, 0.625, 0.875, 1.0, 1.0])
    expected = (matplotlib.cm.viridis(resized) * 255).astype(np.uint8)
    for i in range(8):
        np.testing.assert_allclose(row[i * columns + columns // 2], expected[i], atol=1)


@pytest.mark.parametrize("signal", [np.zeros((4, 2, 2)), np.zeros((0,))])
def test_wrong_input_names_expl_input(signal):
    with pytest.raises(ValueError, match=r"^expl\.input must be a signal of shape \(L,\) or \(L, C\)"):
        format_as_image(signal_explanation(np.zeros(4), signal=signal))


def test_non_finite_signal_is_rejected():
    signal = np.zeros(4)
    signal[2] = np.nan
    with pytest.raises(ValueError, match=r"expl\.input must hold finite values"):
        format_as_image(signal_explanation(np.zeros(4), signal=signal))


def test_signal_model_end_to_end():
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((30, 2)),
        keras.layers.Conv1D(4, 3, padding="same", activation="relu", name="c1d"),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(3),
    ])
    x = np.random.default_rng(0).normal(size=(2, 30, 2)).astype(np.float32)
    result = eli5_keras.explain(model, x, relu=False, normalize=False)
    expl = result[1]
    assert expl.image is None and expl.input.shape == (30, 2) and expl.signed
    picture = eli5_keras.format_as_image(expl, signed=True)
    assert picture.size == (signal_layout(30)[1], PLOT_HEIGHT + BAND_GAP + BAND_HEIGHT)

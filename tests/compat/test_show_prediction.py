"""show_prediction: explain, then format as an image (or return the Explanation)."""
import sys

import numpy as np
import pytest
from PIL import Image

import eli5_keras as eli5
from eli5_keras.base import Explanation
from eli5_keras.formatters.image import format_as_image

from helpers.data import SIZE, images


def test_returns_an_rgba_overlay_of_the_input_size(seq_model):
    x = images(1, seed=1)
    shown = eli5.show_prediction(seq_model, x)
    assert isinstance(shown, Image.Image)
    assert shown.mode == "RGBA" and shown.size == (SIZE, SIZE)
    expected = format_as_image(eli5.explain_prediction(seq_model, x))
    np.testing.assert_array_equal(np.asarray(shown), np.asarray(expected))


def test_alpha_limit_zero_gives_the_input_image(seq_model):
    x = images(1, seed=2)
    shown = eli5.show_prediction(seq_model, x, alpha_limit=0)
    original = eli5.explain_prediction(seq_model, x).image.convert("RGBA")
    np.testing.assert_array_equal(np.asarray(shown), np.asarray(original))
    assert not np.array_equal(np.asarray(eli5.show_prediction(seq_model, x, alpha_limit=1.0)), np.asarray(original))


def test_explain_and_format_arguments_are_split(seq_model):
    x = images(1, seed=3)
    shown = eli5.show_prediction(seq_model, x, targets=[1, 3], layer="conv1", target=1, colormap="jet")
    expl = eli5.explain_prediction(seq_model, x, targets=[1, 3], layer="conv1")
    expected = format_as_image(expl, target=1, colormap="jet")
    np.testing.assert_array_equal(np.asarray(shown), np.asarray(expected))
    with pytest.raises(TypeError):
        eli5.show_prediction(seq_model, x, not_an_argument=1)


def test_non_image_model_returns_ipython_html(dense_model):
    from IPython.display import HTML

    shown = eli5.show_prediction(dense_model, np.zeros((1, 10), np.float32))
    assert isinstance(shown, HTML)
    assert "is not supported" in shown.data and 'class="eli5k-error"' in shown.data
    styled = eli5.show_prediction(dense_model, np.zeros((1, 10), np.float32), include_styles=False)
    assert "<style>" in shown.data and "<style>" not in styled.data


def test_new_format_arguments_reach_the_image_formatter(seq_model):
    x = images(1, seed=5)
    with pytest.raises(ValueError, match="signed=True"):
        eli5.show_prediction(seq_model, x, signed=True)  # eli5's maps are scaled: no raw map
    with pytest.raises(ValueError, match="^axis applies to volume explanations"):
        eli5.show_prediction(seq_model, x, axis=0)
    with pytest.raises(TypeError, match="show"):
        eli5.show_prediction(seq_model, x, show=("targets",))  # an HTML argument, as in eli5


def test_missing_image_dependencies_warn_and_return_the_explanation(seq_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "eli5_keras.formatters.image", None)
    with pytest.warns(UserWarning, match="cannot format the explanation"):
        shown = eli5.show_prediction(seq_model, images(1, seed=4))
    assert isinstance(shown, Explanation)
    assert isinstance(shown.image, Image.Image) and len(shown.targets) == 1

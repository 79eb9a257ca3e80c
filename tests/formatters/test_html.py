"""format_as_html: pictures equal format_as_image, names, scores, scaling, escaping, batches, kinds."""
import dataclasses
import io
import re

import numpy as np
import pytest
from PIL import Image

import eli5_keras
from eli5_keras.base import Explanation, TargetExplanation
from eli5_keras.formatters import rendering
from eli5_keras.formatters.html import Rendered, format_as_html, register_html_renderer
from eli5_keras.formatters.image import format_as_image

from helpers.data import images
from helpers.html_parsing import decode_picture, parse_tags


def tags(html, name, css_class=None):
    return [a for t, a in parse_tags(html) if t == name and (css_class is None or css_class in a.get("class", ""))]


def pictures(html):
    """The decoded main pictures (not legends) of an HTML fragment, in order."""
    return [decode_picture(attrs["src"]) for attrs in tags(html, "img", "eli5k-picture")]


def text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def two_targets():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8))
    targets = [
        TargetExplanation(3, score=0.75, proba=0.75, heatmap=rng.random((3, 3))),
        TargetExplanation(1, score=0.125, proba=0.125, heatmap=rng.random((3, 3))),
    ]
    return Explanation("cnn", description="A test map.", method="Grad-CAM", targets=targets, image=image,
                       layer="block/conv", normalization="min-max per map")


def test_pictures_are_the_input_and_format_as_image_per_target(two_targets):
    html = format_as_html(two_targets, alpha_limit=0.5, colormap="magma")
    decoded = pictures(html)
    assert len(decoded) == 3
    np.testing.assert_array_equal(np.asarray(decoded[0]), np.asarray(two_targets.image))
    for t in range(2):
        expected = format_as_image(two_targets, colormap="magma", alpha_limit=0.5, target=t)
        np.testing.assert_array_equal(np.asarray(decoded[1 + t]), np.asarray(expected))


def test_shows_method_layer_model_targets_scores_and_scaling(two_targets):
    words = text(format_as_html(two_targets))
    for expected in ("Grad-CAM at layer block/conv of model cnn", "A test map.", "probability 0.750",
                     "probability 0.125", "Map scaling: min-max per map", "opacity = value, capped at alpha_limit=0.65"):
        assert expected in words
    figures = tags(format_as_html(two_targets), "figure")
    assert [f.get("data-target-index") for f in figures] == [None, "3", "1"]  # input, then targets in order


def test_target_names_replace_indices_and_are_escaped(two_targets):
    names = {3: "<b>cat & co</b>", 1: "dog"}
    html = format_as_html(two_targets, target_names=names)
    assert "&lt;b&gt;cat &amp; co&lt;/b&gt;" in html and "<b>cat" not in html
    titles = re.findall(r'<div class="eli5k-title">([^<]*)</div>', html)
    assert titles == ["input", "&lt;b&gt;cat &amp; co&lt;/b&gt;", "dog"]
    as_list = format_as_html(two_targets, target_names=["zero", "one", "two", "three"])
    assert re.findall(r'<div class="eli5k-title">([^<]*)</div>', as_list)[1:] == ["three", "one"]
    partial = format_as_html(two_targets, target_names={1: "one"})  # a dict may leave indices out
    assert re.findall(r'<div class="eli5k-title">([^<]*)</div>', partial)[1:] == ["3", "one"]


def test_short_name_list_and_bad_type_name_the_argument(two_targets):
    with pytest.raises(ValueError, match=r"^target_names has 2 names .* no name for target 3"):
        format_as_html(two_targets, target_names=["a", "b"])
    with pytest.raises(TypeError, match=r"^target_names must be a list"):
        format_as_html(two_targets, target_names="cat")


def test_other_text_is_escaped(two_targets):
    two_targets.description = "<script>alert(1)</script>"
    two_targets.layer = "a<b"
    html = format_as_html(two_targets)
    assert "<script>" not in html and "&lt;script&gt;" in html and "a&lt;b" in html
    assert type(html) is str  # not markupsafe.Markup, which would escape what users append


def test_eli5_layout_arguments(two_targets):
    assert "<style>" in format_as_html(two_targets) and "<style>" not in format_as_html(two_targets, include_styles=False)
    assert "eli5k-stacked" in format_as_html(two_targets, horizontal_layout=False)
    only_targets = text(format_as_html(two_targets, show=("targets",)))
    assert "Grad-CAM at layer" not in only_targets and "A test map." not in only_targets and "Map scaling" in only_targets
    assert not pictures(format_as_html(two_targets, show=("method", "description")))
    assert len(pictures(format_as_html(two_targets, show_input=False))) == 2
    # eli5's text-formatting arguments are accepted (image pictures do not change)
    assert pictures(format_as_html(two_targets, force_weights=False, highlight_spaces=True))


def test_display_width_and_small_pictures_enlarged(two_targets):
    widths = [a["width"] for a in tags(format_as_html(two_targets), "img", "eli5k-picture")]
    assert widths == ["160", "160", "160"]  # 10 px wide pictures shown at 160 px
    widths = [a["width"] for a in tags(format_as_html(two_targets, display_width=300), "img", "eli5k-picture")]
    assert widths == ["300", "300", "300"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(colormap="not_a_map"), ValueError, r"colormap 'not_a_map' is not a known matplotlib colormap"),
        (dict(alpha_limit=2), ValueError, r"alpha_limit must be between 0 and 1"),
        (dict(display_width=0), ValueError, r"^display_width must be None or an int >= 1; got 0"),
        (dict(show=("targets", "weights")), ValueError, r"^show must hold names from"),
        (dict(animate=True), ValueError, r"^animate=True applies to volume explanations"),
        (dict(not_an_option=1), TypeError, r"not_an_option"),
    ],
)
def test_bad_arguments_are_named(two_targets, kwargs, error, match):
    with pytest.raises(error, match=match):
        format_as_html(two_targets, **kwargs)


def test_heatmap_outside_unit_range_is_an_error(two_targets):
    two_targets.targets[1].heatmap = two_targets.targets[1].heatmap + 1.0
    with pytest.raises(ValueError, match=r"heatmap must hold floats in the range \[0, 1\]"):
        format_as_html(two_targets)


def test_unrecorded_scaling_is_said(two_targets):
    two_targets.normalization = None
    assert "Map scaling: not recorded by the explainer; heatmap values are in [0, 1]" in text(format_as_html(two_targets))


def test_error_explanation_shows_the_error():
    expl = Explanation("dense", error='model "dense" is not supported <really>')
    html = format_as_html(expl)
    assert "is not supported &lt;really&gt;" in html and not tags(html, "img")


def test_signed_maps_have_a_centred_legend_with_real_values():
    raw = np.array([[-0.5, 0.0], [0.25, 0.125]])
    heatmap = (raw + 0.5) / 0.75
    expl = Explanation("m", method="IG", targets=[TargetExplanation(0, score=2.0, heatmap=heatmap, raw_heatmap=raw)],
                       image=Image.new("RGB", (4, 4), (200, 200, 200)), signed=True, normalization="raw values")
    html = format_as_html(expl)
    ticks = re.findall(r"<span>([^<]*)</span>", html)
    assert ticks == ["\u22120.5", "0", "0.5"]
    assert "Drawn signed: colormap RdBu_r centred at 0" in text(html)
    np.testing.assert_array_equal(np.asarray(pictures(html)[1]), np.asarray(format_as_image(expl, signed=True)))
    unsigned = format_as_html(expl, signed=False)
    assert re.findall(r"<span>([^<]*)</span>", unsigned) == ["0", "0.5", "1"]
    assert "raw map \u22120.5 to 0.25" in text(unsigned) and "score 2" in text(unsigned)


def volume_expl():
    heatmap = np.zeros((5, 4, 4))
    heatmap[2] = 1.0
    return Explanation("v", method="Grad-CAM", targets=[TargetExplanation(0, heatmap=heatmap)],
                       input=np.random.default_rng(0).random((5, 4, 4, 1)), normalization="min-max")


def test_volume_html_shows_input_slices_and_montage_or_gif():
    expl = volume_expl()
    html = format_as_html(expl, slices=2)
    assert 'data-kind="volume"' in html
    input_picture, montage = pictures(html)
    np.testing.assert_array_equal(np.asarray(montage), np.asarray(format_as_image(expl, slices=2)))
    np.testing.assert_array_equal(np.asarray(input_picture), np.asarray(format_as_image(expl, slices=2, alpha_limit=0)))
    animated = pictures(format_as_html(expl, animate=True, show_input=False))
    assert len(animated) == 1 and animated[0].format == "GIF" and animated[0].n_frames == 5


def test_signal_html_has_the_plot_and_no_separate_input():
    expl = Explanation("s", targets=[TargetExplanation(0, heatmap=np.linspace(0, 1, 20))], input=np.sin(np.arange(20.0)))
    html = format_as_html(expl)
    assert 'data-kind="signal"' in html
    (plot,) = pictures(html)
    np.testing.assert_array_equal(np.asarray(plot), np.asarray(format_as_image(expl)))
    with pytest.raises(ValueError, match=r"^axis and slices apply to volume explanations; this is a signal"):
        format_as_html(expl, axis=0)


def test_text_kind_has_a_hook_for_its_renderer(monkeypatch):
    expl = Explanation("t", targets=[TargetExplanation("spam", weighted_spans=[("word", 0.5)])])
    monkeypatch.setattr(rendering, "_RENDERERS", dict(rendering._RENDERERS))
    del rendering._RENDERERS["text"]  # text has a renderer by default (formatters/text_html.py)
    with pytest.raises(ValueError, match=r"no HTML renderer for text explanations; register one"):
        format_as_html(expl)

    def render_text(expl, context, **options):
        return Rendered(input=None, targets=[f"<p>{t.target} {options['marker']}</p>" for t in expl.targets],
                        notes=[f"spaces: {context.eli5_options['highlight_spaces']}"])

    register_html_renderer("text", render_text)
    html = format_as_html(expl, highlight_spaces=True, marker="ok")
    assert "<p>spam ok</p>" in html and "spaces: True" in html


def test_explanation_displays_itself_in_jupyter(two_targets):
    assert two_targets._repr_html_() == format_as_html(two_targets)
    assert two_targets._repr_png_() is None  # two targets: the HTML shows them
    two_targets.targets = two_targets.targets[:1]
    png = Image.open(io.BytesIO(two_targets._repr_png_()))
    np.testing.assert_array_equal(np.asarray(png), np.asarray(format_as_image(two_targets)))
    assert Explanation("x", error="unsupported")._repr_png_() is None


# --------------------------------------------------------------------------
# batches from explain()
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def batch(seq_model):
    return eli5_keras.explain(seq_model, images(5, seed=7), top_k=2)


def test_batch_table_rows_and_pictures(batch):
    html = format_as_html(batch, max_inputs=3, alpha_limit=0.4)
    rows = re.findall(r"<tr><td>(\d+)</td>", html)
    assert rows == ["0", "1", "2"]
    assert "Showing the first 3 of 5 inputs" in text(html)
    decoded = pictures(html)
    assert len(decoded) == 3 * 3  # input + 2 targets per row
    np.testing.assert_array_equal(np.asarray(decoded[4]), np.asarray(format_as_image(batch[1], target=0, alpha_limit=0.4)))
    assert f"Map scaling: {batch.normalization}" in text(html)
    assert len(re.findall(r"<tr><td>\d+</td>", format_as_html(batch, max_inputs=None))) == 5


def test_batch_names_from_the_batch_or_the_argument(batch):
    names = ["c0", "c1", "c2", "c3", "c4"]
    named = eli5_keras.ExplanationBatch(**{**batch.__dict__, "target_names": names})
    titles = re.findall(r'<div class="eli5k-title">([^<]*)</div>', format_as_html(named, max_inputs=1))
    assert titles[1:] == [names[i] for i in batch.targets[0]]
    override = {int(batch.targets[0, 0]): "first!"}
    titles = re.findall(r'<div class="eli5k-title">([^<]*)</div>', format_as_html(named, max_inputs=1, target_names=override))
    assert titles[1] == "first!" and titles[2] == str(batch.targets[0, 1])


def test_batch_displays_itself(batch):
    assert batch._repr_html_() == format_as_html(batch)
    assert len(re.findall(r"<tr><td>\d+</td>", batch._repr_html_())) == 5


def test_signed_batch_from_explain(seq_model):
    raw = eli5_keras.explain(seq_model, images(2, seed=8), relu=False, normalize=False)
    assert raw.signed
    html = format_as_html(raw)
    expected = format_as_image(raw[0], signed=True)
    np.testing.assert_array_equal(np.asarray(pictures(html)[1]), np.asarray(expected))
    limit = np.abs(raw.maps[0, 0]).max()
    assert f"\u2212{limit:.3g}" in html


def test_an_empty_map_shows_a_note_with_the_hints_instead_of_its_legend(two_targets):
    targets = [two_targets.targets[0], TargetExplanation(1, score=-2.0, heatmap=np.zeros((3, 3)), empty=True)]
    expl = dataclasses.replace(two_targets, targets=targets)
    html = format_as_html(expl)
    notes = tags(html, "div", "eli5k-warning")
    assert len(notes) == 1
    words = text(html)
    for fragment in ("empty map: constant, so it shows nothing", "relu=False shows the negative evidence",
                     "counterfactual=True explains what lowers the score"):
        assert fragment in words
    assert len(tags(html, "div", "eli5k-legend")) == 1  # the non-empty map's
    assert "empty map" not in text(format_as_html(two_targets))


def test_a_batch_notes_each_empty_map(negative_evidence_model):
    with pytest.warns(eli5_keras.EmptyMapWarning):
        result = eli5_keras.explain(negative_evidence_model, images(2, seed=34), targets=[[0, 1]] * 2)
    html = format_as_html(result)
    figures = [attrs for attrs in tags(html, "figure") if attrs.get("data-target-index") is not None]
    assert [f["data-target-index"] for f in figures] == ["0", "1", "0", "1"]
    assert len(tags(html, "div", "eli5k-warning")) == 2
    assert html.count("empty map for 1") == 2  # the pictures' alt text

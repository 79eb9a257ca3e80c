"""HTML of text explanations: eli5's token highlighting, escaping, several targets."""
import re

import numpy as np
import pytest

from eli5_keras.base import DocWeightedSpans, Explanation, TargetExplanation, WeightedSpans
from eli5_keras.formatters.text_html import char_weights, format_text_as_html, has_weighted_spans, render_weighted_spans
from eli5_keras.utils.tokens import weighted_spans


def text_target(label, tokens, weights, score=0.75, proba=None):
    return TargetExplanation(label, score=score, proba=proba, weighted_spans=weighted_spans(tokens, weights))


def explanation(*targets, **kwargs):
    kwargs.setdefault("method", "Grad-CAM")
    return Explanation("text_cnn", targets=list(targets), **kwargs)


SPAN = re.compile(r'<span style="([^"]*)"(?: title="([^"]*)")?>(.*?)</span>', re.S)


def spans_of(html):
    """``(style, title, text)`` of each highlighted run."""
    return SPAN.findall(html)


def test_tokens_are_coloured_by_sign_and_magnitude():
    html = render_weighted_spans(weighted_spans(["good", "plot", "bad"], [1.0, 0.0, -0.5]).docs_weighted_spans[0])
    runs = spans_of(html)
    assert [text for _, _, text in runs] == ["good", " plot ", "bad"]  # zero-weight runs merge, as in eli5
    (good_style, good_title, _), (plain_style, plain_title, _), (bad_style, bad_title, _) = runs
    # |w| / range = 1: lightness 1 - 0.4 = 60%, opacity 1
    assert good_style == "background-color: hsl(120, 100.00%, 60.00%); opacity: 1.00" and good_title == "1.000"
    assert plain_style == "opacity: 0.80" and plain_title == ""
    lightness = 1 - 0.4 * 0.5**0.7
    opacity = 0.8 + 0.2 * 0.5
    assert bad_style == f"background-color: hsl(0, 100.00%, {lightness:.2%}); opacity: {opacity:.2f}"
    assert bad_title == "-0.500"


def test_html_is_escaped():
    tokens = ["<script>alert(1)</script>", "&", '"q"']
    html = format_text_as_html(explanation(text_target("<b>pos</b>", tokens, [1.0, 0.5, -0.5])))
    assert "<script>" not in html and "<b>pos</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&amp;" in html and "&quot;q&quot;" in html
    assert "y=&lt;b&gt;pos&lt;/b&gt;" in html


def test_matches_eli5_rendering_for_distinct_tokens():
    eli5_html = pytest.importorskip("eli5.formatters.html", reason="eli5 0.16 is the parity reference")
    import eli5.base as eli5_base

    tokens = ["a", "<great>", "movie", "not", "bad", "at", "all"]
    rng = np.random.default_rng(0)
    per_target = [rng.normal(size=len(tokens)) for _ in range(2)]
    per_target[0][2] = 0.0
    ours = explanation(*[text_target(c, tokens, w) for c, w in enumerate(per_target)])
    theirs = [
        eli5_base.TargetExplanation(
            c,
            weighted_spans=eli5_base.WeightedSpans(
                [eli5_base.DocWeightedSpans(t.weighted_spans.docs_weighted_spans[0].document,
                                            spans=t.weighted_spans.docs_weighted_spans[0].spans)]
            ),
        )
        for c, t in enumerate(ours.targets)
    ]
    expected = eli5_html.render_targets_weighted_spans(theirs, None)
    html = format_text_as_html(ours, show=("targets",))
    for rendered in expected:
        assert rendered in html
    # one weight range over both targets, as in eli5
    assert html.count("opacity: 1.00") == 1


def test_repeated_tokens_keep_their_own_weight():
    # eli5 divides a feature's weight by its count (bag of words); a token position is its own feature
    doc = weighted_spans(["good", "plot", "good"], [1.0, 0.0, 0.25]).docs_weighted_spans[0]
    np.testing.assert_allclose(char_weights(doc)[:4], 1.0)
    np.testing.assert_allclose(char_weights(doc)[-4:], 0.25)
    titles = [title for _, title, _ in spans_of(render_weighted_spans(doc))]
    assert titles == ["1.000", "", "0.250"]


def test_preserve_density_divides_by_the_span_length():
    doc = weighted_spans(["ab", "cdef"], [1.0, 1.0]).docs_weighted_spans[0]
    np.testing.assert_allclose(char_weights(doc, preserve_density=True), [0.5, 0.5, 0, 0.25, 0.25, 0.25, 0.25])
    dense = DocWeightedSpans(doc.document, doc.spans, preserve_density=True)
    np.testing.assert_allclose(char_weights(dense), char_weights(doc, preserve_density=True))


def test_header_method_and_targets():
    expl = explanation(
        text_target(0, ["a", "b"], [0.2, 0.4], score=0.25),
        text_target(1, ["a", "b"], [0.4, 0.2], score=0.75, proba=0.75),
        layer="conv",
        description="Grad-CAM for text",
    )
    html = format_text_as_html(expl)
    assert "<p>Explained as: Grad-CAM at layer <code>conv</code></p>" in html
    assert "<pre>Grad-CAM for text</pre>" in html
    assert "<b>y=0</b> (score <b>0.250</b>)" in html
    assert "<b>y=1</b> (probability <b>0.750</b>, score <b>0.750</b>)" in html
    only = format_text_as_html(expl, target=-1, show=("targets",))
    assert "y=1" in only and "y=0" not in only and "Explained as" not in only
    regression = format_text_as_html(explanation(text_target("value", ["a"], [1.0]), is_regression=True))
    assert "<b>value</b>" in regression


def test_all_zero_weights_and_error_rendering():
    html = format_text_as_html(explanation(text_target(0, ["no", "signal"], [0.0, 0.0])))
    assert spans_of(html) == [("opacity: 0.80", "", "no signal")]
    failed = Explanation("m", error="model <x> is not supported")
    assert "Error: model &lt;x&gt; is not supported" in format_text_as_html(failed)


def test_argument_and_content_errors():
    image_like = Explanation("m", targets=[TargetExplanation(0, heatmap=np.zeros((2, 2)))])
    assert not has_weighted_spans(image_like) and has_weighted_spans(explanation(text_target(0, ["a"], [1.0])))
    with pytest.raises(ValueError, match="no weighted spans"):
        format_text_as_html(image_like)
    expl = explanation(text_target(0, ["a"], [1.0]))
    with pytest.raises(IndexError, match="target 3"):
        format_text_as_html(expl, target=3)
    with pytest.raises(TypeError, match="target must be an int"):
        format_text_as_html(expl, target="0")
    with pytest.raises(ValueError, match="unknown fields"):
        format_text_as_html(expl, show=("weights",))
    with pytest.raises(TypeError, match="show"):
        format_text_as_html(expl, show="targets")
    probabilities = DocWeightedSpans("a", [("a", [(0, 1)], 0.5)], with_probabilities=True)
    with pytest.raises(ValueError, match="with_probabilities"):
        render_weighted_spans(probabilities)


def test_vec_name_prefix():
    doc = DocWeightedSpans("a", [("a", [(0, 1)], 1.0)], vec_name="<title>")
    html = format_text_as_html(explanation(TargetExplanation(0, weighted_spans=WeightedSpans([doc]))))
    assert "<b>&lt;title&gt;:</b> <span" in html


# -- format_as_html (the registered renderer of text explanations) -------------------------------


def test_format_as_html_renders_text_explanations():
    from eli5_keras.formatters.html import format_as_html

    tokens = ["<script>", "plot", "good"]
    expl = explanation(
        text_target(0, tokens, [0.5, 0.0, -1.0], score=0.25),
        text_target(1, tokens, [-0.5, 0.0, 0.8], proba=0.75),
        layer="conv",
    )
    html = format_as_html(expl, target_names=["negative", "positive"])
    assert 'data-kind="text"' in html
    for target in expl.targets:  # shared weight range 1.0 over both targets
        assert render_weighted_spans(target.weighted_spans.docs_weighted_spans[0], 1.0) in html
    assert '<div class="eli5k-title">negative</div><div class="eli5k-muted">score 0.25</div>' in html
    assert '<div class="eli5k-title">positive</div><div class="eli5k-muted">probability 0.750</div>' in html
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "green for positive weights, red for negative ones" in html
    assert expl._repr_html_() == format_as_html(expl)
    # eli5's preserve_density divides a span's weight by its length: <script> 0.5 / 8
    assert 'title="0.062"' in format_as_html(expl, preserve_density=True) and 'title="0.062"' not in html

"""report(): one self-contained HTML page comparing methods; checked in headless Chromium."""
import os
import re

import numpy as np
import pytest
from PIL import Image

import eli5_keras
from eli5_keras.formatters.image import format_as_image
from eli5_keras.formatters.outline import outlined
from eli5_keras.metrics import pointing_game, pointing_hits

from helpers.data import NUM_CLASSES, SIZE, images
from helpers.chromium import HeadlessChromium, find_chromium
from helpers.html_parsing import decode_picture, parse_tags

N = 4
# A few methods keep the test fast as methods are added; the default (every method) is checked apart.
SHOWN = [m for m in ("gradcam", "scorecam", "fullgrad") if m in eli5_keras.methods.available()]


@pytest.fixture(scope="module")
def inputs():
    return images(N, seed=11)


@pytest.fixture(scope="module")
def written(seq_model, inputs, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "nested" / "report.html"
    names = [f"class <{i}>" for i in range(NUM_CLASSES)]
    result = eli5_keras.report(seq_model, inputs, methods=SHOWN, path=path, target_names=names, title="Report & co")
    return result, path.read_text(encoding="utf-8")


def test_writes_one_page_with_a_column_per_method(written):
    result, html = written
    assert result.path.is_file() and os.fspath(result) == str(result.path)
    assert result.methods == SHOWN
    headers = re.findall(r"<th>([^<]*)</th>", html.split('class="eli5k-grid"')[1])
    assert headers == ["#", "input"] + [run.title for run in result.runs]
    assert len(re.findall(r"<tr><td>\d+</td>", html)) == N


def test_cells_are_the_overlays_with_target_and_score(written, inputs):
    result, html = written
    grid = html.split('class="eli5k-grid"')[1]
    pictures = [a["src"] for t, a in parse_tags(grid) if t == "img" and "eli5k-picture" in a.get("class", "")]
    per_row = 1 + len(result.runs)
    assert len(pictures) == N * per_row
    run = result.runs[0]
    for i in range(N):
        np.testing.assert_array_equal(np.asarray(decode_picture(pictures[i * per_row])), np.asarray(run.result[i].image))
        expected = format_as_image(run.result[i], colormap=None, signed="auto")
        np.testing.assert_array_equal(np.asarray(decode_picture(pictures[i * per_row + 1])), np.asarray(expected))
        label = f"class &lt;{run.result.targets[i, 0]}&gt;"
        assert f'<div class="eli5k-title">{label}</div>' in grid
        assert f"probability {run.result.scores[i, 0]:.3f}" in grid


def test_default_methods_are_every_method_that_applies(seq_model, inputs, tmp_path, monkeypatch):
    from eli5_keras import methods

    attention = {"attention_rollout", "transformer_attribution"}  # need MultiHeadAttention layers
    assert methods.applicable(seq_model) == [m for m in methods.available() if m not in attention]
    asked = []
    monkeypatch.setattr(methods, "available", lambda: asked.append(True) or ["gradcam"])
    result = eli5_keras.report(seq_model, inputs[:1], path=tmp_path / "r.html")
    assert asked and result.methods == ["gradcam"]


def test_timing_per_method(written):
    result, html = written
    for run in result.runs:
        assert run.first_call_seconds > 0 and run.seconds_per_input > 0
        assert f"<td>{1000 * run.seconds_per_input:.2f}</td>" in html
    assert result.seconds_per_input == {run.name: run.seconds_per_input for run in result.runs}
    assert result.pointing is None and "pointing game" not in html


def test_self_contained(written):
    _, html = written
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    for tag, attrs in parse_tags(html):
        assert tag not in ("script", "link", "iframe", "object")
        for name in ("src", "href"):
            if name in attrs:
                assert attrs[name].startswith("data:"), (tag, attrs[name][:60])
    assert "url(" not in html and "@import" not in html


def test_title_and_names_are_escaped(written):
    _, html = written
    assert "<title>Report &amp; co</title>" in html and "class <" not in html


def test_masks_give_pointing_game_per_method(seq_model, inputs, tmp_path):
    maps = eli5_keras.explain(seq_model, inputs).maps[:, 0]
    peak = maps.reshape(N, -1).argmax(axis=1)
    masks = np.zeros((N, SIZE * SIZE), bool)
    masks[[0, 1], peak[[0, 1]]] = True  # inputs 0 and 1: the peak is inside
    masks[[2, 3], (peak[[2, 3]] + 1) % (SIZE * SIZE)] = True  # 2 and 3: the mask misses it
    masks = masks.reshape(N, SIZE, SIZE)
    result = eli5_keras.report(seq_model, inputs, methods=["gradcam"], masks=masks, path=tmp_path / "r.html")
    assert result.pointing == {"gradcam": 0.5}
    np.testing.assert_array_equal(result.runs[0].hits, [True, True, False, False])
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "0.50 (2/4)" in html
    assert html.count("\u2713 maximum inside the mask") == 2 and html.count("\u2717 maximum outside the mask") == 2
    # the input column shows each input with its mask's border drawn on it
    grid = html.split('class="eli5k-grid"')[1]
    pictures = [a["src"] for t, a in parse_tags(grid) if t == "img" and "eli5k-picture" in a.get("class", "")]
    for i in range(N):
        expected = outlined(result.runs[0].result[i].image, masks[i])
        np.testing.assert_array_equal(np.asarray(decode_picture(pictures[2 * i])), np.asarray(expected))
    assert html.count("input, mask outlined") == N


def test_on_error_skip_lists_the_failing_method_and_keeps_the_others(seq_model, inputs, tmp_path, monkeypatch):
    import eli5_keras.reporting as reporting

    real_explain = reporting.explain

    def explain(model, inputs, method="gradcam", **kwargs):
        if method == "cam":
            raise ValueError("method 'cam' needs conv -> GlobalAveragePooling -> Dense")
        return real_explain(model, inputs, method=method, **kwargs)

    monkeypatch.setattr(reporting, "explain", explain)
    with pytest.raises(ValueError, match="needs conv"):  # the default stops at the first error
        eli5_keras.report(seq_model, inputs, methods=["cam", "gradcam"], path=tmp_path / "r.html")
    result = eli5_keras.report(seq_model, inputs, methods=["cam", "gradcam"], path=tmp_path / "r.html",
                               on_error="skip")
    assert result.methods == ["gradcam"] and [s.name for s in result.skipped] == ["cam"]
    assert result.skipped[0].message == "ValueError: method 'cam' needs conv -> GlobalAveragePooling -> Dense"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "not run: ValueError: method &#39;cam&#39; needs conv -&gt; GlobalAveragePooling -&gt; Dense" in html
    headers = re.findall(r"<th>([^<]*)</th>", html.split('class="eli5k-grid"')[1])
    assert headers == ["#", "input", "Grad-CAM"]
    assert "not run: ValueError" in result._repr_html_()
    with pytest.raises(ValueError, match=r"^on_error must be 'raise' or 'skip'; got 'ignore'"):
        eli5_keras.report(seq_model, inputs, methods="gradcam", path=tmp_path / "r.html", on_error="ignore")


@pytest.mark.parametrize(
    "masks, error, match",
    [
        (np.zeros((N - 1, SIZE, SIZE), bool), ValueError, r"^masks must have shape \(N, \*S\) with N = 4"),
        (np.zeros((N, SIZE, SIZE + 1), bool), ValueError, r"^masks must have shape \(N, \*S\) with S the maps'"),
        (np.full((N, SIZE, SIZE), 0.5), TypeError, r"^masks must be boolean"),
    ],
)
def test_bad_masks_are_named(seq_model, inputs, tmp_path, masks, error, match):
    with pytest.raises(error, match=match):
        eli5_keras.report(seq_model, inputs, methods="gradcam", masks=masks, path=tmp_path / "r.html")


def test_several_targets_per_cell_and_explain_options(seq_model, inputs, tmp_path):
    result = eli5_keras.report(seq_model, inputs[:2], methods=["gradcam"], top_k=2, layer="conv1",
                               path=tmp_path / "r.html")
    assert result.runs[0].result.maps.shape == (2, 2, SIZE, SIZE) and result.runs[0].result.layer == "conv1"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert len(re.findall(r'data-target-index="\d+"', html)) == 4
    assert "the top 2 classes of each input" in html


def test_errors_name_the_argument(seq_model, inputs, tmp_path):
    with pytest.raises(ValueError, match=r"unknown method 'nope'; available methods"):
        eli5_keras.report(seq_model, inputs, methods=["nope"], path=tmp_path / "r.html")
    with pytest.raises(TypeError, match=r"^methods must be a method name or a non-empty list"):
        eli5_keras.report(seq_model, inputs, methods=[], path=tmp_path / "r.html")
    with pytest.raises(ValueError, match=r"shape"):
        eli5_keras.report(seq_model, images(2, size=SIZE + 3), methods="gradcam", path=tmp_path / "r.html")
    with pytest.raises(ValueError, match=r"^display_width must be None or an int >= 1; got -5"):
        eli5_keras.report(seq_model, inputs, methods="gradcam", display_width=-5, path=tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_report_summary_in_jupyter(written):
    result, _ = written
    summary = result._repr_html_()
    assert "eli5k-summary" in summary and str(result.path) in summary


def test_pointing_metrics():
    maps = np.array([[[0.0, 1.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]])
    masks = np.array([[[False, True], [False, False]], [[True, False], [False, False]]])
    np.testing.assert_array_equal(pointing_hits(maps, masks), [True, False])
    assert pointing_game(maps, masks) == 0.5
    with pytest.raises(ValueError, match="must have the same shape"):
        pointing_hits(maps, masks[:, :1])


# --------------------------------------------------------------------------
# a real browser
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    binary = find_chromium()
    if binary is None:
        reason = ("chromium is not installed, so the report was not checked in a browser "
                  "(.ci/run installs Debian's chromium: apt-get install -y chromium)")
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    pytest.importorskip("websocket", reason="websocket-client drives chromium; pip install -e '.[cpu,test]'")
    chromium = HeadlessChromium(binary)
    yield chromium
    chromium.close()


def test_report_renders_in_headless_chromium(browser, written, tmp_path):
    _, html = written
    path = written[0].path
    screenshot = tmp_path / "report.png"
    page = browser.check(path, screenshot=screenshot)
    print(f"report screenshot: {screenshot}")
    assert page.errors == []
    expected_images = len([1 for tag, _ in parse_tags(html) if tag == "img"])
    assert len(page.images) == expected_images > 0
    assert all(image["complete"] and image["naturalWidth"] > 0 for image in page.images), page.images
    with Image.open(screenshot) as shot:
        assert shot.format == "PNG" and shot.width > 400 and shot.height > 400
        assert len(np.unique(np.asarray(shot.convert("L")))) > 10  # not a blank page


def test_the_browser_check_catches_broken_pages(browser, tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!doctype html><img src='data:image/png;base64,bm90IGEgcG5n'>"
        "<script>console.error('boom')</script>",
        encoding="utf-8",
    )
    page = browser.check(broken)
    assert any("boom" in error for error in page.errors)
    assert page.images[0]["naturalWidth"] == 0


def test_a_cell_with_an_empty_map_says_so(negative_evidence_model, tmp_path):
    with pytest.warns(eli5_keras.EmptyMapWarning) as caught:
        eli5_keras.report(negative_evidence_model, images(2, seed=35), methods=["gradcam", "saliency"], targets=1,
                          path=tmp_path / "r.html")
    assert len([w for w in caught if issubclass(w.category, eli5_keras.EmptyMapWarning)]) == 1  # Grad-CAM's
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    notes = [attrs for tag, attrs in parse_tags(page) if tag == "div" and "eli5k-warning" in attrs.get("class", "")]
    assert len(notes) == 2 and page.count("empty map: constant") == 2  # one per input, in the Grad-CAM column


def plain_gini(values):
    """Sparseness (Chalasani et al. 2020) of one map, plainly: the Gini index of sorted |map|."""
    x = np.sort(np.abs(np.asarray(values, np.float64)).ravel())
    n = len(x)
    return sum((2 * (i + 1) - n - 1) * x[i] for i in range(n)) / (n * x.sum())


@pytest.fixture(scope="module")
def scored(seq_model, inputs, tmp_path_factory):
    masks = np.zeros((N, SIZE, SIZE), bool)
    masks[:, 2:7, 3:9] = True
    path = tmp_path_factory.mktemp("scored") / "r.html"
    options = {"deletion": {"steps": 6}}
    written = eli5_keras.report(seq_model, inputs, methods=["gradcam", "saliency"], masks=masks, path=path,
                                metrics=["deletion", "sparseness", "relevance_mass_accuracy"],
                                metric_options=options, batch_size=8)
    return written, masks, path.read_text(encoding="utf-8")


def test_metric_columns_are_evaluate_numbers(seq_model, inputs, scored):
    written, masks, html = scored
    assert written.higher_is_better == {"deletion": False, "sparseness": True, "relevance_mass_accuracy": True}
    ev = eli5_keras.evaluate(seq_model, inputs, ["gradcam", "saliency"], ["deletion", "relevance_mass_accuracy"],
                             masks=masks, batch_size=8, metric_options={"deletion": {"steps": 6}})
    for run in written.runs:
        assert list(run.metrics) == ["deletion", "sparseness", "relevance_mass_accuracy"]
        np.testing.assert_allclose(run.metrics["deletion"], ev.scores[run.name]["deletion"], rtol=1e-6)
        np.testing.assert_allclose(run.metrics["relevance_mass_accuracy"],
                                   ev.scores[run.name]["relevance_mass_accuracy"], rtol=1e-6)
        np.testing.assert_allclose(run.metrics["sparseness"], [plain_gini(m[0]) for m in run.result.maps], rtol=1e-5)
        mean = run.metrics["deletion"].mean()
        half = 1.96 * run.metrics["deletion"].std(ddof=1) / np.sqrt(N)
        assert written.metrics[run.name]["deletion"] == pytest.approx(mean)
        # the methods table: mean ± half-width; each cell: that input's scores
        assert f"{mean:.3f} \u00b1 {half:.3f}" in html
        for i in range(N):
            assert f"deletion {run.metrics['deletion'][i]:.3f}; sparseness {run.metrics['sparseness'][i]:.3f}" in html
    assert "deletion \u2193" in html and "sparseness \u2191" in html
    assert "deletion \u2193" in str(written._repr_html_())


def test_metrics_per_target_with_top_k(seq_model, inputs, tmp_path):
    written = eli5_keras.report(seq_model, inputs, methods=["gradcam"], path=tmp_path / "r.html",
                                metrics="sparseness", top_k=2)
    maps = written.runs[0].result.maps
    assert written.runs[0].metrics["sparseness"].shape == (N, 2)
    np.testing.assert_allclose(written.runs[0].metrics["sparseness"],
                               [[plain_gini(m) for m in row] for row in maps], rtol=1e-5)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(metrics=["deletion", "nope"]), ValueError, r"unknown metrics \['nope'\]; known: \['deletion'"),
    (dict(metrics=["pointing_game"]), ValueError, r"metrics \['pointing_game'\] compare maps with ground truth: pass masks"),
    (dict(metrics=[3]), TypeError, "metrics must be a name or a sequence of names; got"),
    (dict(metric_options={"deletion": {}}), ValueError, "no metrics were asked for"),
    (dict(metrics=["deletion"], metric_options={"insertion": {}}), ValueError, r"metric_options names \['insertion'\]"),
])
def test_bad_metrics_fail_before_any_work(seq_model, inputs, tmp_path, monkeypatch, kwargs, error, match):
    import eli5_keras.reporting as reporting

    monkeypatch.setattr(reporting, "explain", lambda *a, **k: pytest.fail("a method ran"))
    with pytest.raises(error, match=match):
        eli5_keras.report(seq_model, inputs, methods=["gradcam"], path=tmp_path / "r.html", **kwargs)
    assert not (tmp_path / "r.html").exists()

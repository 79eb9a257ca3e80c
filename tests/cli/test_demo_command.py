"""``eli5-keras demo``: the README's first command, scored against the true masks."""
import json
import re

import numpy as np
import pytest

import importlib
from eli5_keras.cli import main
from eli5_keras.demo.evaluate import score_methods
from eli5_keras.demo.scenes import make_scenes

from cli_helpers import assert_one_line_error, run_cli


def test_demo_writes_a_report_where_gradcam_points_at_the_objects(tmp_path):
    out = tmp_path / "demo"
    proc = run_cli("demo", "--out", out, "--images", "24", "--methods", "gradcam")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    scores = json.loads((out / "scores.json").read_text())
    assert scores["images"] == 24 and scores["accuracy"] >= 0.9
    gradcam = scores["methods"]["gradcam"]
    assert gradcam["error"] is None
    assert gradcam["pointing_game"] >= 0.8
    assert gradcam["ms_per_image"] > 0
    assert re.search(r"gradcam\s+" + f"{gradcam['pointing_game']:.2f}", proc.stdout)

    page = (out / "index.html").read_text()
    assert "Pointing game" in page and "Grad-CAM" in page and f"{gradcam['pointing_game']:.2f}" in page
    sources = re.findall(r'src="([^"]+)"', page)
    assert len(sources) == 2 * 24  # the outlined scene and one overlay per scene
    assert all((out / source).is_file() for source in sources)
    assert "http" not in page  # self-contained
    assert len(list((out / "scenes").glob("scene_*.png"))) == 24


def test_unknown_method_is_a_usage_error(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--methods", "gradcam,nope"]) == 2
    assert_one_line_error(capsys.readouterr().err, "unknown method 'nope'")
    assert main(["demo", "--out", str(tmp_path), "--images", "0"]) == 2
    assert_one_line_error(capsys.readouterr().err, "--images must be at least 1")


def test_a_failing_method_is_reported_and_the_others_still_run(tmp_path, capsys, monkeypatch):
    # The package attribute eli5_keras.explain is the function; patch the module's.
    module = importlib.import_module("eli5_keras.explain")
    real_explain = module.explain
    calls = []

    def explain(model, inputs, method="gradcam", **kwargs):
        calls.append(method)
        if len(calls) == 1:
            raise RuntimeError("the method broke")
        return real_explain(model, inputs, method=method, **kwargs)

    monkeypatch.setattr(module, "explain", explain)
    status = main(["demo", "--out", str(tmp_path), "--images", "4", "--methods", "gradcam", "gradcam"])
    captured = capsys.readouterr()
    # Listing a method twice runs it once; the first (broken) attempt is reported.
    assert status == 1
    assert "eli5-keras: warning: method gradcam failed on the demo: RuntimeError: the method broke" in captured.err
    assert "failed: RuntimeError: the method broke" in (tmp_path / "index.html").read_text()
    scores = json.loads((tmp_path / "scores.json").read_text())["methods"]["gradcam"]
    assert scores["error"].startswith("RuntimeError") and scores["not_applicable"] is None


def test_score_methods_tells_methods_that_do_not_apply_and_counts_hits(capsys):
    import keras

    images, labels, masks = make_scenes(6, seed=3)
    flat = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Flatten(), keras.layers.Dense(4, activation="softmax")])
    skipped, = score_methods(flat, images, labels, masks, ["gradcam"])
    assert skipped.result is None and skipped.pointing is None and skipped.error is None
    assert skipped.not_applicable.startswith("Could not find a suitable target layer")

    from eli5_keras.demo.model import load_model

    scored, = score_methods(load_model(), images, labels, masks, ["gradcam"])
    peaks = scored.result.maps[:, 0].reshape(6, -1).argmax(axis=1)
    np.testing.assert_array_equal(scored.hits, masks.reshape(6, -1)[np.arange(6), peaks])
    assert scored.pointing == pytest.approx(scored.hits.mean())
    assert scored.ms_per_image == pytest.approx(1e3 * scored.seconds / 6)


def test_a_method_that_does_not_apply_is_noted_without_failing_the_demo(tmp_path, capsys, monkeypatch):
    module = importlib.import_module("eli5_keras.explain")

    def explain(model, inputs, method="gradcam", **kwargs):
        raise ValueError("method 'cam' needs conv -> GlobalAveragePooling -> Dense")

    monkeypatch.setattr(module, "explain", explain)
    assert main(["demo", "--out", str(tmp_path), "--images", "2", "--methods", "gradcam"]) == 0
    captured = capsys.readouterr()
    assert "note: method gradcam does not apply to the demo model: method 'cam' needs conv" in captured.err
    assert re.search(r"gradcam\s+n/a", captured.out)
    assert "not applicable to this model: method &#39;cam&#39; needs conv" in (tmp_path / "index.html").read_text()

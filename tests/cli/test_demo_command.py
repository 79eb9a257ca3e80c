"""``eli5-keras demo``: the README's first command, scored against the true masks."""
import errno
import importlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import eli5_keras
from eli5_keras import metrics

from eli5_keras.cli import main
from eli5_keras.demo.model import load_model
from eli5_keras.demo.scenes import make_scenes, to_bytes

from helpers.cli import assert_one_line_error, run_cli


def test_demo_writes_a_report_where_gradcam_points_at_the_objects(tmp_path):
    out = tmp_path / "demo"
    proc = run_cli("demo", "--out", out, "--images", "24", "--methods", "gradcam")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    scores = json.loads((out / "scores.json").read_text())
    assert scores["images"] == 24 and scores["accuracy"] >= 0.9
    assert scores["metrics"]["randomisation"] == dict(metric="model_parameter_randomisation",
                                                      similarity="spearman_abs", layers=["class_maps"])
    assert scores["metrics"]["deletion"] == dict(metric="deletion", steps=16)
    gradcam = scores["methods"]["gradcam"]
    assert gradcam["error"] is None
    assert gradcam["pointing_game"] >= 0.8
    assert gradcam["ms_per_image"] > 0
    assert re.search(r"gradcam\s+" + f"{gradcam['pointing_game']:.2f}", proc.stdout)
    # deletion / insertion AUC and the randomisation check, as the metrics compute them on their own
    model = load_model()
    scenes, labels, masks = make_scenes(24, seed=2024)
    maps = eli5_keras.explain(model, scenes, method="gradcam", targets=labels).maps
    deletion = metrics.deletion(model, scenes, maps, labels[:, None], steps=16)
    insertion = metrics.insertion(model, scenes, maps, labels[:, None], steps=16)
    check = metrics.model_parameter_randomisation(model, scenes, "gradcam", labels, layers=["class_maps"],
                                                  similarity="spearman_abs")
    assert gradcam["deletion"] == pytest.approx(deletion.mean(), rel=1e-5)
    assert gradcam["insertion"] == pytest.approx(insertion.mean(), rel=1e-5)
    assert gradcam["randomisation"] == pytest.approx(np.nanmean(check.scores["spearman_abs"][-1]), rel=1e-5, abs=1e-6)
    assert gradcam["deletion"] < gradcam["insertion"]  # the map ranks the object first
    row = f"{gradcam['deletion']:.2f}\\s+{gradcam['insertion']:.2f}\\s+{gradcam['randomisation']:.2f}"
    assert re.search(r"gradcam\s+\S+\s+" + row, proc.stdout)
    assert "deletion \u2193" in proc.stdout and "randomisation \u2193" in proc.stdout

    page = (out / "index.html").read_text()
    assert "Pointing game" in page and "Grad-CAM" in page and f"{gradcam['pointing_game']:.2f} (" in page
    assert "insertion \u2191" in page and "model_parameter_randomisation \u2193" in page
    grid = page.split('class="eli5k-grid"')[1]
    assert grid.count("input, mask outlined") == 24  # the report, with the objects outlined
    assert grid.count("maximum inside the mask") == round(24 * gradcam["pointing_game"])
    assert all(src.startswith("data:image/") for src in re.findall(r'src="([^"]+)"', page))  # self-contained
    scenes = sorted((out / "scenes").glob("scene_*.png"))
    assert len(scenes) == 24
    np.testing.assert_array_equal(np.asarray(Image.open(scenes[3])), to_bytes(make_scenes(24, seed=2024)[0][3]))


def test_unknown_method_is_a_usage_error(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--methods", "gradcam,nope"]) == 2
    assert_one_line_error(capsys.readouterr().err, "unknown method 'nope'")
    assert main(["demo", "--out", str(tmp_path), "--images", "0"]) == 2
    assert_one_line_error(capsys.readouterr().err, "--images must be at least 1")


def test_a_failing_method_is_reported_and_the_others_still_run(tmp_path, capsys, monkeypatch):
    module = importlib.import_module("eli5_keras.reporting")
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
    assert "not run: RuntimeError: the method broke" in (tmp_path / "index.html").read_text()
    scores = json.loads((tmp_path / "scores.json").read_text())["methods"]["gradcam"]
    assert scores["error"].startswith("RuntimeError") and scores["not_applicable"] is None


def test_a_method_that_does_not_apply_is_noted_without_failing_the_demo(tmp_path, capsys, monkeypatch):
    module = importlib.import_module("eli5_keras.reporting")

    def explain(model, inputs, method="gradcam", **kwargs):
        raise ValueError("method 'cam' needs conv -> GlobalAveragePooling -> Dense")

    monkeypatch.setattr(module, "explain", explain)
    assert main(["demo", "--out", str(tmp_path), "--images", "2", "--methods", "gradcam"]) == 0
    captured = capsys.readouterr()
    assert "note: method gradcam does not apply to the demo model: method 'cam' needs conv" in captured.err
    assert re.search(r"gradcam\s+n/a", captured.out)
    assert "not run: ValueError: method &#39;cam&#39; needs conv" in (tmp_path / "index.html").read_text()
    scores = json.loads((tmp_path / "scores.json").read_text())["methods"]["gradcam"]
    assert scores["error"] is None and scores["not_applicable"].startswith("method 'cam' needs conv")
    assert scores["deletion"] is None and scores["insertion"] is None and scores["randomisation"] is None


def test_an_out_that_cannot_be_written_is_a_usage_error_before_any_work(tmp_path, capsys, monkeypatch):
    def load_model():
        raise AssertionError("loaded the model before checking --out")

    monkeypatch.setattr(importlib.import_module("eli5_keras.demo.model"), "load_model", load_model)
    (tmp_path / "a_file").write_text("not a folder")
    for out, fragment in [(tmp_path / "a_file" / "out", "Not a directory"), (Path("/proc"), "'/proc'")]:
        assert main(["demo", "--out", str(out), "--images", "2", "--methods", "gradcam"]) == 2
        assert_one_line_error(capsys.readouterr().err, "cannot write to --out", fragment)


def test_a_full_disk_while_writing_the_page_is_one_line(tmp_path, capsys, monkeypatch):
    real_write_text = Path.write_text

    def write_text(path, *args, **kwargs):
        if path.name == "index.html":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    assert main(["demo", "--out", str(tmp_path), "--images", "2", "--methods", "gradcam", "--quiet"]) == 1
    assert_one_line_error(capsys.readouterr().err, "cannot write the demo's outputs", "No space left on device")
    assert len(list((tmp_path / "scenes").iterdir())) == 2


def test_by_default_the_demo_runs_every_method_that_applies_to_its_cnn(tmp_path, monkeypatch):
    from eli5_keras import methods

    asked = []

    class Stop(Exception):
        pass

    def report(model, inputs, methods=None, **kwargs):
        asked.append(methods)
        raise Stop

    monkeypatch.setattr(importlib.import_module("eli5_keras.reporting"), "report", report)
    with pytest.raises(Stop):
        main(["demo", "--out", str(tmp_path), "--images", "1"])
    attention = {"attention_rollout", "transformer_attribution"}  # the demo CNN has no attention layers
    assert asked == [[name for name in methods.available() if name not in attention]]

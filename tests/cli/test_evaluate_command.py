"""``eli5-keras evaluate``: the metrics table as text, JSON and HTML, numbers equal to
eli5_keras.evaluate on the same inputs, masks from a folder or an array, and errors.
One case goes through the console script; the rest call ``main`` in-process."""
import json
import re

import keras
import numpy as np
import pytest
from PIL import Image

import eli5_keras
from eli5_keras.cli import main

from helpers.cli import SIZE, assert_one_line_error, run_cli, save_small_model, write_pngs
from helpers.html_parsing import parse_tags

N = 4
FAST = ["--metric-option", "deletion.steps=4", "--metric-option", "insertion.steps=4"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("evaluate")


@pytest.fixture(scope="module")
def model_path(workdir):
    return save_small_model(workdir)


@pytest.fixture(scope="module")
def model(model_path):
    return keras.models.load_model(model_path)


@pytest.fixture(scope="module")
def images(workdir):
    return write_pngs(workdir / "images", N, seed=5)


@pytest.fixture(scope="module")
def pixels(images):
    """The model's inputs as the command reads the PNGs (pixels times 1/255)."""
    return np.stack([np.asarray(Image.open(p), np.float32) / 255 for p in images])


@pytest.fixture(scope="module")
def masks(workdir):
    """Per input a PNG mask (white square on black) in a folder, and the same as bool."""
    folder = workdir / "masks"
    folder.mkdir()
    array = np.zeros((N, SIZE, SIZE), bool)
    for i in range(N):
        array[i, 2 * i:2 * i + 6, 3:10] = True
        Image.fromarray(array[i].astype(np.uint8) * 255).save(folder / f"img_{i:03d}.png")
    return folder, array


def plain_pointing(maps, masks):
    """Pointing game per input, plainly: is the (first, C-order) maximum inside the mask?"""
    return np.array([float(m.ravel()[int(np.argmax(m.ravel()))] != 0 and k.ravel()[int(np.argmax(m.ravel()))])
                     for m, k in zip(maps, masks)])


def test_text_table_through_the_console_script(model_path, model, images, pixels):
    proc = run_cli("evaluate", model_path, *images, "--methods", "gradcam,saliency", "--metrics", "deletion",
                   "insertion", *FAST)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    want = eli5_keras.evaluate(model, pixels, ["gradcam", "saliency"], ["deletion", "insertion"],
                               metric_options={"deletion": {"steps": 4}, "insertion": {"steps": 4}})
    assert proc.stdout == want.table() + "\n"


def test_json_to_a_file_with_masks_from_a_folder(model_path, model, images, pixels, masks, tmp_path, capsys):
    folder, array = masks
    out = tmp_path / "sub" / "scores.json"
    status = main(["evaluate", str(model_path), str(images[0].parent), "--methods", "gradcam", "--metrics",
                   "pointing_game,relevance_mass_accuracy,deletion", "--masks", str(folder), "--format", "json",
                   "--out", str(out), *FAST[:2]])
    assert status == 0
    assert f"evaluated {N} inputs with 1 method(s) and 3 metric(s) into '{out}'" in capsys.readouterr().err
    got = json.loads(out.read_text())
    assert got["model"] == model.name and got["inputs"] == [f"img_{i:03d}" for i in range(N)]
    want = eli5_keras.evaluate(model, pixels, "gradcam", ["pointing_game", "relevance_mass_accuracy", "deletion"],
                               masks=array, metric_options={"deletion": {"steps": 4}})
    expected = want.to_dict()
    assert {k: got[k] for k in ("methods", "metrics", "higher_is_better", "interval")} == {
        k: expected[k] for k in ("methods", "metrics", "higher_is_better", "interval")}
    for metric, values in expected["scores"]["gradcam"].items():
        np.testing.assert_allclose(got["scores"]["gradcam"][metric], values, rtol=1e-5)
        for key, value in expected["summary"]["gradcam"][metric].items():
            assert got["summary"]["gradcam"][metric][key] == pytest.approx(value, rel=1e-5, abs=1e-9, nan_ok=True)
    maps = eli5_keras.explain(model, pixels, method="gradcam").maps[:, 0]
    np.testing.assert_array_equal(got["scores"]["gradcam"]["pointing_game"], plain_pointing(maps, array))


def test_masks_as_one_array_and_top_k_scores_per_target(model_path, model, pixels, masks, tmp_path, capsys):
    np.save(tmp_path / "x.npy", pixels)
    np.save(tmp_path / "masks.npy", masks[1].astype(np.uint8))
    assert main(["evaluate", str(model_path), str(tmp_path / "x.npy"), "--methods", "saliency", "--metrics",
                 "energy_pointing_game", "sparseness", "--masks", str(tmp_path / "masks.npy"), "--top-k", "2",
                 "--format", "json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["inputs"] == [f"x_{i}" for i in range(N)]
    result = eli5_keras.explain(model, pixels, method="saliency", top_k=2)
    energy = np.asarray(got["scores"]["saliency"]["energy_pointing_game"])
    assert energy.shape == (N, 2)
    positive = np.maximum(result.maps, 0)
    want = (positive * masks[1][:, None]).sum(axis=(2, 3)) / positive.sum(axis=(2, 3))
    np.testing.assert_allclose(energy, want, rtol=1e-5)


def test_html_page_is_self_contained_with_the_summary_and_every_input(model_path, model, images, pixels, tmp_path):
    out = tmp_path / "table.html"
    assert main(["evaluate", str(model_path), *map(str, images), "--methods", "gradcam", "saliency",
                 "--metrics", "sparseness", "complexity", "--format", "html", "--out", str(out), "--quiet"]) == 0
    page = out.read_text(encoding="utf-8")
    want = eli5_keras.evaluate(model, pixels, ["gradcam", "saliency"], ["sparseness", "complexity"])
    for method in ("gradcam", "saliency"):
        s = want.summary[method]["sparseness"]
        assert f"<td class=\"eli5k-metric\">{s.mean:.4f} ± {s.half_width:.4f}</td>" in page
        for i in range(N):
            assert f"{want.scores[method]['complexity'][i]:.4f}" in page
    assert "sparseness \u2191" in page and "complexity \u2193" in page
    assert "Content-Security-Policy" in page and not re.search(r'(src|href)="(?!data:)', page)
    cells = [t for t, _ in parse_tags(page.split("Scores per input")[1]) if t == "tr"]
    assert len(cells) == 2 + N  # two header rows, a row per input


@pytest.mark.parametrize("arguments, fragments", [
    (["--metrics", "deletion,nope"], ["unknown metric 'nope'; known: deletion, insertion"]),
    (["--metrics", "pointing_game"], ["metrics ['pointing_game'] compare maps with ground truth: pass masks"]),
    (["--metric-option", "deletion.steps"], ["--metric-option must be METRIC.KEY=VALUE"]),
    (["--metric-option", "insertion.steps=3", "--metrics", "deletion"], ["names metric 'insertion'", "not among"]),
    (["--metric-option", "deletion.steps=0", "--metrics", "deletion"], ["steps must be"]),
    (["--methods", "nope"], ["unknown method 'nope'"]),
    (["--masks", "missing.npy", "--metrics", "pointing_game"], ["--masks 'missing.npy' does not exist"]),
    (["--top-k", "0"], ["--top-k must be at least 1"]),
])
def test_user_mistakes_exit_2_with_one_line(model_path, images, capsys, monkeypatch, tmp_path, arguments, fragments):
    monkeypatch.chdir(tmp_path)
    base = ["evaluate", str(model_path), str(images[0]), "--methods", "gradcam"]
    assert main(base + arguments) == 2
    assert_one_line_error(capsys.readouterr().err, *fragments)


def test_masks_that_do_not_fit_are_named(model_path, images, masks, tmp_path, capsys):
    folder, array = masks
    base = ["evaluate", str(model_path), *map(str, images), "--methods", "gradcam", "--metrics", "pointing_game"]
    np.save(tmp_path / "three.npy", array[:3])
    assert main(base + ["--masks", str(tmp_path / "three.npy")]) == 2
    assert_one_line_error(capsys.readouterr().err, "has shape (3, 16, 16); expected one mask per input, (4, 16, 16)")
    partial = tmp_path / "partial"
    partial.mkdir()
    np.save(partial / "img_000.npy", array[0])
    np.save(partial / "img_001.npy", array[1, :8])
    assert main(base + ["--masks", str(partial)]) == 2
    assert_one_line_error(capsys.readouterr().err, "mask of input 'img_001' has shape (8, 16)")
    np.save(partial / "img_001.npy", array[1])
    assert main(base + ["--masks", str(partial)]) == 2
    assert_one_line_error(capsys.readouterr().err, "no mask for input 'img_002'", "img_002.png or img_002.npy")


def test_an_out_that_cannot_be_written_is_a_usage_error_before_any_work(model_path, images, tmp_path, capsys,
                                                                         monkeypatch):
    import eli5_keras.cli.evaluate_command as command

    monkeypatch.setattr(eli5_keras, "evaluate", lambda *a, **k: pytest.fail("evaluated before checking --out"))
    (tmp_path / "a_file").write_text("x")
    base = ["evaluate", str(model_path), str(images[0]), "--methods", "gradcam"]
    for out, fragment in [(tmp_path, "is a folder"), (tmp_path / "a_file" / "t.txt", "cannot write to --out")]:
        assert main(base + ["--out", str(out)]) == 2
        assert_one_line_error(capsys.readouterr().err, fragment)
    assert command.EVALUATE_FORMATS == ("text", "json", "html")

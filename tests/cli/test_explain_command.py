"""``eli5-keras explain``: outputs per input, numbers equal to the library's, errors,
resumable runs. Subprocess tests go through the installed console script; the rest call
``main`` in-process (same code, without TensorFlow's start-up per case)."""
import contextlib
import errno
import os
import signal
import subprocess
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import eli5_keras
from eli5_keras.cli import main, outputs

from helpers.cli import (
    NUM_CLASSES,
    SIZE,
    assert_one_line_error,
    cli_env,
    console_script,
    run_cli,
    save_small_model,
    write_pngs,
)
from helpers.models import multi_input_model


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("explain")


@pytest.fixture(scope="module")
def model_path(workdir):
    return save_small_model(workdir)


@pytest.fixture(scope="module")
def model(model_path):
    return keras.models.load_model(model_path, compile=False)


@pytest.fixture(scope="module")
def images(workdir):
    """Three PNGs, one larger than the model's input (resized on loading)."""
    paths = write_pngs(workdir / "images", 2, seed=1)
    rng = np.random.default_rng(2)
    big = workdir / "images" / "large.png"
    Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).save(big)
    return paths + [big]


def model_input(path):
    """What the command line feeds the model for an image file: resized, pixels / 255."""
    image = Image.open(path).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
    return np.asarray(image, np.float32) / 255


def test_png_overlays_one_per_input_through_the_console_script(model_path, model, images, tmp_path):
    out = tmp_path / "out"
    proc = run_cli("explain", model_path, images[0].parent, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{p.stem}.png" for p in images)
    predicted = model.predict(np.stack([model_input(p) for p in images]), verbose=0)
    for path, scores in zip(images, predicted):
        overlay = Image.open(out / f"{path.stem}.png")
        assert overlay.size == (SIZE, SIZE) and overlay.mode == "RGBA"
        assert overlay.text["eli5-keras:target"] == str(int(np.argmax(scores)))
        assert float(overlay.text["eli5-keras:score"]) == pytest.approx(float(np.max(scores)), rel=1e-4)
        assert overlay.text["eli5-keras:method"] == "Grad-CAM"
        assert overlay.text["eli5-keras:layer"] == "conv2"


def test_npy_maps_equal_the_library_explain(model_path, model, images, tmp_path):
    out = tmp_path / "maps"
    assert main(["explain", str(model_path), *map(str, images), "--format", "npy", "--target", "2",
                 "--batch-size", "2", "--out", str(out), "--quiet"]) == 0
    expected = eli5_keras.explain(model, np.stack([model_input(p) for p in images]), targets=2).maps
    for path, maps in zip(images, expected):
        written = np.load(out / f"{path.stem}.npy")
        assert written.shape == (1, SIZE, SIZE) and written.dtype == np.float32
        np.testing.assert_allclose(written, maps, atol=1e-6)


def test_top_k_names_outputs_by_rank_and_html_pages_inline_them(model_path, images, tmp_path):
    assert main(["explain", str(model_path), str(images[0]), "--top-k", "2", "--out", str(tmp_path / "png"), "--quiet"]) == 0
    stem = images[0].stem
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [f"{stem}_top1.png", f"{stem}_top2.png"]
    first, second = (Image.open(tmp_path / "png" / f"{stem}_top{r}.png").text for r in (1, 2))
    assert float(first["eli5-keras:score"]) >= float(second["eli5-keras:score"])
    assert first["eli5-keras:target"] != second["eli5-keras:target"]

    assert main(["explain", str(model_path), str(images[0]), "--top-k", "2", "--format", "html",
                 "--out", str(tmp_path / "html"), "--quiet"]) == 0
    page = (tmp_path / "html" / f"{stem}.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    assert "Grad-CAM" in page and "conv2" in page and f"target <b>{first['eli5-keras:target']}</b>" in page
    assert "http" not in page  # self-contained


def test_npy_inputs_single_and_batched(model_path, model, tmp_path):
    rng = np.random.default_rng(3)
    batch = rng.uniform(0, 1, (3, SIZE, SIZE, 3)).astype(np.float32)
    np.save(tmp_path / "batch.npy", batch)
    np.save(tmp_path / "one.npy", batch[1])
    out = tmp_path / "out"
    assert main(["explain", str(model_path), str(tmp_path / "batch.npy"), str(tmp_path / "one.npy"),
                 "--format", "npy", "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["batch_0.npy", "batch_1.npy", "batch_2.npy", "one.npy"]
    expected = eli5_keras.explain(model, batch).maps
    np.testing.assert_allclose(np.load(out / "batch_1.npy"), expected[1], atol=1e-6)
    np.testing.assert_allclose(np.load(out / "one.npy"), expected[1], atol=1e-6)


def test_volumes_default_to_npy_maps_and_cannot_be_drawn_as_png(tmp_path, capsys):
    keras.utils.set_random_seed(4)
    layers = keras.layers
    volume_model = keras.Sequential([
        keras.Input((6, 8, 10, 1)),
        layers.Conv3D(3, 3, padding="same", activation="relu", name="conv3d"),
        layers.GlobalAveragePooling3D(),
        layers.Dense(2, activation="softmax"),
    ])
    volume_model.save(tmp_path / "volume.keras")
    volumes = np.random.default_rng(0).normal(size=(2, 6, 8, 10, 1)).astype(np.float32)
    np.save(tmp_path / "scans.npy", volumes)
    arguments = ["explain", str(tmp_path / "volume.keras"), str(tmp_path / "scans.npy"), "--quiet"]
    assert main([*arguments, "--out", str(tmp_path / "out")]) == 0
    expected = eli5_keras.explain(volume_model, volumes).maps
    for i in range(2):
        np.testing.assert_allclose(np.load(tmp_path / "out" / f"scans_{i}.npy"), expected[i], atol=1e-6)
    assert main([*arguments, "--format", "png"]) == 2
    assert_one_line_error(capsys.readouterr().err, "--format png draws maps over 2-D images", "--format npy")


def test_keras_applications_name_with_random_weights(tmp_path):
    write_pngs(tmp_path / "in", 1, size=(50, 60))
    out = tmp_path / "out"
    assert main(["explain", "mobilenet_v3_small", str(tmp_path / "in"), "--weights", "none",
                 "--out", str(out), "--quiet"]) == 0
    overlay = Image.open(out / "img_000.png")
    assert overlay.size == (224, 224)
    assert int(overlay.text["eli5-keras:target"]) in range(1000)


def bad_inputs(folder, model_path):
    """(arguments, fragments of the expected message) for user mistakes."""
    write_pngs(folder / "ok", 1)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    (folder / "notes.txt").write_text("hello")
    (folder / "empty").mkdir()
    np.save(folder / "wrong.npy", np.zeros((SIZE, SIZE + 1, 3), np.float32))
    multi_input_model().save(folder / "multi.keras")
    ok, m = str(folder / "ok" / "img_000.png"), str(model_path)
    return [
        ([str(folder / "multi.keras"), ok, "--engine", "ray"],
         ["has 2 inputs", "each input file is one example of one input", "one column per input"]),
        ([m, str(folder / "missing.png")], ["missing.png", "does not exist"]),
        ([m, str(folder / "broken.png")], ["cannot read image", "broken.png"]),
        ([m, str(folder / "notes.txt")], ["not a PNG/JPEG image, a .npy array or a NIfTI volume"]),
        ([m, str(folder / "empty")], ["holds no"]),
        ([m, ok, "--method", "nope"], ["unknown method 'nope'", "gradcam"]),
        ([m, ok, "--layer", "nope"], ["No such layer: 'nope'"]),
        ([m, ok, "--layer", "dense"], ["no spatial axes"]),
        ([m, str(folder / "wrong.npy")], ["shape (16, 17, 3)", "(16, 16, 3)"]),
        ([m, ok, "--target", "7"], ["--target 7 is out of range", f"{NUM_CLASSES} classes"]),
        ([m, ok, "--target", "cat"], ["not a class index"]),
        ([m, ok, "--top-k", "5"], ["--top-k 5 exceeds"]),
        ([m, ok, "--batch-size", "0"], ["--batch-size must be at least 1"]),
        ([m, ok, "--weights", "none"], ["--weights applies to keras.applications"]),
        ([str(folder / "nothing.keras"), ok], ["is not a file, a SavedModel folder"]),
        ([str(folder / "notes.txt"), ok], ["is not a .keras/.h5/.hdf5 file"]),
        ([str(folder), ok], ["is not a SavedModel"]),
        (["resnet50", ok], ["resnet50 needs weights", "--weights imagenet", "--weights none"]),
        (["resnet50", ok, "--weights", str(folder / "nope.h5")], ["not 'imagenet', 'none' or an existing weights file"]),
    ]


def test_user_mistakes_exit_2_with_one_line(model_path, tmp_path, capsys):
    for arguments, fragments in bad_inputs(tmp_path, model_path):
        status = main(["explain", *arguments, "--out", str(tmp_path / "out")])
        captured = capsys.readouterr()
        assert status == 2, (arguments, captured.err)
        assert_one_line_error(captured.err, *fragments)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_savedmodel_loads_and_layer_methods_say_why_they_cannot_see_inside(model, images, tmp_path, capsys):
    model.export(str(tmp_path / "exported"), verbose=False)
    status = main(["explain", str(tmp_path / "exported"), str(images[0]), "--out", str(tmp_path / "out")])
    assert status == 2
    assert_one_line_error(capsys.readouterr().err, "no layer has a spatial output", "SavedModel is one opaque layer")


def test_a_usage_error_through_the_console_script_is_one_line(model_path, images):
    # The other mistakes are checked in-process above; this one runs the installed script,
    # TensorFlow start-up included, to show nothing else reaches stderr.
    proc = run_cli("explain", model_path, images[0], "--method", "nope")
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc.stderr, "unknown method 'nope'")


@pytest.mark.parametrize(
    "arguments, fragment",
    [
        (["explain", "m.keras"], "the following arguments are required: INPUT"),
        (["explain", "m.keras", "x.png", "--format", "gif"], "invalid choice: 'gif'"),
        (["explain", "m.keras", "x.png", "--batch-size", "many"], "invalid int value: 'many'"),
        (["explain", "m.keras", "x.png", "--rescale", "1/0"], "invalid factor '1/0'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_argument_errors_are_one_line_too(arguments, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    assert_one_line_error(capsys.readouterr().err, fragment, "--help")


def test_offline_imagenet_download_fails_fast_with_a_hint(images, tmp_path):
    # A proxy on a closed local port makes the download fail at once, without network.
    env = cli_env(KERAS_HOME=str(tmp_path / "keras"), HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9",
                  https_proxy="http://127.0.0.1:9", http_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    start = time.perf_counter()
    proc = run_cli("explain", "mobilenet_v3_small", images[0], "--weights", "imagenet", "--out", tmp_path / "out", env=env)
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc.stderr, "could not download the ImageNet weights of mobilenet_v3_small", "--weights FILE")
    assert time.perf_counter() - start < 120


def test_interrupted_then_resumed_run_writes_the_same_files(model_path, tmp_path, capsys):
    inputs = tmp_path / "inputs"
    write_pngs(inputs, 300, seed=5)
    common = ["explain", str(model_path), str(inputs), "--format", "npy", "--batch-size", "1"]

    # Ctrl-C a run through the console script once it has written a few outputs.
    partial = tmp_path / "partial"
    process = subprocess.Popen([console_script(), *common, "--out", str(partial)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        if partial.is_dir() and len(list(partial.glob("*.npy"))) >= 3:
            process.send_signal(signal.SIGINT)
            break
        time.sleep(0.01)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "interrupted after" in stderr and "--resume" in stderr and "Traceback" not in stderr
    done = {p.name: p.stat().st_mtime_ns for p in partial.iterdir()}
    assert 3 <= len(done) < 300
    assert all(name.endswith(".npy") for name in done)  # no partial files left behind

    assert main([*common, "--out", str(partial), "--resume"]) == 0
    assert f"({len(done)} already done, skipped)" in capsys.readouterr().err
    assert all((partial / name).stat().st_mtime_ns == mtime for name, mtime in done.items())

    full = tmp_path / "full"
    assert main([*common, "--out", str(full), "--quiet"]) == 0
    assert sorted(p.name for p in partial.iterdir()) == sorted(p.name for p in full.iterdir())
    for path in full.iterdir():
        assert (partial / path.name).read_bytes() == path.read_bytes(), path.name


def unwritable_outs(tmp_path):
    """``--out`` values that even root cannot write: a path through a regular file, a
    folder of a filesystem that holds no files, an existing file."""
    (tmp_path / "a_file").write_text("not a folder")
    return [
        (tmp_path / "a_file" / "out", "cannot write to --out", "Not a directory"),
        (Path("/proc"), "cannot write to --out '/proc'"),
        (tmp_path / "a_file", "exists and is not a folder"),
    ]


def test_an_out_that_cannot_be_written_is_a_usage_error_before_any_work(model_path, images, tmp_path, capsys,
                                                                         monkeypatch):
    def explain(*args, **kwargs):
        raise AssertionError("explained before checking --out")

    monkeypatch.setattr(eli5_keras, "explain", explain)
    for out, *fragments in unwritable_outs(tmp_path):
        status = main(["explain", str(model_path), str(images[0]), "--out", str(out)])
        assert status == 2, out
        assert_one_line_error(capsys.readouterr().err, *fragments)


def test_an_unwritable_out_through_the_console_script_is_one_line(model_path, images, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    proc = run_cli("explain", model_path, images[0], "--out", tmp_path / "a_file" / "out")
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc.stderr, "cannot write to --out", "Not a directory")


def test_a_full_disk_mid_run_is_one_line_and_resume_finishes(model_path, images, tmp_path, capsys, monkeypatch):
    # top-2 PNGs: the disk fills up on the second file of the first input, halfway through it
    real_open = outputs.atomic_open
    opened = []

    @contextlib.contextmanager
    def atomic_open(path):
        opened.append(path.name)
        with real_open(path) as handle:
            if len(opened) == 2:
                handle.write(b"half a PNG")
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            yield handle

    common = ["explain", str(model_path), *map(str, images), "--top-k", "2", "--batch-size", "3"]
    out = tmp_path / "out"
    monkeypatch.setattr(outputs, "atomic_open", atomic_open)
    assert main([*common, "--out", str(out), "--quiet"]) == 1
    assert_one_line_error(capsys.readouterr().err, "No space left on device", "--resume",
                          f"the outputs of {images[0].stem!r}", "the 0 inputs finished in this run are kept")
    assert [p.name for p in out.iterdir()] == [opened[0]]  # no partial file, the finished one kept
    monkeypatch.setattr(outputs, "atomic_open", real_open)

    # the first input's set is incomplete, so --resume redoes it: same files as a clean run
    assert main([*common, "--out", str(out), "--resume"]) == 0
    assert "explained 3 inputs" in capsys.readouterr().err
    full = tmp_path / "full"
    assert main([*common, "--out", str(full), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in full.iterdir())
    for path in full.iterdir():
        assert (out / path.name).read_bytes() == path.read_bytes(), path.name


def test_empty_maps_are_said_on_stderr_and_in_the_png_text(tmp_path, capsys):
    from helpers.models import NEGATIVE_CLASS, negative_evidence_model

    path = tmp_path / "negative.keras"
    negative_evidence_model().save(path)
    pngs = write_pngs(tmp_path / "in", 2, seed=5)
    assert main(["explain", str(path), *map(str, pngs), "--target", str(NEGATIVE_CLASS),
                 "--out", str(tmp_path / "out"), "--quiet"]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[:2] == [f"eli5-keras: warning: {p.stem}: target 1: empty map (constant, so it shows nothing)"
                         for p in pngs]
    assert "2 empty maps" in lines[2] and "relu=False" in lines[2] and "counterfactual=True" in lines[2]
    assert len(lines) == 3
    for p in pngs:
        assert Image.open(tmp_path / "out" / f"{p.stem}.png").text["eli5-keras:empty"] == "true"
    assert main(["explain", str(path), str(pngs[0]), "--target", "0", "--out", str(tmp_path / "zero"), "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    assert Image.open(tmp_path / "zero" / f"{pngs[0].stem}.png").text["eli5-keras:empty"] == "false"

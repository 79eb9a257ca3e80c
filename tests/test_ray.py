"""``eli5_keras.ray`` on a real local Ray runtime (``ray.init(num_cpus=2)``, one for this
module): maps equal to single-process ``explain()`` in the dataset's order, a worker
process killed mid-run replaced with every item written exactly once, bad items named
(or skipped and listed), a stopped run resumed without recomputing finished batches,
``read_images``' column beside a user's column feeding a two-input model, Parquet
output, and ``eli5-keras explain --engine ray --address`` (a new process joining the
module's runtime, reading images and a batch ``.npy``).

The workers load the model from a file saved in a tmp folder; they import this checkout
(``PYTHONPATH``, restored afterwards), and the small functions they call from this module
are pickled by value."""
import functools
import os
import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
import ray
from PIL import Image

import eli5_keras
from eli5_keras.cli.main import main
from eli5_keras.datasets import open_store
from eli5_keras.explain import get_explainer
from eli5_keras.ray import INDEX, BatchExplainer, explain_dataset, write_batches

from helpers.cli import SIZE, run_cli, save_small_model, write_pngs

ROOT = Path(__file__).resolve().parents[1]
TOL = 1e-6


@pytest.fixture(scope="module")
def runtime():
    """One local Ray runtime for the module; environment and pickling registry restored."""
    saved = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [saved.get("PYTHONPATH")] if p])
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # Ray starts its workers at niceness 15: on CI's two cores, beside the other pytest-xdist
    # process, they would wait behind it for minutes
    os.environ["RAY_worker_niceness"] = "0"
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    return save_small_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="module")
def model(model_path):
    return keras.saving.load_model(model_path, compile=False)


def inputs(n, seed=0):
    return np.random.default_rng(seed).uniform(0, 1, (n, SIZE, SIZE, 3)).astype(np.float32)


def assert_store_equals(store, expected):
    np.testing.assert_allclose(store.maps[:], expected.maps, atol=TOL)
    np.testing.assert_array_equal(store.targets[:], expected.targets)
    np.testing.assert_allclose(store.scores[:], expected.scores, atol=TOL)
    np.testing.assert_array_equal(store.empty[:], expected.empty)


def test_equal_to_explain_in_order(runtime, model_path, model, tmp_path):
    """Two workers, six blocks, per-row classes from a column: the store holds explain()'s
    numbers row for row; the user's dataset context is left as it was."""
    x = inputs(24)
    labels = np.arange(24) % 3
    ds = ray.data.from_items([dict(image=x[i], label=labels[i], name=f"x{i}") for i in range(24)],
                             override_num_blocks=6)
    store = explain_dataset(ds, model_path, out=tmp_path / "maps.zarr", targets="label", workers=2, batch_size=4,
                            ids="name", progress=False)
    assert_store_equals(store, eli5_keras.explain(model, x, targets=labels))
    assert store.complete and store.skipped == [] and store.run.explained == 24
    assert ds.context.execution_options.preserve_order is False
    assert ray.data.DataContext.get_current().execution_options.preserve_order is False


def _record(folder, array):
    """Preprocess of the killed-worker test: counts items per worker process, slowly."""
    with open(Path(folder) / str(os.getpid()), "a") as handle:
        handle.write("x\n")
    time.sleep(0.05)
    return array


def _kill_when_busy(folder, killed, items=4, timeout=120):
    """SIGKILL the first worker that has preprocessed ``items`` inputs."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for path in Path(folder).iterdir():
            if len(path.read_text().splitlines()) >= items:
                killed.append(int(path.name))
                os.kill(int(path.name), signal.SIGKILL)
                return
        time.sleep(0.02)


def test_killed_worker_is_replaced(runtime, model_path, model, tmp_path):
    """A worker killed mid-run (after a few items, with most still to do) is restarted by
    Ray and its batches retried: every item is written exactly once, equal to explain()."""
    x = inputs(24, seed=1)
    folder = tmp_path / "calls"
    folder.mkdir()
    killed = []
    killer = threading.Thread(target=_kill_when_busy, args=(folder, killed))
    killer.start()
    ds = ray.data.from_numpy(np.array_split(x, 6))
    try:
        store = explain_dataset(ds, model_path, out=tmp_path / "maps.zarr", column="data", workers=2, batch_size=2,
                                preprocess=functools.partial(_record, str(folder)), progress=False)
    finally:
        killer.join()
    assert killed, "no worker was killed"
    processes = {int(p.name): len(p.read_text().splitlines()) for p in folder.iterdir()}
    assert len(processes) >= 3, processes  # the two first workers and the replacement
    assert sum(processes.values()) >= 24
    assert len(store) == 24 and store.finished().all()
    assert_store_equals(store, eli5_keras.explain(model, x))


def test_bad_item_raises_naming_it_and_resume_skips_done_batches(runtime, model_path, model, tmp_path):
    """A bad item stops the run with an error naming it, the batches before it written; the
    same call on the fixed data sends only the rows of unfinished batches to the workers
    (counted by a recording preprocess) and completes the store equal to explain(); a
    call with other arguments is refused naming the difference, before any work."""
    x = inputs(8, seed=2)
    bad = list(x)
    bad[6] = x[6][:8, :8]
    out = tmp_path / "maps.zarr"
    run = functools.partial(explain_dataset, model=model_path, out=out, batch_size=2, ids="name", progress=False,
                            workers=1)
    with pytest.raises(ValueError, match=r"input 6 of the dataset: item 'b6' has shape \(8, 8, 3\); the model "
                                         r"takes inputs of shape \(16, 16, 3\)"):
        run(ray.data.from_items([dict(image=a, name=f"b{i}") for i, a in enumerate(bad)]))
    assert list(eli5_keras.open_results(out).done[:]) == [True, True, True]
    fixed = ray.data.from_items([dict(image=a, name=f"b{i}") for i, a in enumerate(x)], override_num_blocks=3)
    with pytest.raises(ValueError, match=r"holds explanations made with targets='top' \(now 1\)"):
        run(fixed, targets=1)
    folder = tmp_path / "calls"
    folder.mkdir()
    store = run(fixed, preprocess=functools.partial(_record, str(folder)))
    assert sum(len(p.read_text().splitlines()) for p in folder.iterdir()) == 2  # rows 6 and 7 only
    assert (store.run.explained, store.run.skipped, store.complete) == (2, 6, True)
    assert_store_equals(store, eli5_keras.explain(model, x))


def test_corrupt_image_skipped_and_listed(runtime, model_path, model, tmp_path):
    """Files read by the workers: a file that is no image gets a zero map flagged empty and
    is listed in store.skipped; the others equal explain() on pixels / 255."""
    paths = write_pngs(tmp_path / "images", 5)
    bad = tmp_path / "images" / "img_002.png"
    bad.write_bytes(b"not a png")
    ds = ray.data.from_items([dict(path=str(p)) for p in paths])
    store = explain_dataset(ds, model_path, out=tmp_path / "maps.zarr", column="path", batch_size=2,
                            on_error="skip", progress=False, workers=1)
    assert [(s["index"], "cannot read image" in s["error"], str(bad) in s["error"]) for s in store.skipped] == [
        (2, True, True)]
    good = [0, 1, 3, 4]
    pixels = np.stack([np.asarray(Image.open(paths[i]).convert("RGB"), np.float32) / 255 for i in good])
    expected = eli5_keras.explain(model, pixels)
    np.testing.assert_allclose(store.maps[good], expected.maps, atol=TOL)
    np.testing.assert_array_equal(store.targets[good], expected.targets)
    assert not store.maps[2].any() and store.empty[2].all()


def _with_vectors(batch, vectors):
    """A ``vector`` column beside read_images' columns: each file's own vector, by name."""
    batch["vector"] = np.stack([vectors[Path(path).name] for path in batch["path"]])
    return batch


def test_read_images_two_columns(runtime, multi_input_model, tmp_path):
    """read_images' ``image`` column (uint8 (H, W, C) as Ray decodes it: pixels / 255 by
    default) and a column named by the user feed a two-input model: the store equals
    explain() on the same files read by PIL, in the files' sorted order."""
    size = multi_input_model.inputs[0].shape[1:3]
    paths = write_pngs(tmp_path / "images", 5, seed=6, size=tuple(size))
    model_file = tmp_path / "multi.keras"
    multi_input_model.save(model_file)
    vectors = {p.name: np.random.default_rng(i).normal(size=4).astype(np.float32) for i, p in enumerate(paths)}
    ds = ray.data.read_images(str(tmp_path / "images"), mode="RGB", include_paths=True)
    ds = ds.map_batches(_with_vectors, fn_kwargs=dict(vectors=vectors), batch_format="numpy")
    store = explain_dataset(ds, model_file, out=tmp_path / "maps.zarr", column=["image", "vector"], ids="path",
                            batch_size=2, progress=False)
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) / 255 for p in paths])
    expected = eli5_keras.explain(multi_input_model, [pixels, np.stack([vectors[p.name] for p in paths])])
    assert_store_equals(store, expected)
    assert store.run.explained == 5


def test_parquet(runtime, model_path, model, tmp_path):
    """Parquet rows (any order) keyed by the ids column hold explain()'s maps."""
    x = inputs(6, seed=3)
    ds = ray.data.from_items([dict(image=x[i], name=i) for i in range(6)])
    out = explain_dataset(ds, model_path, out=tmp_path / "maps.parquet", batch_size=4, ids="name")
    table = pd.read_parquet(out).sort_values("name")
    expected = eli5_keras.explain(model, x)
    maps = np.stack([np.asarray(m, np.float32).reshape(expected.maps.shape[1:]) for m in table["maps"]])
    np.testing.assert_allclose(maps, expected.maps, atol=TOL)
    assert list(table["error"]) == [""] * 6


def test_cli_engine_ray_address(runtime, model_path, model, tmp_path, capsys):
    """``eli5-keras explain --engine ray --address ADDRESS`` in a new process joins the
    running runtime (its driver is listed in the runtime's jobs) and leaves it running;
    the workers read the PNGs and the rows of a batch ``.npy`` file, and the store equals
    explain() on pixels / 255 and the rows as they are. Ray's options without
    --engine ray are refused."""
    paths = write_pngs(tmp_path / "images", 3, seed=4)
    rows = inputs(2, seed=7)
    np.save(tmp_path / "batch.npy", rows)
    out = tmp_path / "maps.zarr"
    jobs = len(ray._private.state.jobs())  # no public listing without the dashboard
    done = run_cli("explain", model_path, tmp_path / "images", tmp_path / "batch.npy", "--out", out, "--engine",
                   "ray", "--address", runtime, "--workers", "1", "--batch-size", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    assert len(ray._private.state.jobs()) == jobs + 1
    assert ray.get(ray.put(1)) == 1 and ray.cluster_resources()["CPU"] == 2  # still up, still ours
    pixels = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) / 255 for p in paths])
    assert_store_equals(eli5_keras.open_results(out), eli5_keras.explain(model, np.concatenate([pixels, rows])))
    for args, message in ((["--workers", "2"], "--workers sets up --engine ray"),
                          (["--engine", "ray", "--out", str(tmp_path / "folder")], "--out must end in .zarr")):
        assert main(["explain", str(model_path), str(paths[0]), *args]) == 2
        assert message in capsys.readouterr().err


# -- the callable class in this process (no Ray runtime) ---------------------------------


def test_batch_explainer_in_process(model_path, model, tmp_path):
    """Called directly: uint8 pixels become pixels / 255, outputs keyed as documented,
    a bad item named by its id; a live model, a missing column are refused."""
    explainer = BatchExplainer(model_path, batch_size=3)
    pixels = np.random.default_rng(5).integers(0, 256, (3, SIZE, SIZE, 3), dtype=np.uint8)
    out = explainer({"image": pixels})
    expected = eli5_keras.explain(model, pixels / np.float32(255))
    np.testing.assert_allclose(out["maps"], expected.maps, atol=TOL)
    assert list(out["error"]) == ["", "", ""]
    batch = {"image": np.array([pixels[0], pixels[1, :4]], dtype=object), "id": np.array(["a", "b"])}
    with pytest.raises(ValueError, match=r"item 'b' has shape \(4, 16, 3\)"):
        BatchExplainer(model_path, ids="id")(batch)
    with pytest.raises(ValueError, match="column 'pixels' is not in the dataset's batches, which have \\['image'\\]"):
        BatchExplainer(model_path, column="pixels")({"image": pixels})
    with pytest.raises(TypeError, match="got a live keras.Model"):
        BatchExplainer(model)
    np.save(tmp_path / "batch.npy", pixels / np.float32(255))  # .npy rows go to the model as they are
    rows = BatchExplainer(model_path, column="path", rows="row", on_error="skip")(
        {"path": np.array([str(tmp_path / "batch.npy")] * 2), "row": np.array([2, 3])})
    np.testing.assert_allclose(rows["maps"][0], expected.maps[2], atol=TOL)
    assert not np.allclose(expected.maps[2], expected.maps[:2], atol=1e-3)  # the row is the one asked for
    assert list(rows["error"]) == ["", f"item {str(tmp_path / 'batch.npy')!r} has no row 3"]
    # Keras numbers layer names per process: input_layer_153 after other tests
    with pytest.raises(ValueError, match=r"column must name one column per model input: model 'small_cnn' has 1 "
                                         r"inputs \['input_layer(_\d+)?'\]; got 2 columns \['a', 'b'\]"):
        BatchExplainer(model_path, column=["a", "b"])
    with pytest.raises(ValueError, match=r"preprocess as a dict maps columns \['image'\] to functions; got keys "
                                         r"\['pixels'\] \(\['pixels'\] not among the columns\)"):
        BatchExplainer(model_path, preprocess={"pixels": np.sqrt})
    with pytest.raises(ValueError, match="on_error must be one of 'raise', 'skip'; got 'ignore'"):
        BatchExplainer(model_path, on_error="ignore")
    with pytest.raises(TypeError, match="got a live keras.Model"):
        explain_dataset([], model, out="maps.zarr")
    with pytest.raises(ValueError, match="model 'missing.keras' does not exist"):
        explain_dataset([], "missing.keras", out="maps.zarr")
    with pytest.raises(TypeError, match="ds must be a ray.data.Dataset; got list"):
        explain_dataset([], model_path, out="maps.zarr")
    with pytest.raises(ValueError, match=r"workers must be an int >= 1; got 0"):
        explain_dataset([], model_path, out="maps.zarr", workers=0)


def _objects(arrays):
    """A column of arrays of any shapes, as Ray gives ragged items (an object array)."""
    column = np.empty(len(arrays), object)
    for i, array in enumerate(arrays):
        column[i] = array
    return column


def test_skipped_items_of_finished_batches_survive_a_resume(model_path, model, tmp_path):
    """The driver's writer, fed BatchExplainer's batches in this process: a run stopped
    after two batches keeps the item it skipped in the store; the resumed run, given the
    rows of the last batch numbered by INDEX, lists it too, and writes only that batch."""
    x = inputs(6, seed=8)
    items = list(x)
    items[1] = x[1][:4]
    explainer = BatchExplainer(model_path, on_error="skip")
    batches = [dict(explainer({"image": _objects(items[i:i + 2])}), **{INDEX: np.arange(i, i + 2)})
               for i in (0, 2, 4)]
    out = str(tmp_path / "maps.zarr")

    def writer(resume):
        # one batch per chunk: each is written as it comes (a stopped run loses a chunk still gathering)
        return open_store(out, model, get_explainer(model, "gradcam"), None, None, None, None, 0, 2, resume, None,
                          chunk_size=2)

    def stopped():
        yield from batches[:2]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_batches(stopped(), writer(False), get_explainer(model, "gradcam"), progress=False, on_error="skip")
    resumed = writer(True)
    assert resumed.done_batches() == {0, 1} and not resumed.complete
    store = write_batches(batches[2:], resumed, get_explainer(model, "gradcam"), length=6, progress=False,
                          on_error="skip")
    assert [(s["index"], "has shape (4, 16, 3)" in s["error"]) for s in store.skipped] == [(1, True)]
    assert (store.run.explained, store.run.skipped, store.complete) == (2, 4, True)
    good = [0, 2, 3, 4, 5]
    np.testing.assert_allclose(store.maps[good], eli5_keras.explain(model, x[good]).maps, atol=TOL)
    assert store.empty[1].all() and not store.maps[1].any()

"""``explain_dataset`` into a Zarr store and ``open_results``: every source (numpy array,
memory map, tf.data batched or not, files), numbers equal to ``explain()`` on the same
arrays, a store plain ``zarr`` reads, interrupted runs resumed without recomputing, stores
of other arguments refused, and the command line's ``--out maps.zarr``."""
import os
import signal
import subprocess
import sys
import time
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf
import zarr
from PIL import Image

import eli5_keras
from eli5_keras import Explainer
from eli5_keras.cli.main import main

from helpers.cli import cli_env, save_small_model, write_pngs
from helpers.data import NUM_CLASSES, images
from helpers.models import NEGATIVE_CLASS, seq_model

N = 10
BATCH = 4
TOL = 1e-6
EXPLAIN_BATCH = Explainer._explain


@pytest.fixture(scope="module")
def x():
    return images(N, seed=5)


def assert_store_equals(store, expected):
    """The store's arrays are ``expected``'s (an ExplanationBatch) within 1e-6."""
    assert len(store) == len(expected)
    np.testing.assert_allclose(store.maps[:], expected.maps, atol=TOL)
    np.testing.assert_array_equal(store.targets[:], expected.targets)
    np.testing.assert_allclose(store.scores[:], expected.scores, atol=TOL)
    np.testing.assert_array_equal(store.empty[:], expected.empty)
    assert sorted(store.extras) == sorted(expected.extras)
    for name, values in expected.extras.items():
        np.testing.assert_allclose(store.extras[name][:], values, atol=TOL)


def assert_same_stores(path, other):
    first, second = zarr.open_group(str(path), mode="r"), zarr.open_group(str(other), mode="r")
    assert sorted(first.array_keys()) == sorted(second.array_keys())
    for name in first.array_keys():
        np.testing.assert_allclose(first[name][:], second[name][:], atol=TOL)
    assert dict(first.attrs) == dict(second.attrs)


class CountingExplainer:
    """Counts calls of ``Explainer._explain`` (each one batch) and fails the call after
    ``fail_after`` of them, as an interrupted run would."""

    def __init__(self, monkeypatch, fail_after=None):
        self.calls = 0
        self.fail_after = fail_after
        original = EXPLAIN_BATCH

        def counted(explainer, *args, **kwargs):
            if self.fail_after is not None and self.calls >= self.fail_after:
                raise RuntimeError("interrupted")
            self.calls += 1
            return original(explainer, *args, **kwargs)

        monkeypatch.setattr(Explainer, "_explain", counted)


# -- sources -----------------------------------------------------------------------------


@pytest.mark.parametrize("chunk_size, chunk", [(None, 3 * BATCH), (BATCH, BATCH), (2 * BATCH, 2 * BATCH)])
def test_an_array_store_equals_explain(seq_model, x, tmp_path, chunk_size, chunk):
    """Chunks hold whole batches: by default as many as keep a chunk of maps within
    CHUNK_BYTES (these tiny maps: all the data's 3 batches), or ``chunk_size`` inputs."""
    store = eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "maps.zarr", top_k=2, batch_size=BATCH,
                                       progress=False, chunk_size=chunk_size)
    expected = eli5_keras.explain(seq_model, x, top_k=2)
    assert_store_equals(store, expected)
    assert store.complete and store.run == eli5_keras.datasets.RunSummary(N, 0, False)
    assert store.maps.shape == (N, 2, 12, 12) and store.maps.chunks == (chunk, 2, 12, 12)
    assert store.targets.chunks == (chunk, 2) and store.chunk_size == chunk
    assert store.done[:].tolist() == [True, True, True]  # one entry per batch
    attrs = store.attrs
    assert (attrs["method"], attrs["layer"], attrs["model"], attrs["top_k"]) == ("gradcam", "conv2", "seq_model", 2)
    assert attrs["version"] == eli5_keras.__version__ and attrs["options"]["relu"] is True


def test_store_items_are_the_explanations_of_explain(seq_model, x, tmp_path):
    store = eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "maps.zarr", top_k=2, batch_size=BATCH,
                                       progress=False, target_names=[f"c{i}" for i in range(NUM_CLASSES)])
    expected = eli5_keras.explain(seq_model, x, top_k=2, target_names=[f"c{i}" for i in range(NUM_CLASSES)])
    for i in (0, 5, -1):
        got, want = store[i], expected[i]
        assert isinstance(got, eli5_keras.Explanation)
        assert [t.target for t in got.targets] == [t.target for t in want.targets]
        for g, w in zip(got.targets, want.targets):
            np.testing.assert_allclose(g.heatmap, w.heatmap, atol=TOL)
            assert g.score == pytest.approx(w.score, abs=TOL) and g.proba == pytest.approx(w.proba, abs=TOL)
        assert (got.method, got.layer, got.normalization) == (want.method, want.layer, want.normalization)
    part = store[3:7]
    assert isinstance(part, eli5_keras.ExplanationBatch)
    np.testing.assert_allclose(part.maps, expected.maps[3:7], atol=TOL)
    with pytest.raises(IndexError):
        store[N]


def test_slicing_reads_only_the_chunks_it_needs(seq_model, x, tmp_path):
    out = tmp_path / "maps.zarr"
    eli5_keras.explain_dataset(seq_model, x, out=out, batch_size=BATCH, progress=False, chunk_size=BATCH)
    for chunk in (out / "maps" / "c").iterdir():
        if chunk.name != "1":
            for path in chunk.rglob("*"):
                if path.is_file():
                    path.write_bytes(b"not a chunk")  # any read of these would fail to decode
    store = eli5_keras.open_results(out)
    assert store[5].targets[0].heatmap.shape == (12, 12)  # rows 4..7: chunk 1 only
    with pytest.raises(Exception):
        store.maps[0]


def test_a_memory_map_is_explained_like_the_array(seq_model, x, tmp_path):
    path = tmp_path / "inputs.dat"
    mapped = np.memmap(path, dtype=np.float32, mode="w+", shape=x.shape)
    mapped[:] = x
    mapped.flush()
    data = np.memmap(path, dtype=np.float32, mode="r", shape=x.shape)
    store = eli5_keras.explain_dataset(seq_model, data, "hirescam", out=tmp_path / "maps.zarr", batch_size=BATCH,
                                       progress=False)
    assert_store_equals(store, eli5_keras.explain(seq_model, x, method="hirescam"))


def test_extras_of_a_method_are_stored(seq_model, x, tmp_path):
    store = eli5_keras.explain_dataset(seq_model, x[:5], "integrated_gradients", out=tmp_path / "maps.zarr",
                                       batch_size=BATCH, progress=False, steps=4)
    expected = eli5_keras.explain(seq_model, x[:5], method="integrated_gradients", steps=4)
    assert "completeness_gap" in store.extras
    assert_store_equals(store, expected)
    assert store.attrs["options"]["steps"] == 4 and store.attrs["options"]["normalize"] is False


@pytest.mark.parametrize("batched", [False, True], ids=["unbatched", "batched"])
def test_a_tf_dataset_with_labels(seq_model, x, tmp_path, batched):
    labels = np.arange(N) % NUM_CLASSES
    data = tf.data.Dataset.from_tensor_slices((x, labels, np.ones(N, np.float32)))  # (x, y, w)
    if batched:
        data = data.batch(3)  # another size than the store's chunks
    store = eli5_keras.explain_dataset(seq_model, data, out=tmp_path / "maps.zarr", targets="label",
                                       batch_size=BATCH, progress=False, chunk_size=2 * BATCH)
    assert_store_equals(store, eli5_keras.explain(seq_model, x, targets=labels))
    assert store.maps.chunks[0] == 2 * BATCH
    # unbatched: the length is known up front; batched: unknown, the arrays grew per batch
    assert store.attrs["length"] == (None if batched else N)


def test_one_hot_labels_and_plain_elements(seq_model, x, tmp_path):
    labels = np.arange(N) % NUM_CLASSES
    one_hot = np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    data = tf.data.Dataset.from_tensor_slices((x, one_hot)).batch(4)
    store = eli5_keras.explain_dataset(seq_model, data, out=tmp_path / "a.zarr", targets="label",
                                       batch_size=BATCH, progress=False)
    assert_store_equals(store, eli5_keras.explain(seq_model, x, targets=labels))
    plain = tf.data.Dataset.from_tensor_slices(x)  # elements are x alone
    store = eli5_keras.explain_dataset(seq_model, plain, out=tmp_path / "b.zarr", targets=2, batch_size=BATCH,
                                       progress=False)
    assert_store_equals(store, eli5_keras.explain(seq_model, x, targets=2))


def test_a_generator_dataset_is_read_in_batches_as_it_goes(seq_model, x, tmp_path, monkeypatch):
    pulled = []

    def generate():
        for row in x:
            pulled.append(1)
            yield row

    data = tf.data.Dataset.from_generator(generate, output_signature=tf.TensorSpec((12, 12, 3), tf.float32))
    expected = eli5_keras.explain(seq_model, x)
    seen = []
    original = Explainer._explain

    def recording(explainer, inputs, *args):
        seen.append((len(inputs), len(pulled)))
        return original(explainer, inputs, *args)

    monkeypatch.setattr(Explainer, "_explain", recording)
    store = eli5_keras.explain_dataset(seq_model, data, out=tmp_path / "maps.zarr", batch_size=2, progress=False)
    assert_store_equals(store, expected)
    # the first batch alone (it sets the chunk length), then the rest in one call: batches run together up to a
    # chunk's end (this stream's length is unknown: 64 batches per chunk), within CHUNK_BYTES of inputs
    assert [n for n, _ in seen] == [2, 8]
    assert seen[0][1] < N  # the first batch was explained before the whole stream was read


def test_runs_of_batches_are_capped_by_the_chunks_and_the_input_bytes(seq_model, x, tmp_path, monkeypatch):
    """One explain() call per run of batches: up to the end of a chunk of ``chunk_size``
    inputs, and at most CHUNK_BYTES of inputs; the store is the same."""
    seen = []
    original = Explainer._explain

    def recording(explainer, inputs, *args):
        seen.append(len(inputs))
        return original(explainer, inputs, *args)

    monkeypatch.setattr(Explainer, "_explain", recording)
    store = eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "a.zarr", batch_size=2, chunk_size=4,
                                       progress=False)
    assert seen == [2, 2, 4, 2] and store.chunk_size == 4  # batch 0, batch 1 (read ahead), then chunk by chunk
    assert_store_equals(store, eli5_keras.explain(seq_model, x))
    seen.clear()
    monkeypatch.setattr(eli5_keras.datasets, "CHUNK_BYTES", 2 * x[0].nbytes)  # two inputs' worth
    store = eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "b.zarr", batch_size=2, chunk_size=4,
                                       progress=False)
    assert seen == [2] * 5
    assert_store_equals(store, eli5_keras.explain(seq_model, x))


def test_image_files_are_read_as_the_command_line_reads_them(tmp_path):
    model = seq_model()
    paths = write_pngs(tmp_path / "pngs", 5, size=(20, 16), seed=3)
    expected_inputs = np.stack([
        np.asarray(Image.open(p).convert("RGB").resize((12, 12), Image.BILINEAR), np.float32) / 255 for p in paths
    ])
    store = eli5_keras.explain_dataset(model, tmp_path / "pngs", out=tmp_path / "maps.zarr", batch_size=2,
                                       progress=False)
    assert_store_equals(store, eli5_keras.explain(model, expected_inputs))
    assert store.attrs["inputs"] == [p.stem for p in paths]
    arrays = tmp_path / "batch.npy"
    np.save(arrays, expected_inputs)
    store = eli5_keras.explain_dataset(model, [str(arrays)], out=tmp_path / "npy.zarr", batch_size=2,
                                       progress=False, preprocess=lambda p: p)
    assert_store_equals(store, eli5_keras.explain(model, expected_inputs))


def test_plain_zarr_reads_the_store_without_eli5_keras(seq_model, x, tmp_path):
    out = tmp_path / "maps.zarr"
    eli5_keras.explain_dataset(seq_model, x, out=out, top_k=2, batch_size=BATCH, progress=False)
    expected = eli5_keras.explain(seq_model, x, top_k=2)
    np.save(tmp_path / "expected.npy", expected.maps)
    script = (
        "import sys, numpy as np, zarr\n"
        f"g = zarr.open_group({str(out)!r}, mode='r')\n"
        f"want = np.load({str(tmp_path / 'expected.npy')!r})\n"
        "assert np.abs(g['maps'][:] - want).max() <= 1e-6\n"
        "assert g['targets'].shape == g['scores'].shape == g['empty'].shape == (10, 2)\n"
        "assert bool(g['done'][:].all()) and g.attrs['complete'] and g.attrs['method'] == 'gradcam'\n"
        "assert 'eli5_keras' not in sys.modules and 'tensorflow' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_empty_maps_warn_once(tmp_path):
    from helpers.models import negative_evidence_model

    model = negative_evidence_model()
    inputs = np.abs(images(6, seed=1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        store = eli5_keras.explain_dataset(model, inputs, out=tmp_path / "maps.zarr", targets=NEGATIVE_CLASS,
                                           batch_size=BATCH, progress=False)
    empty = [w for w in caught if issubclass(w.category, eli5_keras.EmptyMapWarning)]
    assert len(empty) == 1 and "6 maps" in str(empty[0].message)
    assert store.empty[:].all() and store[0].targets[0].empty


def test_default_chunks_hold_the_batches_that_fit_in_chunk_bytes():
    """``CHUNK_BYTES // (batch_size * bytes per input's maps)`` batches, within 1 and 64."""
    per_chunk = eli5_keras.datasets.batches_per_chunk
    limit = eli5_keras.datasets.CHUNK_BYTES
    assert per_chunk(np.zeros((32, 1, 64, 64), np.float32), 32) == limit // (32 * 64 * 64 * 4) == 8
    assert per_chunk(np.zeros((4, 2, 96, 96, 96), np.float32), 4) == 1  # 3-D maps: one batch is over the limit
    assert per_chunk(np.zeros((2, 1, 3), np.float32), 2) == 64


# -- resuming ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["array", "tf.data of unknown length"])
def test_an_interrupted_run_resumes_without_recomputing(seq_model, x, tmp_path, monkeypatch, source):
    def data():
        if source == "array":
            return x
        return tf.data.Dataset.from_tensor_slices(x).batch(3)

    arguments = dict(top_k=2, batch_size=BATCH, progress=False, chunk_size=BATCH)
    clean = tmp_path / "clean.zarr"
    eli5_keras.explain_dataset(seq_model, data(), out=clean, **arguments)
    out = tmp_path / "maps.zarr"
    failing = CountingExplainer(monkeypatch, fail_after=2)
    with pytest.raises(RuntimeError, match="interrupted"):
        eli5_keras.explain_dataset(seq_model, data(), out=out, **arguments)
    assert failing.calls == 2
    partial = eli5_keras.open_results(out)
    assert not partial.complete and partial.done[:].tolist()[:2] == [True, True]
    assert partial.finished()[: 2 * BATCH].all() and not partial.finished()[2 * BATCH:].any()
    np.testing.assert_allclose(partial[1].targets[0].heatmap, eli5_keras.open_results(clean)[1].targets[0].heatmap)
    if source == "array":  # the length is known: the arrays have it from the start
        with pytest.raises(ValueError, match="input 9 is not explained yet"):
            partial[N - 1]
    else:  # unknown length: the arrays grew by the finished batches only
        assert len(partial) == 2 * BATCH
    resumed = CountingExplainer(monkeypatch)
    store = eli5_keras.explain_dataset(seq_model, data(), out=out, **arguments)
    assert resumed.calls == 1  # only the third batch
    assert store.run.explained == 2 and store.run.skipped == 2 * BATCH and store.complete
    assert_same_stores(out, clean)
    again = CountingExplainer(monkeypatch)
    store = eli5_keras.explain_dataset(seq_model, data(), out=out, **arguments)
    assert again.calls == 0 and store.run.skipped == N


KILLED_CHILD = r"""
import sys, time
import keras, numpy as np, tensorflow as tf
import eli5_keras

model = keras.saving.load_model(sys.argv[1], compile=False)
x = np.load(sys.argv[2])


def slow():  # the first two batches at once, then one input every 0.2 s: time to kill it mid-run
    for i, row in enumerate(x):
        if i >= 8:
            time.sleep(0.2)
        yield row


data = tf.data.Dataset.from_generator(slow, output_signature=tf.TensorSpec(x.shape[1:], tf.float32))
data = data.apply(tf.data.experimental.assert_cardinality(len(x)))
eli5_keras.explain_dataset(model, data, out=sys.argv[3], batch_size=4, chunk_size=4, progress=False)
"""


def test_a_run_killed_with_sigkill_resumes_where_it_stopped(tmp_path, monkeypatch):
    """kill -9 of a real process mid-run: the batches marked done are kept, the next run
    explains only the others, and the store equals explain()."""
    model_path = save_small_model(tmp_path)
    x = np.random.default_rng(3).random((24, 16, 16, 3), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "maps.zarr"
    child = subprocess.Popen([sys.executable, "-c", KILLED_CHILD, str(model_path), str(tmp_path / "x.npy"), str(out)],
                             env=cli_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and child.poll() is None:
            if (out / "done" / "zarr.json").is_file() and zarr.open_group(str(out), mode="r")["done"][:].sum() >= 2:
                break
            time.sleep(0.05)
        assert child.poll() is None, child.stderr.read().decode()[-2000:]
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    done = zarr.open_group(str(out), mode="r")["done"][:]
    assert 2 <= done.sum() < len(done) == 6 and not zarr.open_group(str(out), mode="r").attrs["complete"]
    model = keras.saving.load_model(model_path, compile=False)
    data = tf.data.Dataset.from_tensor_slices(x)
    counted = CountingExplainer(monkeypatch)
    store = eli5_keras.explain_dataset(model, data, out=out, batch_size=4, chunk_size=4, progress=False)
    assert counted.calls == len(done) - done.sum() and store.complete
    assert store.run.skipped == 4 * done.sum()
    assert_store_equals(store, eli5_keras.explain(model, x))


def test_a_half_written_chunk_is_not_finished(seq_model, x, tmp_path, monkeypatch):
    """The record is written after the data: a run killed while writing a chunk's data
    leaves it unmarked, and the next run writes it again."""
    out = tmp_path / "maps.zarr"
    original = eli5_keras.datasets._Writer._write_now
    writes = []

    def dying(writer, first, stop, kept, fields, probabilities):  # runs in the writer thread
        writes.append(first)
        if len(writes) == 2:
            writer.group["maps"][first * BATCH:first * BATCH + 1] = fields["maps"][:1]  # part of the data
            raise KeyboardInterrupt
        original(writer, first, stop, kept, fields, probabilities)

    monkeypatch.setattr(eli5_keras.datasets._Writer, "_write_now", dying)
    with pytest.raises(KeyboardInterrupt):
        eli5_keras.explain_dataset(seq_model, x, out=out, batch_size=BATCH, progress=False, chunk_size=BATCH)
    assert eli5_keras.open_results(out).done[:].tolist() == [True, False, False]
    monkeypatch.setattr(eli5_keras.datasets._Writer, "_write_now", original)
    store = eli5_keras.explain_dataset(seq_model, x, out=out, batch_size=BATCH, progress=False, chunk_size=BATCH)
    assert_store_equals(store, eli5_keras.explain(seq_model, x))


def test_batches_of_an_unwritten_chunk_are_explained_again(seq_model, x, tmp_path, monkeypatch):
    """Chunks of two batches: a run that dies after the first batch of a chunk has not
    written it (the chunk is written at once), so the next run explains it again."""
    out = tmp_path / "maps.zarr"
    arguments = dict(batch_size=BATCH, progress=False, chunk_size=2 * BATCH)
    failing = CountingExplainer(monkeypatch, fail_after=1)
    with pytest.raises(RuntimeError, match="interrupted"):
        eli5_keras.explain_dataset(seq_model, x, out=out, **arguments)
    assert failing.calls == 1  # batch 0 explained, then the run died before batch 1 ended chunk 0
    with pytest.raises(ValueError, match="holds no maps yet"):
        eli5_keras.open_results(out)
    resumed = CountingExplainer(monkeypatch)
    store = eli5_keras.explain_dataset(seq_model, x, out=out, **arguments)
    assert resumed.calls == 3 and store.run == eli5_keras.datasets.RunSummary(N, 0, False)
    assert_store_equals(store, eli5_keras.explain(seq_model, x))


def test_a_stop_mid_chunk_writes_the_batches_done_and_resume_completes_the_chunk(seq_model, x, tmp_path,
                                                                                 monkeypatch):
    """A requested stop writes the batches explained so far (part of a chunk, marked
    done per batch); the resumed run explains the chunk's other batch only and rewrites
    the chunk, unmarking the kept batch while it does, so a write cut short never leaves
    it marked done over damaged data."""
    out, clean = tmp_path / "maps.zarr", tmp_path / "clean.zarr"
    arguments = dict(batch_size=BATCH, progress=False, chunk_size=2 * BATCH)
    eli5_keras.explain_dataset(seq_model, x, out=clean, **arguments)
    asked = []
    store = eli5_keras.explain_dataset(seq_model, x, out=out, stop=lambda: asked.append(1) or len(asked) > 1,
                                       **arguments)
    assert store.run == eli5_keras.datasets.RunSummary(BATCH, 0, True)
    assert store.done[:].tolist() == [True, False, False]
    np.testing.assert_allclose(store[1].targets[0].heatmap, eli5_keras.open_results(clean)[1].targets[0].heatmap)

    class FullDisk:  # the rewrite of chunk 0 fails
        def __init__(self, array):
            self.array, self.shape = array, array.shape

        def __setitem__(self, key, value):
            raise OSError("No space left on device")

    original = eli5_keras.datasets._Writer._array
    monkeypatch.setattr(eli5_keras.datasets._Writer, "_array",
                        lambda w, name: FullDisk(original(w, name)) if name == "maps" else original(w, name))
    with pytest.raises(OSError, match="No space"):
        eli5_keras.explain_dataset(seq_model, x, out=out, **arguments)
    assert eli5_keras.open_results(out).done[:].tolist() == [False, False, False]  # batch 0 unmarked
    monkeypatch.setattr(eli5_keras.datasets._Writer, "_array", original)
    counted = CountingExplainer(monkeypatch)
    store = eli5_keras.explain_dataset(seq_model, x, out=out, **arguments)
    assert counted.calls == 3 and store.complete
    assert_same_stores(out, clean)


def test_stop_ends_the_run_after_a_batch(seq_model, x, tmp_path):
    asked = []
    store = eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "maps.zarr", batch_size=BATCH, progress=False,
                                       stop=lambda: asked.append(1) or len(asked) > 1)
    assert store.run.interrupted and store.run.explained == BATCH and not store.complete


def _other_weights():
    model = seq_model()
    model.get_layer("dense").set_weights([w + 1 for w in model.get_layer("dense").get_weights()])
    return model


@pytest.mark.parametrize("change, named", [
    (dict(method="hirescam"), "method='gradcam' (now 'hirescam')"),
    (dict(relu=False), "relu=True (now False)"),
    (dict(layer="conv1"), "layer='conv2' (now 'conv1')"),
    (dict(targets=1), "targets='top' (now 1)"),
    (dict(top_k=2), "top_k=None (now 2)"),
    (dict(batch_size=5), "batch_size=4 (now 5)"),
    (dict(chunk_size=2 * BATCH), "chunk_size=None (now 8)"),
    (dict(data=images(N + 1, seed=5)), "length=10 (now 11)"),
    (dict(model="func_model"), "model='seq_model' (now 'func_model')"),
    (dict(model="other weights"), "other model weights"),
])
def test_a_store_of_other_arguments_is_refused(seq_model, func_model, x, tmp_path, change, named):
    out = tmp_path / "maps.zarr"
    eli5_keras.explain_dataset(seq_model, x, out=out, batch_size=BATCH, progress=False)
    before = eli5_keras.open_results(out).maps[:]
    arguments = dict(method="gradcam", batch_size=BATCH, progress=False)
    model = seq_model
    data = change.pop("data", x)
    which = change.pop("model", None)
    if which == "func_model":
        model = func_model
    elif which == "other weights":
        model = _other_weights()
    arguments.update(change)
    with pytest.raises(ValueError) as error:
        eli5_keras.explain_dataset(model, data, out=out, **arguments)
    message = str(error.value)
    assert "\n" not in message and named in message and "resume=False" in message, message
    np.testing.assert_array_equal(eli5_keras.open_results(out).maps[:], before)  # untouched
    arguments["resume"] = False
    store = eli5_keras.explain_dataset(model, data, out=out, **arguments)
    assert store.complete and store.run.skipped == 0


def test_per_input_targets(seq_model, x, tmp_path):
    """One class per input: each chunk explains its own rows' classes, as explain() does
    with the whole array; a resumed run must be given the same classes."""
    classes = np.arange(N) % 3
    out = tmp_path / "maps.zarr"
    store = eli5_keras.explain_dataset(seq_model, x, out=out, targets=classes, batch_size=BATCH, progress=False)
    assert_store_equals(store, eli5_keras.explain(seq_model, x, targets=classes))
    np.testing.assert_array_equal(store.targets[:, 0], classes)
    with pytest.raises(ValueError, match="holds explanations made with targets="):
        eli5_keras.explain_dataset(seq_model, x, out=out, targets=classes[::-1].copy(), batch_size=BATCH,
                                   progress=False)


@pytest.mark.parametrize("as_dict", [False, True])
def test_multi_input_arrays(multi_input_model, tmp_path, as_dict):
    """A multi-input model's arrays (a list in input order, or a dict by input name) are
    sliced together per batch; maps equal explain() on the whole arrays."""
    images_, vectors = x_multi = (images(7, seed=3), np.random.default_rng(3).normal(size=(7, 4)).astype(np.float32))
    data = dict(image=images_, vector=vectors) if as_dict else list(x_multi)
    store = eli5_keras.explain_dataset(multi_input_model, data, out=tmp_path / "maps.zarr", batch_size=3,
                                       progress=False)
    assert_store_equals(store, eli5_keras.explain(multi_input_model, list(x_multi)))


def test_argument_errors(seq_model, x, tmp_path):
    other = tmp_path / "folder"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not an eli5-keras store"):
        eli5_keras.explain_dataset(seq_model, x, out=other, progress=False)
    assert (other / "notes.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="carries none"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "a.zarr", targets="label")
    with pytest.raises(ValueError, match="infinite"):
        eli5_keras.explain_dataset(seq_model, tf.data.Dataset.from_tensor_slices(x).repeat(), out=tmp_path / "b.zarr")
    with pytest.raises(ValueError, match="an element must be one input"):
        eli5_keras.explain_dataset(seq_model, tf.data.Dataset.from_tensor_slices(x[:, 0]), out=tmp_path / "c.zarr")
    with pytest.raises(ValueError, match="x, \\(x, y\\) or \\(x, y, w\\)"):
        eli5_keras.explain_dataset(seq_model, tf.data.Dataset.from_tensor_slices((x, x, x, x)), out=tmp_path / "d")
    with pytest.raises(TypeError, match="data must be"):
        eli5_keras.explain_dataset(seq_model, x.tolist(), out=tmp_path / "e.zarr")
    with pytest.raises(ValueError, match="one class per input: 10; got 9"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "h.zarr", targets=np.zeros(N - 1, int))
    with pytest.raises(ValueError, match=r"non-negative ints of shape \(N,\); got shape \(10,\), dtype float64"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "h.zarr", targets=np.zeros(N))
    with pytest.raises(TypeError, match="targets must be None, a class index, 'label' or an array"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "h.zarr", targets=1.5)
    with pytest.raises(ValueError, match="targets must be None, a class index, 'label' or one class per input"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "h.zarr", targets="labels")
    with pytest.raises(ValueError, match=r"as many inputs each; got lengths \[3, 10\]"):
        eli5_keras.explain_dataset(seq_model, [x, x[:3]], out=tmp_path / "h.zarr")
    with pytest.raises(ValueError, match="chunk_size must be a multiple of batch_size=4 .*; got 6"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "h.zarr", batch_size=4, chunk_size=6)
    with pytest.raises(TypeError, match="chunk_size"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "h.zarr", chunk_size=8.0)
    with pytest.raises(ValueError, match="pass either targets or top_k"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "f.zarr", targets=1, top_k=2)
    with pytest.raises(ValueError, match="does not exist"):
        eli5_keras.explain_dataset(seq_model, str(tmp_path / "missing"), out=tmp_path / "g.zarr")
    with pytest.raises(ValueError, match="not a zarr store"):
        eli5_keras.open_results(tmp_path / "missing.zarr")
    assert not any((tmp_path / name).exists() for name in ("a.zarr", "b.zarr", "c.zarr", "e.zarr", "f.zarr", "h.zarr"))


# -- command line ------------------------------------------------------------------------


def test_the_command_line_writes_a_store_and_resumes(tmp_path, capsys):
    model_path = save_small_model(tmp_path)
    paths = write_pngs(tmp_path / "pngs", 5, seed=4)
    out = tmp_path / "maps.zarr"
    common = ["explain", str(model_path), str(tmp_path / "pngs"), "--top-k", "2", "--batch-size", "2"]
    assert main([*common, "--out", str(out)]) == 0
    assert "explained 5 inputs with gradcam" in capsys.readouterr().err
    model = keras.models.load_model(model_path, compile=False)
    inputs = np.stack([np.asarray(Image.open(p).convert("RGB"), np.float32) / 255 for p in paths])
    store = eli5_keras.open_results(out)
    assert_store_equals(store, eli5_keras.explain(model, inputs, top_k=2))
    assert store.attrs["inputs"] == [p.stem for p in paths]
    assert main([*common, "--out", str(out), "--resume"]) == 0
    assert "(5 already done, skipped)" in capsys.readouterr().err
    assert main([*common, "--out", str(out), "--resume", "--method", "hirescam"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("eli5-keras: error: ") and "method='gradcam'" in err
    assert "leave out --resume" in err
    assert main([*common, "--out", str(out), "--format", "png"]) == 2
    assert ".zarr store" in capsys.readouterr().err


def test_the_command_line_chooses_the_chunks(tmp_path, capsys):
    model_path = save_small_model(tmp_path)
    write_pngs(tmp_path / "pngs", 5, seed=4)
    common = ["explain", str(model_path), str(tmp_path / "pngs"), "--batch-size", "2", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "a.zarr"), "--chunk-size", "4"]) == 0
    assert eli5_keras.open_results(tmp_path / "a.zarr").chunk_size == 4
    assert main([*common, "--out", str(tmp_path / "b.zarr"), "--chunk-size", "3"]) == 2
    assert "chunk_size must be a multiple of batch_size=2" in capsys.readouterr().err
    for other in (["--out", str(tmp_path / "files")], ["--out", str(tmp_path / "c.zarr"), "--engine", "ray"]):
        assert main([*common, *other, "--chunk-size", "4"]) == 2
        assert "--chunk-size sets the chunks of a .zarr store" in capsys.readouterr().err


def test_the_command_line_stops_and_resumes_a_store(tmp_path, capsys, monkeypatch):
    from eli5_keras.cli import interrupt

    model_path = save_small_model(tmp_path)
    write_pngs(tmp_path / "pngs", 5, seed=4)
    out = tmp_path / "maps.zarr"
    common = ["explain", str(model_path), str(tmp_path / "pngs"), "--batch-size", "2", "--quiet"]
    counter = CountingExplainer(monkeypatch)

    class StopAfterOne(interrupt.StopRequest):
        @property
        def requested(self):
            return counter.calls >= 1

        @requested.setter
        def requested(self, value):
            pass

    monkeypatch.setattr("eli5_keras.cli.explain_command.StopRequest", StopAfterOne)
    assert main([*common, "--out", str(out)]) == 130
    assert "interrupted after 2 inputs" in capsys.readouterr().err and counter.calls == 1
    monkeypatch.setattr("eli5_keras.cli.explain_command.StopRequest", interrupt.StopRequest)
    assert main([*common, "--out", str(out), "--resume"]) == 0
    assert counter.calls == 3 and eli5_keras.open_results(out).complete


def test_progress_of_a_stream_of_unknown_length_counts_without_a_bar():
    import io

    from eli5_keras.cli.progress import Progress

    stream = io.StringIO()
    progress = Progress(None, done=4, stream=stream)
    progress.advance(4)
    assert progress.line().startswith("8 inputs  ") and "/s" in progress.line() and "left" not in progress.line()
    progress.close()
    assert stream.getvalue().startswith("8 inputs")


def test_without_zarr_the_extra_is_named(seq_model, x, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)
    with pytest.raises(ModuleNotFoundError, match=r"eli5-keras\[datasets\]"):
        eli5_keras.explain_dataset(seq_model, x, out=tmp_path / "maps.zarr")
    assert not (tmp_path / "maps.zarr").exists()

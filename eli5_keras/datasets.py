"""Explanations of a whole dataset on one machine, streamed into a Zarr store.

``explain_dataset(model, data, out="maps.zarr")`` reads ``data`` one batch at a time
(a ``tf.data.Dataset``, a numpy array or memory map, or image/``.npy`` files as the
command line reads them), explains each batch with one cached
:class:`~eli5_keras.explain.Explainer` and writes it into a Zarr v3 group, so memory
does not grow with the dataset's length. The store (read it with :func:`open_results`,
or with plain ``zarr``)::

    maps.zarr/
      maps          float32 (N, T, *S)   chunks (R, T, *S): R inputs per chunk
      targets       int64   (N, T)       the explained class of each map
      scores        float32 (N, T)       the model's output for each target
      empty         bool    (N, T)       constant maps, which show nothing
      extras/NAME   float32 (N, T, ...)  per-map numbers of some methods
      done          bool    (ceil(N / B),)  done[b]: rows b*B .. b*B+B-1 are written

``B`` is ``batch_size`` and ``R`` (``chunk_size``) a whole number of batches: by default
as many batches as keep a chunk of maps within :data:`CHUNK_BYTES`, at least one
(Zarr's fixed cost per write, 1-2 ms of CPU per array, is then small beside the
compression). The group's attributes say how the maps were made (method, options,
layer, model and a fingerprint of its weights, targets, library version) and whether
the run finished (``complete``). A chunk is written at once when its batches are
explained, and their ``done`` entries after the data, so an interrupted run leaves no
batch marked finished that is not; running again with the same arguments explains only
the batches not done (those a killed run was still gathering are explained again). A
store made with other arguments is refused rather than mixed.
"""
from __future__ import annotations

import abc
import dataclasses
import hashlib
import json
import os
import shutil
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

import keras
import numpy as np
import tensorflow as tf

from . import validation as check
from .backend.legacy import keras_model
from .backend.topology import model_inputs
from .base import Explanation
from .explain import Explainer, TargetNames, _names_list, ensure_built, get_explainer
from .result import EMPTY_MAP_HINT, EmptyMapWarning, ExplanationBatch

LABEL = "label"
"""``targets="label"``: explain each element's own label."""

STORE_FORMAT = 1
"""Version of the store layout, in the ``format`` attribute."""

RECORD_CHUNK = 1024
"""Entries of the ``done`` record per chunk (a few bytes each)."""

CHUNK_BYTES = 4 * 2**20
"""Bytes of maps per chunk the default ``chunk_size`` aims at: the most whole batches
that fit, at least one. Larger chunks mean fewer writes (Zarr costs 1-2 ms of CPU per
array written, whatever its size: with one 32-map batch of 64x64 maps per chunk the
store cost about as much as explaining a small CNN); reading one input decompresses
its whole chunk, and an interrupted run explains an unfinished chunk's batches again."""

COMPRESSOR = dict(cname="lz4", clevel=5, shuffle="shuffle")
"""Blosc (LZ4, byte shuffle) for every array: on smooth float32 maps it keeps ~79% of
the bytes for ~0.04 ms of CPU per 64x64 map written, where Zarr's default (Zstandard)
keeps ~73% for ~0.1 ms; any Zarr reader decodes it (numcodecs' Blosc)."""

MAX_BATCHES_PER_CHUNK = 64
"""Cap on the default chunk length in batches (tiny maps)."""

ARGUMENTS = ("model", "model_weights", "method", "options", "layer", "targets", "top_k", "output_index",
             "batch_size", "chunk_size", "length", "inputs")
"""The attributes a resumed run must match: what the maps are made of."""

Preprocess = Callable[[np.ndarray], np.ndarray]
Batch = Tuple[int, Any, Optional[np.ndarray]]
"""``(index of the first batch, model inputs of the batches, labels or None)``."""


def _zarr() -> Any:
    """The ``zarr`` module (v3), imported when a store is used: an optional extra."""
    try:
        import zarr
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "explain_dataset and open_results write and read Zarr stores: pip install 'eli5-keras[datasets]' "
            "(zarr>=3, Python >= 3.11).",
            name="zarr",
        ) from None
    if int(zarr.__version__.split(".")[0]) < 3:
        raise ImportError(f"eli5-keras stores need zarr>=3; zarr {zarr.__version__} is installed.")
    return zarr


def _rescale_pixels(pixels: np.ndarray) -> np.ndarray:
    return pixels / np.float32(255)


# --------------------------------------------------------------------------- sources


class _Source(abc.ABC):
    """Batches of ``batch_size`` inputs (the last one may be short) read lazily."""

    length: Optional[int] = None
    names: Optional[List[str]] = None
    has_labels = False

    def first_inputs(self) -> Any:
        """The first batch's model inputs (to build an unbuilt Sequential model)."""
        return next(self.batches(set()))[1]

    @abc.abstractmethod
    def batches(self, skip: Set[int], per: Callable[[], int] = lambda: 1) -> Iterator[Batch]:
        """``(index of the first batch, model inputs, labels or None)`` per run of
        consecutive batches not in ``skip`` that ends at the latest at the next multiple
        of ``per()`` batches (``per`` is asked as the runs are read: it is known once the
        first batch is explained)."""


def _runs(total: int, skip: Set[int], per: Callable[[], int]) -> Iterator[Tuple[int, int]]:
    """``(first, stop)`` batch ranges of :meth:`_Source.batches` among ``total`` batches."""
    b = 0
    while b < total:
        if b in skip:
            b += 1
            continue
        end = min(total, (b // per() + 1) * per())
        stop = b + 1
        while stop < end and stop not in skip:
            stop += 1
        yield b, stop
        b = stop


def _concatenated(parts: List[Any]) -> Any:
    """Model inputs (an array, a list or a dict of arrays) of several batches, joined."""
    return tf.nest.map_structure(lambda *arrays: np.concatenate(arrays), *parts) if len(parts) > 1 else parts[0]


def _prefetched(loads: Iterable[Tuple[int, Callable[[], Tuple[Any, Optional[np.ndarray]]]]]) -> Iterator[Batch]:
    """Run each load one step ahead in a thread, so reading the next batch overlaps
    explaining this one (the compiled graph releases the GIL)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for index, load in loads:
            future = pool.submit(load)
            if pending is not None:
                yield pending[0], *pending[1].result()
            pending = (index, future)
        if pending is not None:
            yield pending[0], *pending[1].result()


class _RowSource(_Source):
    """Inputs addressed by row: a batch is rows ``c * batch_size`` onwards, loaded
    (:meth:`_load`) one step ahead of the explainer."""

    batch_size: int

    @abc.abstractmethod
    def _load(self, start: int, stop: int) -> Tuple[Any, None]:
        """The model inputs of rows ``start:stop`` (no labels)."""

    def batches(self, skip: Set[int], per: Callable[[], int] = lambda: 1) -> Iterator[Batch]:
        size = self.batch_size
        return _prefetched(
            (b, lambda b=b, e=e: self._load(b * size, min(self.length, e * size)))
            for b, e in _runs(-(-self.length // size), skip, per)
        )


class _ArraySource(_RowSource):
    """A numpy array or memory map ``(N, *input_shape)``, or a list / dict (keyed by
    input name) of them for a multi-input model: rows sliced per batch, so a memory map
    is read one batch at a time."""

    def __init__(self, data: Union[np.ndarray, List[np.ndarray], Dict[str, np.ndarray]], batch_size: int) -> None:
        arrays = list(data.values()) if isinstance(data, dict) else data if isinstance(data, list) else [data]
        for array in arrays:
            if array.ndim == 0 or len(array) == 0:
                raise ValueError(f"data must hold at least one input along its first axis; got shape {array.shape}.")
        lengths = sorted({len(a) for a in arrays})
        if len(lengths) > 1:
            raise ValueError(f"data's arrays must hold as many inputs each; got lengths {lengths}.")
        self.data, self.batch_size, self.length = data, batch_size, lengths[0]

    def _load(self, start: int, stop: int) -> Tuple[Any, None]:
        data = self.data
        if isinstance(data, dict):
            return {k: np.asarray(v[start:stop]) for k, v in data.items()}, None
        if isinstance(data, list):
            return [np.asarray(v[start:stop]) for v in data], None
        return np.asarray(data[start:stop]), None


class _FileSource(_RowSource):
    """Image files, folders of them and ``.npy`` arrays, planned and read by the
    command line's readers (:mod:`eli5_keras.cli.inputs`)."""

    def __init__(self, paths: Sequence[str], model: keras.Model, batch_size: int, preprocess: Preprocess) -> None:
        from .cli.errors import UsageError
        from .cli.inputs import ExampleLoader, collect_files, plan_examples

        specs = model_inputs(model)
        if len(specs) != 1:
            raise ValueError(f"files feed single-input models; model {model.name!r} has {len(specs)} inputs.")
        shape = tuple(specs[0].shape)
        try:
            self.examples = plan_examples(collect_files(paths), shape)
        except UsageError as error:
            raise ValueError(str(error)) from None
        self.loader = ExampleLoader(shape, preprocess)
        self.batch_size, self.length = batch_size, len(self.examples)
        self.names = [e.name for e in self.examples]

    def _load(self, start: int, stop: int) -> Tuple[np.ndarray, None]:
        from .cli.errors import UsageError

        examples = self.examples[start:stop]
        try:
            arrays = [self.loader.load(example)[0] for example in examples]
        except UsageError as error:
            raise ValueError(str(error)) from None
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(
                f"inputs {[e.name for e in examples]} have different shapes {sorted(shapes)}; a store holds maps "
                "of one shape (resize them, or explain them with eli5_keras.explain)."
            )
        return np.stack(arrays), None


class _TFSource(_Source):
    """A ``tf.data.Dataset`` of ``x``, ``(x, y)`` or ``(x, y, w)`` (Keras' convention;
    ``x`` a tensor or a dict of them, ``w`` ignored), batched or not: an element whose
    ``x`` has the model input's rank is a batch, one rank less a single input. It is
    rebatched to ``batch_size`` (so chunks of the store hold whole batches) and prefetched
    (:func:`_prefetch_depth` batches ahead, on a private thread pool: :func:`_pipeline_options`)."""

    def __init__(self, data: tf.data.Dataset, model: keras.Model, batch_size: int) -> None:
        spec = data.element_spec
        if isinstance(spec, tuple):
            if not 1 <= len(spec) <= 3:
                raise ValueError(
                    f"a dataset element must be x, (x, y) or (x, y, w); got a tuple of {len(spec)}: {spec}."
                )
            self.has_labels = len(spec) >= 2
            x_spec = spec[0]
        else:
            x_spec = spec
        batched = _is_batched(x_spec, model)
        length = None
        if not batched:
            cardinality = int(data.cardinality())
            if cardinality == int(tf.data.INFINITE_CARDINALITY):
                raise ValueError("data is an infinite dataset (it repeats); take() the part to explain.")
            length = None if cardinality < 0 else cardinality
            if length == 0:
                raise ValueError("data is an empty dataset.")
        self.length = length
        keep_labels = self.has_labels
        if isinstance(spec, tuple):
            data = data.map(lambda *parts: (parts[0], parts[1]) if keep_labels else parts[0])
        if batched:
            data = data.unbatch()
        depth = _prefetch_depth([s.shape[1:] if batched else s.shape for s in tf.nest.flatten(x_spec)],
                                [s.dtype for s in tf.nest.flatten(x_spec)], batch_size)
        self.dataset = data.batch(batch_size).prefetch(depth).with_options(_pipeline_options())

    def batches(self, skip: Set[int], per: Callable[[], int] = lambda: 1) -> Iterator[Batch]:
        start = 0
        while start in skip:  # a finished prefix is skipped without explaining it
            start += 1
        run: List[Tuple[Any, Optional[np.ndarray]]] = []
        first = start

        def joined() -> Batch:
            labels = None if run[0][1] is None else np.concatenate([r[1] for r in run])
            return first, _concatenated([r[0] for r in run]), labels

        for index, element in enumerate(self.dataset.skip(start).as_numpy_iterator(), start):
            if run and (index in skip or index % per() == 0):
                yield joined()
                run = []
            if index in skip:
                continue
            if not run:
                first = index
            run.append((element[0], np.asarray(element[1])) if self.has_labels else (element, None))
            if (index + 1) % per() == 0:
                yield joined()
                run = []
        if run:
            yield joined()


def _prefetch_depth(shapes: List[tf.TensorShape], dtypes: List[tf.DType], batch_size: int) -> int:
    """Batches read ahead of the explainer: as many as hold :data:`CHUNK_BYTES` of inputs
    (a run of batches is explained at once), between 2 and :data:`MAX_BATCHES_PER_CHUNK`;
    2 when an input's size is not fixed. ``shapes``, ``dtypes``: one input's tensors."""
    if any(shape.rank is None or None in shape.as_list() for shape in shapes):
        return 2
    row = sum(int(np.prod(shape.as_list())) * dtype.size for shape, dtype in zip(shapes, dtypes))
    return int(np.clip(CHUNK_BYTES // max(1, batch_size * row), 2, MAX_BATCHES_PER_CHUNK))


def _pipeline_options() -> tf.data.Options:
    """tf.data's work on a private pool of a quarter of the cores (at least one thread)
    with autotuning off: on TensorFlow's shared pools its threads preempt the
    explainer's kernels, which wait for their slowest thread (measured on 2 cores: the
    stream at 1.9-2.3x ``explain()`` on the same arrays, 1.1-1.4x with this)."""
    options = tf.data.Options()
    options.threading.private_threadpool_size = max(1, (os.cpu_count() or 1) // 4)
    options.threading.max_intra_op_parallelism = 1
    options.autotune.enabled = False
    return options


def _is_batched(x_spec: Any, model: keras.Model) -> bool:
    ranks = sorted(s.shape.rank if s.shape.rank is not None else -1 for s in tf.nest.flatten(x_spec))
    expected = sorted(len(s.shape) for s in model_inputs(model))
    if ranks == expected:
        return True
    if ranks == [r - 1 for r in expected]:
        return False
    shapes = [tuple(s.shape) for s in tf.nest.flatten(x_spec)]
    raise ValueError(
        f"dataset elements have inputs of shape {shapes}, but model {model.name!r} takes "
        f"{[tuple(s.shape) for s in model_inputs(model)]}: an element must be one input (without the batch "
        "axis) or a batch of them."
    )


def _source(data: Any, model: keras.Model, batch_size: int, preprocess: Optional[Preprocess]) -> _Source:
    if isinstance(data, tf.data.Dataset):
        return _TFSource(data, model, batch_size)
    if isinstance(data, np.ndarray):
        return _ArraySource(data, batch_size)
    if _arrays(data):
        return _ArraySource(list(data) if isinstance(data, tuple) else data, batch_size)
    paths = [data] if isinstance(data, (str, os.PathLike)) else data
    if isinstance(paths, (list, tuple)) and paths and all(isinstance(p, (str, os.PathLike)) for p in paths):
        return _FileSource([os.fspath(p) for p in paths], model, batch_size, preprocess or _rescale_pixels)
    raise TypeError(
        "data must be a tf.data.Dataset, a numpy array (or np.memmap), a list or dict of them (one per model "
        "input), or a path or list of paths to image files, .npy arrays, NIfTI volumes and folders of them; got "
        f"{type(data).__name__}."
    )


def _arrays(data: Any) -> bool:
    """A list, tuple or dict of numpy arrays: a multi-input model's inputs."""
    values = list(data.values()) if isinstance(data, dict) else data if isinstance(data, (list, tuple)) else None
    return bool(values) and all(isinstance(v, np.ndarray) for v in values)


def check_targets(targets: Any, length: Optional[int]) -> Union[None, int, str, np.ndarray]:
    """``targets`` of :func:`explain_dataset`: None, a class index, ``"label"``, or one
    class index per input (``(N,)`` ints, N the data's length)."""
    if isinstance(targets, str):
        if targets != LABEL:
            raise ValueError(f"targets must be None, a class index, {LABEL!r} or one class per input; got {targets!r}.")
        return targets
    if targets is None:
        return None
    if isinstance(targets, (list, tuple, np.ndarray)):
        array = np.asarray(targets)
        if array.ndim != 1 or array.dtype.kind not in "iu" or (array.size and array.min() < 0):
            raise ValueError(
                f"targets as one class per input must be non-negative ints of shape (N,); got shape {array.shape}, "
                f"dtype {array.dtype}."
            )
        if length is None:
            raise ValueError("targets as one class per input need data of known length (an array, files, or a "
                             "tf.data.Dataset whose cardinality is known).")
        if len(array) != length:
            raise ValueError(f"targets must give one class per input: {length}; got {len(array)}.")
        return array.astype(np.int64)
    if isinstance(targets, bool) or not isinstance(targets, (int, np.integer)):
        raise TypeError(
            f"targets must be None, a class index, {LABEL!r} or an array of one class per input; got "
            f"{type(targets).__name__}."
        )
    return check.integer("targets", targets, 0)


def _label_targets(labels: np.ndarray) -> np.ndarray:
    """Class indices from labels: ints ``(n,)`` or ``(n, 1)``, or one-hot/probabilities ``(n, C)``."""
    if labels.ndim == 2 and labels.shape[1] > 1:
        return np.argmax(labels, axis=1)
    if labels.ndim == 2:
        labels = labels[:, 0]
    if labels.ndim != 1 or not np.all(np.equal(np.mod(labels, 1), 0)):
        raise ValueError(
            f"targets='label' needs class labels: ints of shape (n,) or (n, 1), or one-hot (n, classes); "
            f"got shape {labels.shape}, dtype {labels.dtype}."
        )
    return labels.astype(np.int64)


# --------------------------------------------------------------------------- arguments


def _jsonable(value: Any) -> Any:
    """``value`` as JSON holds it (tuples as lists), so stored and given arguments compare equal."""

    def default(v: Any) -> Any:
        if isinstance(v, np.generic):
            return v.item()
        if isinstance(v, np.ndarray):
            return f"array {v.shape} {v.dtype} sha256:{hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest()}"
        return repr(v)

    return json.loads(json.dumps(value, default=default, sort_keys=True))


def weights_fingerprint(model: keras.Model) -> str:
    """sha256 of the model's weights (shapes and values): a retrained model with the
    same name is another model."""
    digest = hashlib.sha256()
    for weight in model.weights:
        value = np.ascontiguousarray(weight.numpy())
        digest.update(f"{weight.path}{value.shape}{value.dtype}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _arguments(
    model: keras.Model, explainer: Explainer, length: Optional[int], names: Optional[List[str]], targets: Any,
    top_k: Optional[int], output_index: int, batch_size: int, chunk_size: Optional[int] = None,
) -> Dict[str, Any]:
    options = dict(explainer.method.options(), **dataclasses.asdict(explainer.pipeline))
    return _jsonable(dict(
        method=explainer.method.name,
        options=options,
        layer=explainer.layer_name,
        model=model.name,
        model_weights=weights_fingerprint(model),
        targets="top" if targets is None else targets,
        top_k=top_k,
        output_index=output_index,
        batch_size=batch_size,
        chunk_size=chunk_size,
        length=length,
        inputs=names,
    ))


def _difference(stored: Dict[str, Any], given: Dict[str, Any]) -> Optional[str]:
    for key in ARGUMENTS:
        if stored.get(key) != given.get(key):
            if key == "model_weights":
                return "other model weights (same model name, different values)"
            if key == "inputs":
                return "other input files"
            if key == "options":
                old, new = stored.get(key) or {}, given.get(key) or {}
                changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
                return ", ".join(f"{k}={old.get(k)!r} (now {new.get(k)!r})" for k in changed)
            return f"{key}={stored.get(key)!r} (now {given.get(key)!r})"
    return None


# --------------------------------------------------------------------------- the store


@dataclasses.dataclass
class RunSummary:
    """What one :func:`explain_dataset` call did."""

    explained: int
    """Inputs explained and written by this call (an interrupted run drops the batches of
    its unfinished chunk)."""
    skipped: int
    """Inputs already done in the store, not recomputed."""
    interrupted: bool
    """``stop`` asked the run to end before the data did."""


class ExplanationStore:
    """Explanations in a Zarr store, read lazily (:func:`open_results`).

    ``maps``, ``targets``, ``scores``, ``empty`` and ``extras[name]`` are the zarr
    arrays themselves (slicing one reads only the chunks it needs); ``store[i]`` is
    input ``i``'s eli5 :class:`~eli5_keras.base.Explanation` and ``store[a:b]`` an
    :class:`~eli5_keras.result.ExplanationBatch`, both read from those chunks only.
    ``attrs`` holds how the maps were made; ``complete`` whether the run finished.
    """

    def __init__(self, group: Any, run: Optional[RunSummary] = None) -> None:
        self.group = group
        self.attrs: Dict[str, Any] = dict(group.attrs)
        if self.attrs.get("library") != "eli5-keras":
            raise ValueError(f"{group.store!s} is a zarr group but not an eli5-keras store (no 'library' attribute).")
        if "maps" not in group:
            raise ValueError(f"store {group.store!s} holds no maps yet: its run stopped before the first batch.")
        self.maps = group["maps"]
        self.targets = group["targets"]
        self.scores = group["scores"]
        self.empty = group["empty"]
        self.done = group["done"]
        self.extras = dict(group["extras"].arrays()) if "extras" in group else {}
        self.run = run

    @property
    def complete(self) -> bool:
        """The run that wrote the store went through all the data."""
        return bool(self.attrs.get("complete"))

    @property
    def batch_size(self) -> int:
        """Inputs the run explained at once (``done`` has one entry per batch)."""
        return int(self.attrs["batch_size"])

    @property
    def chunk_size(self) -> int:
        """Inputs per chunk of the arrays along N (a multiple of ``batch_size``)."""
        return int(self.maps.chunks[0])

    def __len__(self) -> int:
        return int(self.maps.shape[0])

    @property
    def skipped(self) -> List[Dict[str, Any]]:
        """Inputs left out with ``on_error="skip"`` (:mod:`eli5_keras.ray`): ``{"index",
        "error"}`` and ``"id"`` when the run named items; their maps are zero, flagged empty."""
        return list(self.attrs.get("skipped", []))

    def finished(self) -> np.ndarray:
        """``(N,)`` bool: which inputs are explained."""
        return np.repeat(self.done[:], self.batch_size)[: len(self)]

    def __getitem__(self, index: Union[int, slice]) -> Union[Explanation, ExplanationBatch]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError(f"a store is sliced with step 1; got step {step}.")
            return self.batch(start, stop)
        index = check.integer("index", index)
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for {n} explanations.")
        index %= n
        return self.batch(index, index + 1)[0]

    def batch(self, start: int, stop: int) -> ExplanationBatch:
        """Inputs ``start`` to ``stop - 1`` as an :class:`ExplanationBatch` (without
        ``inputs``: the store keeps maps, not the data).

        Raises
        ------
        ValueError
            Some of them are not explained yet (the run stopped before them).
        """
        size = self.batch_size
        chunks = np.arange(start // size, -(-stop // size))
        missing = chunks[~self.done[chunks[0]:chunks[-1] + 1]] if stop > start else chunks[:0]
        if missing.size:
            first = max(start, int(missing[0]) * size)
            raise ValueError(
                f"input {first} is not explained yet (the run stopped before it); run explain_dataset again "
                "with the same arguments to finish."
            )
        attrs = self.attrs
        return ExplanationBatch(
            maps=self.maps[start:stop],
            targets=self.targets[start:stop],
            scores=self.scores[start:stop],
            method=attrs["method_title"],
            layer=attrs["layer"],
            model_name=attrs["model"],
            normalized=attrs["normalized"],
            probabilities=attrs["probabilities"],
            signed=attrs["signed"],
            normalization=attrs["normalization"],
            target_names=_stored_names(attrs.get("target_names")),
            extras={k: v[start:stop] for k, v in self.extras.items()},
            empty=self.empty[start:stop],
        )

    def __repr__(self) -> str:
        state = "complete" if self.complete else "incomplete"
        return f"<ExplanationStore {self.attrs['method_title']} maps {tuple(self.maps.shape)} ({state})>"


def _stored_names(names: Any) -> Any:
    if isinstance(names, dict):  # JSON made the keys strings
        return {int(k): v for k, v in names.items()}
    return names


def open_results(path: Union[str, os.PathLike]) -> ExplanationStore:
    """The explanations :func:`explain_dataset` wrote to ``path``, read lazily.

    Raises
    ------
    ValueError
        ``path`` is no eli5-keras store.
    """
    zarr = _zarr()
    path = os.fspath(path)
    if not (Path(path) / "zarr.json").is_file():
        raise ValueError(f"{path!r} is not a zarr store (no zarr.json).")
    return ExplanationStore(zarr.open_group(path, mode="r"))


class _Writer:
    """Gathers explained batches into chunks and writes each chunk at once, then marks
    its batches done. The arrays are created on the first write (their shapes and the
    chunk length come from the first batch's maps); they grow along N when the length is
    unknown.

    Batches arrive by index (``write``); the gathered run of batches is written when the
    next batch belongs to another chunk or does not follow it, when its chunk is full
    (``chunk_size / batch_size`` batches), at the data's end (``finish``) and at a
    requested stop (``close(flush=True)``), in a thread while the caller explains the next
    batches. One write is in flight at a time, so memory holds at most two chunks'
    results; an error of a write is raised by the next call (``write_fields``, ``wait``,
    ``close``, ``finish``). Batches still gathering when the run dies are lost, not done.

    A chunk part-written by an earlier run (it stopped mid-chunk) is completed by a
    read-modify-write: its done batches are unmarked first and marked again after the
    write, so a write cut short never leaves damaged rows marked done."""

    def __init__(self, group: Any, batch_size: int, length: Optional[int], complete: bool = False,
                 chunk_size: Optional[int] = None) -> None:
        self.group, self.batch_size, self.length = group, batch_size, length
        self.complete = complete
        """A resumed store that is already finished."""
        self.chunk_size = int(group["maps"].chunks[0]) if "maps" in group else chunk_size
        """Inputs per chunk: the store's, else ``chunk_size``, else set by the first batch."""
        self.written = 0
        """Inputs written (or in flight) by this writer."""
        self._done = np.asarray(group["done"][:], bool) if "done" in group else np.zeros(0, bool)
        self._mine: Set[int] = set()  # batches this writer wrote
        self._arrays: Dict[str, Any] = {}
        self._pool: Optional[ThreadPoolExecutor] = None
        self._pending: Any = None
        self._gathered: List[Dict[str, np.ndarray]] = []
        self._first = 0  # index of the first gathered batch
        self._probabilities = False

    def done_batches(self) -> Set[int]:
        """Indices of the batches already written."""
        return {int(b) for b in np.flatnonzero(self._done)}

    def is_written(self, row: int) -> bool:
        """Row ``row``'s batch was written (or is in flight) by this writer."""
        return row // self.batch_size in self._mine

    def rows(self, batches: Set[int]) -> int:
        """Inputs in the batches ``batches`` (the last batch may be short)."""
        if not batches:
            return 0
        stored = int(self.group["maps"].shape[0])
        return sum(min(self.batch_size, stored - b * self.batch_size) for b in batches)

    def _create(self, fields: Dict[str, np.ndarray], probabilities: bool) -> None:
        group, size = self.group, self.chunk_size
        rows = self.length or 0
        compressor = _zarr().codecs.BloscCodec(**COMPRESSOR)
        for name, value in fields.items():
            group.create_array(name, shape=(rows,) + value.shape[1:], chunks=(size,) + value.shape[1:],
                               dtype=value.dtype, fill_value=False if value.dtype == bool else 0,
                               compressors=compressor)
        batches = -(-rows // self.batch_size)
        group.create_array("done", shape=(batches,), chunks=(RECORD_CHUNK,), dtype=bool, fill_value=False)
        group.update_attributes(dict(probabilities=bool(probabilities)))

    @property
    def batches_per_chunk(self) -> Optional[int]:
        """Batches per chunk, once known (the store's, ``chunk_size`` or the first batch's)."""
        return None if self.chunk_size is None else self.chunk_size // self.batch_size

    def write(self, first: int, result: ExplanationBatch) -> None:
        """Take the result of batches ``first`` onwards (rows ``first * batch_size`` on;
        any number of whole batches, the data's last one possibly short)."""
        fields, size = _fields(result), self.batch_size
        for j in range(-(-len(result) // size)):
            self.write_fields(first + j, {k: v[j * size:(j + 1) * size] for k, v in fields.items()},
                              result.probabilities)

    def write_fields(self, batch: int, fields: Dict[str, np.ndarray], probabilities: bool) -> None:
        """Take batch ``batch`` as its arrays (path in the group -> ``(rows, ...)``
        values); write the gathered batches when this one ends their chunk or the data."""
        if self.chunk_size is None:
            per = batches_per_chunk(fields["maps"], self.batch_size)
            if self.length is not None:  # no chunk longer than the data
                per = min(per, -(-self.length // self.batch_size))
            self.chunk_size = self.batch_size * per
        per = self.chunk_size // self.batch_size
        if self._gathered and (batch != self._first + len(self._gathered) or batch // per != self._first // per):
            self._submit()
        if not self._gathered:
            self._first = batch
        self._gathered.append(fields)
        self._probabilities = probabilities
        if (batch + 1) % per == 0 or (self.length is not None and (batch + 1) * self.batch_size >= self.length):
            self._submit()

    def _submit(self) -> None:
        """Write the gathered batches (one chunk or part of one) in the writer thread."""
        gathered, self._gathered = self._gathered, []
        if not gathered:
            return
        fields = {k: np.concatenate([g[k] for g in gathered]) if len(gathered) > 1 else gathered[0][k]
                  for k in gathered[0]}
        first, stop = self._first, self._first + len(gathered)
        per = self.chunk_size // self.batch_size
        start = first // per * per
        if len(self._done) < stop:
            self._done = np.concatenate([self._done, np.zeros(stop - len(self._done), bool)])
        kept = [b for b in np.flatnonzero(self._done[start:start + per]) + start if not first <= b < stop]
        self._done[first:stop] = True
        self._mine.update(range(first, stop))
        self.written += len(fields["maps"])
        self.wait()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="eli5-keras-store")
        self._pending = self._pool.submit(self._write_now, first, stop, kept, fields, self._probabilities)

    def _array(self, name: str) -> Any:
        if name not in self._arrays:
            self._arrays[name] = self.group[name]
        return self._arrays[name]

    def _write_now(self, first: int, stop: int, kept: List[int], fields: Dict[str, np.ndarray],
                   probabilities: bool) -> None:
        """Write batches ``first .. stop - 1`` (``fields``), then mark them done; the
        done batches ``kept`` of the same chunk are unmarked while it is rewritten."""
        if "maps" not in self._arrays and "maps" not in self.group:
            self._create(fields, probabilities)
        done = self._array("done")
        if done.shape[0] < stop:
            done.resize((stop,))
        for b in kept:
            done[b] = False
        begin = first * self.batch_size
        end = begin + len(fields["maps"])
        for name, value in fields.items():
            array = self._array(name)
            if array.shape[0] < end:  # unknown length: grow by these batches
                array.resize((end,) + tuple(array.shape[1:]))
            array[begin:end] = value
        done[first:stop] = True  # last: rows count as finished only once their data is written
        for b in kept:
            done[b] = True

    def wait(self) -> None:
        """Wait for the write in flight; its error, if any, is raised here."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def close(self, flush: bool = False) -> None:
        """Write the gathered batches when ``flush`` (else they are dropped), wait for the
        write in flight (its error raised) and end the writer thread."""
        try:
            if flush:
                self._submit()
            self._gathered = []
            self.wait()
        finally:
            self._gathered = []
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None

    def finish(self, **attrs: Any) -> None:
        """At the data's end: write the last batches, wait for them, then mark the store
        complete (with ``attrs`` added)."""
        self.close(flush=True)
        if "maps" not in self.group:
            raise ValueError("data holds no inputs.")
        self.group.update_attributes(dict(attrs, complete=True))


def batches_per_chunk(maps: np.ndarray, batch_size: int) -> int:
    """The default chunk length in batches: as many as keep a chunk of maps within
    :data:`CHUNK_BYTES`, between 1 and :data:`MAX_BATCHES_PER_CHUNK`.

    ``maps`` is one batch's ``(n, T, *S)``; the bytes per input are ``maps[0].nbytes``."""
    per_batch = max(1, batch_size * int(maps[0].nbytes))
    return int(np.clip(CHUNK_BYTES // per_batch, 1, MAX_BATCHES_PER_CHUNK))


def _fields(result: ExplanationBatch) -> Dict[str, np.ndarray]:
    """The store's arrays (path in the group -> values) of a batch's result."""
    fields = {"maps": result.maps, "targets": result.targets, "scores": result.scores, "empty": result.empty}
    fields.update({f"extras/{k}": v for k, v in result.extras.items()})
    return fields


def check_out(out: Any) -> str:
    """``out`` as a string path (a TypeError naming it otherwise)."""
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a path (str or os.PathLike); got {type(out).__name__}.")
    return os.fspath(out)


def open_store(
    out: str, model: keras.Model, explainer: Explainer, length: Optional[int], names: Optional[List[str]],
    targets: Any, top_k: Optional[int], output_index: int, batch_size: int, resume: bool,
    target_names: TargetNames, chunk_size: Optional[int] = None,
) -> _Writer:
    """The writer of the store ``out`` for these arguments: a new store (attributes
    written), or the one there reopened when ``resume`` and made with the same arguments
    (``writer.complete`` when it is finished); one made otherwise is refused.
    ``chunk_size``: inputs per chunk, a multiple of ``batch_size`` (None: see
    :func:`batches_per_chunk`)."""
    arguments = _arguments(model, explainer, length, names, targets, top_k, output_index, batch_size, chunk_size)
    group, resumed = _open_store(out, arguments, resume)
    if not resumed:
        group.update_attributes(dict(
            arguments, library="eli5-keras", version=_version(), format=STORE_FORMAT, complete=False,
            method_title=explainer.method.title, normalized=explainer.pipeline.normalize,
            signed=explainer.pipeline.signed, normalization=explainer.pipeline.describe(explainer._resizes()),
            target_names=_jsonable(_names_list(target_names)),
        ))
    return _Writer(group, batch_size, length, complete=resumed and bool(group.attrs.get("complete")),
                   chunk_size=chunk_size)


def rows_targets(targets: Any, labels: Optional[np.ndarray], start: int, stop: int) -> Any:
    """The targets of rows ``start:stop``: their labels' classes, their rows of a
    per-input array, or ``targets`` as it is."""
    if isinstance(targets, str):
        return _label_targets(labels)
    if isinstance(targets, np.ndarray):
        return targets[start:stop]
    return targets


def check_chunk_size(chunk_size: Any, batch_size: int) -> Optional[int]:
    """``chunk_size`` of :func:`explain_dataset`: None or a positive multiple of ``batch_size``."""
    chunk_size = check.optional_integer("chunk_size", chunk_size, 1)
    if chunk_size is not None and chunk_size % batch_size:
        raise ValueError(f"chunk_size must be a multiple of batch_size={batch_size} (chunks hold whole batches); "
                         f"got {chunk_size}.")
    return chunk_size


def _open_store(out: str, arguments: Dict[str, Any], resume: bool) -> Tuple[Any, bool]:
    """``(group, resumed)``: the store at ``out`` reopened when it was made with the same
    arguments and ``resume``, else a new one (an existing store replaced)."""
    zarr = _zarr()
    path = Path(out)
    is_store = (path / "zarr.json").is_file()
    if path.exists() and not is_store and not (path.is_dir() and not any(path.iterdir())):
        raise ValueError(f"out {out!r} exists and is not an eli5-keras store; choose a new path.")
    if is_store:
        group = zarr.open_group(out, mode="r")
        attrs = dict(group.attrs)
        if attrs.get("library") != "eli5-keras":
            raise ValueError(f"out {out!r} is a zarr store not written by eli5-keras; choose a new path.")
        if resume:
            difference = _difference(attrs, arguments)
            if difference is not None:
                raise ValueError(
                    f"out {out!r} holds explanations made with {difference}; pass resume=False (on the command "
                    "line: leave out --resume) to replace them, or choose another out."
                )
            return zarr.open_group(out, mode="a"), True
        shutil.rmtree(path)
    return zarr.open_group(out, mode="w"), False


# --------------------------------------------------------------------------- the run


def explain_dataset(
    model: keras.Model,
    data: Any,
    method: Any = "gradcam",
    *,
    out: Union[str, os.PathLike],
    targets: Union[None, int, str] = None,
    top_k: Optional[int] = None,
    layer: Any = None,
    batch_size: int = 32,
    resume: bool = True,
    progress: bool = True,
    output_index: int = 0,
    target_names: TargetNames = None,
    preprocess: Optional[Preprocess] = None,
    stop: Optional[Callable[[], bool]] = None,
    chunk_size: Optional[int] = None,
    **options: Any,
) -> ExplanationStore:
    """Explain every input of ``data`` into the Zarr store ``out``: ``(N, *input_shape)
    -> maps (N, T, *S)`` on disk, memory bounded by one batch.

    Parameters
    ----------
    model : keras.Model
    data : tf.data.Dataset, numpy.ndarray (np.memmap included), list or dict of arrays, path or list of paths
        A dataset of ``x``, ``(x, y)`` or ``(x, y, w)`` elements (``x`` a tensor, or a
        dict keyed by input name; ``w`` is ignored), batched or not: an element whose
        ``x`` has the model input's rank is a batch, one rank less is one input. It is
        rebatched to ``batch_size`` and prefetched, so reading overlaps explaining. An
        array ``(N, *input_shape)`` is read one batch at a time; a list (or dict keyed by
        input name) of such arrays feeds a multi-input model. Paths are image files,
        ``.npy`` arrays and folders of them, as ``eli5-keras explain`` reads them
        (images resized to the model's input, then ``preprocess``).
    method : str or Method, default "gradcam"
        Options of the method and of the pipeline (``relu=``, ``normalize=``, ...) go in
        ``**options``, as for :func:`eli5_keras.explain`.
    out : str or path
        The store (a folder; ``maps.zarr`` by convention). Layout: see
        :mod:`eli5_keras.datasets`.
    targets : None, int, "label" or sequence of N ints
        None: each input's top class; an int: that class for every input; ``"label"``:
        each element's own label (a dataset of ``(x, y)``; ``y`` a class index or one-hot);
        an array ``(N,)``: one class per input (data of known length).
    top_k : int, optional
        The ``top_k`` best classes of each input instead (``T = top_k``).
    layer : see :func:`eli5_keras.explain`.
    batch_size : int, default 32
        Inputs read and explained at once; also the bound on work in flight, as for
        ``explain``.
    resume : bool, default True
        When ``out`` holds a store made with the same arguments, explain only the
        chunks it lacks (finished chunks are never recomputed). A store made with other
        arguments (method, options, layer, model or its weights, targets, batch size,
        chunk size, data length or files) is refused with a ValueError naming the
        difference. False replaces an existing store.
    progress : bool, default True
        A progress line on stderr.
    output_index : int, default 0
        Which model output holds the class scores.
    target_names : list or dict, optional
        Class names, kept in the store for ``store[i]`` and the formatters.
    preprocess : callable, optional
        Image files only: float32 pixels ``(H, W, C)`` in [0, 255] -> the model's input
        (default: pixels / 255, as the command line's ``--rescale``).
    stop : callable, optional
        Checked before each batch; when it returns True the run ends there and the store
        stays resumable (``store.complete`` is False).
    chunk_size : int, optional
        Inputs per chunk of the store along N, a multiple of ``batch_size``: each chunk
        is written whole, once its batches are explained. Default: as many batches as keep
        a chunk of maps within :data:`CHUNK_BYTES` (4 MiB), at least one and at most
        :data:`MAX_BATCHES_PER_CHUNK`. Smaller chunks lose less work to an interruption
        and read less per input; larger ones write less often.

    Returns
    -------
    ExplanationStore
        The store, opened lazily; ``store.run`` says how many inputs this call
        explained and skipped.

    Warns
    -----
    EmptyMapWarning
        Once per call when some maps written are empty (constant).
    """
    model = keras_model(model)
    _zarr()  # before any work: a missing extra is said at once
    batch_size = check.integer("batch_size", batch_size, 1)
    top_k = check.optional_integer("top_k", top_k, 1)
    output_index = check.integer("output_index", output_index, 0)
    resume = check.boolean("resume", resume)
    progress = check.boolean("progress", progress)
    check.exclusive("targets", targets, "top_k", top_k)
    chunk_size = check_chunk_size(chunk_size, batch_size)
    out = check_out(out)
    source = _source(data, model, batch_size, preprocess)
    targets = check_targets(targets, source.length)
    if isinstance(targets, str) and not source.has_labels:
        raise ValueError(
            f"targets={LABEL!r} explains each element's label, but data carries none: pass a tf.data.Dataset "
            "of (x, y) elements."
        )
    if not model.built:
        ensure_built(model, source.first_inputs())
    explainer = get_explainer(model, method, layer, **options)
    writer = open_store(out, model, explainer, source.length, source.names, targets, top_k, output_index,
                        batch_size, resume, target_names, chunk_size)
    group = writer.group
    if writer.complete:
        done_rows = int(group["maps"].shape[0])
        return ExplanationStore(group, RunSummary(explained=0, skipped=done_rows, interrupted=False))
    done = writer.done_batches()
    skipped = writer.rows(done)
    bar = _progress(source.length, skipped, progress)
    interrupted, empty = False, []
    try:
        # runs of batches (up to a chunk's end, and CHUNK_BYTES of inputs), one explain() call each: a call's own
        # cost (~1 ms) is then paid once per run; read one run ahead
        run = RunLength(writer, batch_size)
        for first, inputs, labels in source.batches(done, run):
            if stop is not None and stop():
                interrupted = True
                break
            start = first * batch_size
            rows = len(tf.nest.flatten(inputs)[0])
            result = explainer.explain(inputs, rows_targets(targets, labels, start, start + rows), top_k=top_k,
                                       output_index=output_index, batch_size=batch_size, warn=False)
            run.saw(inputs)
            writer.write(first, result)
            empty.extend(start + i for i, _ in result.empty_maps())
            bar.advance(len(result))
        if interrupted:
            writer.close(flush=True)  # the batches explained so far written; a write's error raised here
        else:
            writer.finish()
    except BaseException:
        bar.close(draw=False)
        _close_quietly(writer)
        raise
    bar.close()
    explained = writer.written
    warn_empty_maps(explainer.method.title, [i for i in empty if writer.is_written(i)], explained)
    return ExplanationStore(group, RunSummary(explained=explained, skipped=skipped, interrupted=interrupted))


class RunLength:
    """Batches per explain() call of :func:`explain_dataset`: the store's chunk length in
    batches, capped so that a run's inputs stay within :data:`CHUNK_BYTES` (at least one
    batch); 1 until the first batch is explained (the chunk length and the input size are
    then known)."""

    def __init__(self, writer: _Writer, batch_size: int) -> None:
        self.writer, self.batch_size, self.row_bytes = writer, batch_size, None

    def saw(self, inputs: Any) -> None:
        """Record the bytes per input of a run's model inputs."""
        if self.row_bytes is None:
            self.row_bytes = sum(int(np.asarray(a)[0].nbytes) for a in tf.nest.flatten(inputs))

    def __call__(self) -> int:
        per_chunk = self.writer.batches_per_chunk
        if per_chunk is None or self.row_bytes is None:
            return 1
        return max(1, min(per_chunk, CHUNK_BYTES // max(1, self.batch_size * self.row_bytes)))


def _close_quietly(writer: _Writer) -> None:
    """End the writer thread while another error is raised (that error is the news)."""
    try:
        writer.close()
    except Exception:
        pass


def _version() -> str:
    from . import __version__

    return __version__


def _progress(total: Optional[int], done: int, enabled: bool) -> Any:
    from .cli.progress import Progress

    return Progress(total, done=done, enabled=enabled)


def warn_empty_maps(method: str, empty: List[int], explained: int, shown: int = 8) -> None:
    if not empty:
        return
    inputs = sorted(set(empty))
    named = ", ".join(map(str, inputs[:shown])) + (f" and {len(inputs) - shown} more" if len(inputs) > shown else "")
    warnings.warn(
        EmptyMapWarning(
            f"{method}: {len(empty)} maps of the {explained} inputs explained are empty (constant, so they show "
            f"nothing), of inputs {named} (store.empty has them all). Usually {EMPTY_MAP_HINT}."
        ),
        stacklevel=2,
    )

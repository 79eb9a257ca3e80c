"""What runs in each Ray actor: the model loaded once (from a path or a loader function,
never a pickled live model), TensorFlow's thread pools set to the actor's CPU share, and
:class:`BatchExplainer`, the callable class for ``ray.data.Dataset.map_batches`` that
maps batches of inputs (one column per model input: arrays, or paths of image, ``.npy``
and NIfTI files) to batches of maps, targets and scores."""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import keras
import numpy as np

from .. import validation as check
from ..datasets import Preprocess
from ..explain import get_explainer

ModelSource = Union[str, os.PathLike, Callable[[], keras.Model]]
"""A saved model's path (``.keras``, ``.h5``) or a function returning the model."""

COLUMN = "image"
"""The column ``ray.data.read_images`` fills, explained by default."""

ON_ERROR = ("raise", "skip")
ERROR = "error"
"""Output column: ``""`` for an explained item, else why it could not be."""

INDEX = "__eli5_keras_row__"
"""Column of the rows' positions in the dataset, added when a run resumes a store (its
unfinished rows are kept by position) and passed through :class:`BatchExplainer`."""


def check_model(model: Any) -> None:
    """``model`` is a path that exists or a function (a TypeError or ValueError naming it)."""
    if isinstance(model, keras.Model):
        raise TypeError(
            "model must be a saved model's path or a function returning the model; got a live keras.Model, "
            "which Ray would pickle to every worker: save it (model.save('model.keras')) and pass the path."
        )
    if isinstance(model, (str, os.PathLike)):
        if not Path(model).exists():
            raise ValueError(f"model {os.fspath(model)!r} does not exist.")
    elif not callable(model):
        raise TypeError(f"model must be a path or a function returning a keras.Model; got {type(model).__name__}.")


def load_model(model: ModelSource) -> keras.Model:
    """The model of ``model``: a file loaded with ``keras.saving.load_model(compile=False)``,
    or the result of calling a loader function (in the process that calls this)."""
    check_model(model)
    if isinstance(model, (str, os.PathLike)):
        return keras.saving.load_model(model, compile=False)
    loaded = model()
    if not isinstance(loaded, keras.Model):
        raise TypeError(f"model's loader must return a keras.Model; it returned {type(loaded).__name__}.")
    return loaded


def set_threads(threads: int) -> None:
    """TensorFlow's intra- and inter-op thread pools of this process set to ``threads``
    (a worker's CPU share); a process whose TensorFlow runtime already started keeps its
    pools and says so."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        warnings.warn(f"TensorFlow already started in process {os.getpid()}; its thread pools stay as they are "
                      f"(asked: {threads} threads).", stacklevel=2)


def _rescale_uint8(x: np.ndarray) -> np.ndarray:
    return x / np.float32(255)


class BatchExplainer:
    """``ds.map_batches(BatchExplainer, fn_constructor_kwargs=dict(model=..., ...))``:
    batches of inputs -> batches of maps, one compiled explainer per actor.

    Parameters
    ----------
    model : str, os.PathLike or callable
        A saved model's path, loaded once per actor, or a function returning the model
        (called once per actor; Ray pickles the function, never a live model).
    method : str, default "gradcam"
        Options of the method and the pipeline go in ``**options``, as for
        :func:`eli5_keras.explain`.
    column : str or sequence of str, default "image"
        The column of inputs: arrays of one input each (``(n, *input_shape)``, or an
        object array of them), or paths of image, ``.npy`` and NIfTI files. A
        multi-input model takes one column per input, in the order of ``model.inputs``
        (``column=["image", "meta"]``).
    rows : str, optional
        A column of row indexes into batch ``.npy`` files: the row's input is that
        entry of the file's first axis (``-1``: the file is one input). The command
        line's ``--engine ray`` names a batch file's examples this way.
    targets : None, int or str
        None: each input's top class; an int: that class; a column name (e.g.
        ``"label"``): each row's class from that column.
    top_k, layer, output_index :
        As for :func:`eli5_keras.explain`.
    batch_size : int, default 32
        Bound on the work in flight per call (as for ``explain``).
    preprocess : callable or dict, optional
        One input's float32 array -> the model's input; a dict ``{column: callable}``
        preprocesses those columns only. Default: uint8 arrays (``read_images``' pixels)
        and image files as pixels / 255 (the command line's ``--rescale`` default),
        other arrays as they are.
    ids : str, optional
        A column naming items in errors (e.g. ``"path"`` of ``read_images(...,
        include_paths=True)``); passed through to the output.
    on_error : {"raise", "skip"}
        A bad item raises ValueError naming it; ``"skip"`` gives it a zero map and its
        reason in the ``error`` column (``""`` for explained items).
    threads : int, optional
        Set TensorFlow's thread pools of the actor's process to this many threads (its
        CPU share) before the model loads; None leaves them.
    **options
        Method and pipeline options.

    Returns (per call)
    ------------------
    dict of numpy arrays
        ``maps`` float32 ``(n, T, *S)``, ``targets`` int64 ``(n, T)``, ``scores``
        float32 ``(n, T)``, ``empty`` bool ``(n, T)``, ``extras/NAME``, ``error`` str
        ``(n,)``, ``probabilities`` bool ``(n,)``, the ``ids`` column when given and the
        row numbers (:data:`INDEX`) of a resumed run.
    """

    def __init__(
        self,
        model: ModelSource,
        method: str = "gradcam",
        *,
        column: Union[str, Sequence[str]] = COLUMN,
        rows: Optional[str] = None,
        targets: Union[None, int, str] = None,
        top_k: Optional[int] = None,
        layer: Any = None,
        output_index: int = 0,
        batch_size: int = 32,
        preprocess: Union[None, Preprocess, Dict[str, Preprocess]] = None,
        ids: Optional[str] = None,
        on_error: str = "raise",
        threads: Optional[int] = None,
        **options: Any,
    ) -> None:
        from ..cli.inputs import ExampleLoader

        self.columns = check_columns(column)
        self.rows, self.ids, self.top_k, self.output_index = rows, ids, top_k, output_index
        self.batch_size = check.integer("batch_size", batch_size, 1)
        self.on_error = check.choice("on_error", on_error, ON_ERROR)
        if targets is not None and not isinstance(targets, str):
            targets = check.integer("targets", targets, 0)
        self.targets = targets
        self.preprocess = _per_column(preprocess, self.columns)
        if threads is not None:
            set_threads(check.integer("threads", threads, 1))
        self.model = load_model(model)
        inputs = self.model.inputs or []
        if len(inputs) != len(self.columns):
            raise ValueError(
                f"column must name one column per model input: model {self.model.name!r} has {len(inputs)} "
                f"inputs {[i.name for i in inputs]}; got {len(self.columns)} columns {list(self.columns)}."
            )
        self.input_shapes = [tuple(i.shape) for i in inputs]
        self.explainer = get_explainer(self.model, method, layer, **options)
        self.loaders = [ExampleLoader(shape, self.preprocess.get(c) or _rescale_uint8)
                        for shape, c in zip(self.input_shapes, self.columns)]
        self._template: Optional[Dict[str, np.ndarray]] = None

    # -- inputs

    def _item(self, value: Any, k: int, row: Optional[int]) -> np.ndarray:
        """One item of input ``k`` as the model's input (a ValueError saying what is wrong)."""
        from ..cli.errors import UsageError
        from ..cli.inputs import Example

        if isinstance(value, (str, bytes, os.PathLike)):
            path = Path(os.fsdecode(value))
            try:
                return self.loaders[k].load(Example(path.name, path, row))[0]
            except UsageError as error:
                raise ValueError(str(error)) from None
            except IndexError:
                raise ValueError(f"has no row {row}") from None
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"holds {array.dtype} values, not numbers")
        expected = self.input_shapes[k][1:]
        if array.ndim != len(expected) or any(e is not None and e != g for e, g in zip(expected, array.shape)):
            raise ValueError(f"has shape {array.shape}; the model takes inputs of shape {expected} (None: any size)")
        preprocess = self.preprocess.get(self.columns[k])
        if preprocess is not None:
            return np.asarray(preprocess(array.astype(np.float32)), np.float32)
        if array.dtype == np.uint8:
            return _rescale_uint8(array.astype(np.float32))
        return array

    def _name(self, batch: Dict[str, np.ndarray], row: int, column: str) -> str:
        where = f" (column {column!r})" if len(self.columns) > 1 else ""
        if self.ids is not None:
            return f"item {_plain(batch[self.ids][row])!r}{where}"
        value = batch[column][row]
        if isinstance(value, (str, bytes, os.PathLike)):
            return f"item {str(os.fsdecode(value))!r}{where}"  # str: not numpy's repr of np.str_
        return f"row {row} of a batch of {len(batch[column])}{where} (name items with ids=)"

    def _row(self, batch: Dict[str, np.ndarray], row: int) -> Optional[int]:
        if self.rows is None:
            return None
        index = int(batch[self.rows][row])
        return None if index < 0 else index

    # -- outputs

    def _fields(self, inputs: List[np.ndarray], targets: Any) -> Dict[str, np.ndarray]:
        result = self.explainer.explain(inputs if len(inputs) > 1 else inputs[0], targets, top_k=self.top_k,
                                        output_index=self.output_index, batch_size=self.batch_size, warn=False)
        fields = {"maps": result.maps, "targets": result.targets, "scores": result.scores, "empty": result.empty}
        fields.update({f"extras/{k}": v for k, v in result.extras.items()})
        fields["probabilities"] = np.full(len(result), bool(result.probabilities))
        return fields

    def _blank(self, n: int) -> Dict[str, np.ndarray]:
        """Zero rows shaped as the explainer's outputs (for skipped items)."""
        if self._template is None:
            if any(d is None for shape in self.input_shapes for d in shape[1:]):
                raise ValueError("cannot skip a whole batch of bad items for a model with free input sizes: "
                                 "the map shape is unknown; use on_error='raise'")
            zeros = [np.zeros((1,) + shape[1:], keras.backend.standardize_dtype(i.dtype))
                     for shape, i in zip(self.input_shapes, self.model.inputs)]
            targets = None if isinstance(self.targets, str) else self.targets
            self._template = self._fields(zeros, targets)
        return {k: np.zeros((n,) + v.shape[1:], v.dtype) for k, v in self._template.items()}

    def _read(self, batch: Dict[str, np.ndarray]) -> Tuple[List[int], List[List[np.ndarray]], np.ndarray]:
        """``(rows read, their arrays per input, why each row could not be read ("": it was))``."""
        n = len(batch[self.columns[0]])
        errors = np.full(n, "", dtype=object)
        good: List[int] = []
        items: List[List[np.ndarray]] = [[] for _ in self.columns]
        for row in range(n):
            arrays = []
            for k, column in enumerate(self.columns):
                try:
                    arrays.append(self._item(batch[column][row], k, self._row(batch, row)))
                except ValueError as error:
                    errors[row] = f"{self._name(batch, row, column)} {error}"
                    break
            else:
                good.append(row)
                for k, array in enumerate(arrays):
                    items[k].append(array)
        for k, column in enumerate(self.columns):
            shapes = sorted({a.shape for a in items[k]})
            if len(shapes) > 1:
                for row in good:
                    errors[row] = f"{self._name(batch, row, column)}: inputs of one batch differ in shape {shapes}"
                return [], [[] for _ in self.columns], errors
        return good, items, errors

    def __call__(self, batch: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
        for column in self.columns:
            if column not in batch:
                raise ValueError(f"column {column!r} is not in the dataset's batches, which have "
                                 f"{sorted(batch)}; pass column= (read_images: 'image').")
        good, items, errors = self._read(batch)
        n = len(errors)
        if len(good) < n and self.on_error == "raise":
            raise ValueError(next(e for e in errors if e))
        targets = self.targets
        if isinstance(targets, str):
            targets = np.asarray(batch[targets])[good].astype(np.int64)
        output = self._fields([np.stack(arrays) for arrays in items], targets) if good else None
        if len(good) < n:
            blank = self._blank(n)
            if output is not None:
                for key, value in output.items():
                    blank[key][good] = value
            blank["empty"][errors != ""] = True
            output = blank
        output[ERROR] = errors.astype(str)
        for passed in (self.ids, INDEX):
            if passed is not None and passed in batch:
                output[passed] = batch[passed]
        return output


def check_columns(column: Any) -> Tuple[str, ...]:
    """``column`` as a tuple of column names (a TypeError naming it otherwise)."""
    columns = (column,) if isinstance(column, str) else tuple(column) if isinstance(column, (list, tuple)) else None
    if not columns or not all(isinstance(c, str) for c in columns):
        raise TypeError(f"column must be a column name or a list of them (one per model input); got {column!r}.")
    return columns


def _per_column(preprocess: Any, columns: Tuple[str, ...]) -> Dict[str, Preprocess]:
    """``preprocess`` as ``{column: callable}`` (a callable applies to every column)."""
    if preprocess is None:
        return {}
    if callable(preprocess):
        return dict.fromkeys(columns, preprocess)
    if isinstance(preprocess, dict):
        unknown = sorted(set(preprocess) - set(columns))
        if unknown or not all(callable(f) for f in preprocess.values()):
            raise ValueError(f"preprocess as a dict maps columns {list(columns)} to functions; got keys "
                             f"{sorted(preprocess)}" + (f" ({unknown} not among the columns)." if unknown else "."))
        return dict(preprocess)
    raise TypeError(f"preprocess must be a function or a dict of them by column; got {type(preprocess).__name__}.")


def _plain(value: Any) -> Any:
    """A numpy scalar as JSON holds it."""
    return value.item() if isinstance(value, np.generic) else value

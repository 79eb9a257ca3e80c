"""The driver's side of a Ray run: :func:`explain_dataset` maps a ``ray.data.Dataset``
through :class:`~eli5_keras.ray.worker.BatchExplainer` on an actor pool and writes the
batches, in the dataset's order, into :mod:`eli5_keras.datasets`' Zarr store
(:func:`write_batches`), or lets Ray write Parquet. A rerun on an unfinished store
numbers the rows and sends only those of unfinished batches (:func:`unfinished_rows`)."""
from __future__ import annotations

import os
import warnings
from typing import Any, Dict, Iterable, Optional, Sequence, Set, Tuple, Union

import numpy as np

from .. import validation as check
from ..datasets import (
    ExplanationStore,
    Preprocess,
    RunSummary,
    _Writer,
    _close_quietly,
    _progress,
    check_out,
    open_store,
    warn_empty_maps,
)
from ..explain import Explainer, TargetNames, get_explainer
from .worker import (
    COLUMN,
    ERROR,
    INDEX,
    ON_ERROR,
    BatchExplainer,
    ModelSource,
    _plain,
    check_columns,
    check_model,
    load_model,
)


def _ray() -> Any:
    """The ``ray`` module, imported when used: an optional extra."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            "eli5_keras.ray runs on Ray Data: pip install 'eli5-keras[ray]'.", name="ray"
        ) from None
    return ray


def _ordered(ds: Any) -> Any:
    """``ds`` with its own copy of the execution context, set to keep the order of its
    rows (the store is written by position) and without Ray's progress lines (the run
    draws its own); the user's dataset and Ray's current context are left as they are."""
    from ray.data import Dataset

    ordered = Dataset.copy(ds, _deep_copy=True)
    context = ordered.context
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    return ordered


def explain_dataset(
    ds: Any,
    model: ModelSource,
    method: str = "gradcam",
    *,
    out: Union[str, os.PathLike],
    column: Union[str, Sequence[str]] = COLUMN,
    workers: int = 1,
    gpus_per_worker: float = 0,
    cpus_per_worker: float = 1,
    targets: Union[None, int, str] = None,
    top_k: Optional[int] = None,
    layer: Any = None,
    batch_size: int = 32,
    ids: Optional[str] = None,
    rows: Optional[str] = None,
    on_error: str = "raise",
    format: Optional[str] = None,
    resume: bool = True,
    progress: bool = True,
    output_index: int = 0,
    target_names: TargetNames = None,
    preprocess: Union[None, Preprocess, Dict[str, Preprocess]] = None,
    **options: Any,
) -> Union[ExplanationStore, str]:
    """Explain every row of the Ray dataset ``ds`` on ``workers`` actors into ``out``.

    Each actor holds one model and one compiled explainer
    (:class:`BatchExplainer`) and receives batches of ``batch_size`` rows; the driver
    (this process) writes the results into the Zarr store of
    :func:`eli5_keras.explain_dataset` (batch ``b`` = rows ``b*B .. b*B+B-1`` in the
    dataset's order), or Ray writes Parquet files from the workers.

    Parameters
    ----------
    ds : ray.data.Dataset
        Rows with a ``column`` of inputs (see :class:`BatchExplainer`).
    model : str, os.PathLike or callable
        A saved model's path or a loader function (never a live model). The driver loads
        it too, for the store's attributes (method options, layer, weights fingerprint).
    method, column, rows, targets, top_k, layer, output_index, preprocess, ids, **options
        See :class:`BatchExplainer`; ``targets="label"`` explains the ``label`` column,
        ``column=["image", "meta"]`` feeds a two-input model.
    out : str or path
        ``*.zarr``: a Zarr store (layout: :mod:`eli5_keras.datasets`); otherwise, with
        ``format="parquet"`` (or a path ending in ``.parquet``), a folder of Parquet files
        whose rows hold ``maps``, ``targets``, ``scores``, ``empty``, ``error`` and the
        ``ids`` column, in no particular order.
    workers : int, default 1
        Actors in the pool (``ActorPoolStrategy(size=workers)``); each sets TensorFlow's
        thread pools to ``cpus_per_worker`` threads.
    gpus_per_worker, cpus_per_worker : float
        Ray resources of each actor (``num_gpus``, ``num_cpus``).
    batch_size : int, default 32
        Rows per call of an actor, the store's unit of resuming, and the bound on work in
        flight per actor.
    on_error : {"raise", "skip"}
        A bad item stops the run with a ValueError naming it (its position in the
        dataset, and its id); ``"skip"`` writes a zero map flagged empty and lists it in
        ``store.skipped``.
    resume : bool, default True
        A store made with the same arguments is continued: a finished one is returned as
        it is; of an unfinished one only the rows of batches not done go to the workers
        (the rows are counted and numbered first, :func:`unfinished_rows`), so finished
        batches are never recomputed. A store made with other arguments is refused with a
        ValueError naming the difference. False replaces it.
    progress : bool, default True
        A progress line on stderr (store output).

    Returns
    -------
    ExplanationStore or str
        The store (``store.run``, ``store.skipped``), or the Parquet folder's path.
    """
    ray = _ray()
    workers = check.integer("workers", workers, 1)
    gpus_per_worker = check.real("gpus_per_worker", gpus_per_worker, low=0)
    cpus_per_worker = check.real("cpus_per_worker", cpus_per_worker, low=0)
    batch_size = check.integer("batch_size", batch_size, 1)
    on_error = check.choice("on_error", on_error, ON_ERROR)
    resume = check.boolean("resume", resume)
    check.exclusive("targets", targets, "top_k", top_k)
    top_k = check.optional_integer("top_k", top_k, 1)
    if targets is not None and not isinstance(targets, str):
        targets = check.integer("targets", targets, 0)
    check_columns(column)
    check_model(model)
    if not isinstance(ds, ray.data.Dataset):
        raise TypeError(f"ds must be a ray.data.Dataset; got {type(ds).__name__}.")
    out = check_out(out)
    format = format or ("zarr" if out.rstrip("/\\").lower().endswith(".zarr") else
                        "parquet" if out.rstrip("/\\").lower().endswith(".parquet") else None)
    if format is None:
        raise ValueError(f"out {out!r} must end in .zarr (a Zarr store) or .parquet, or pass format='zarr' or "
                         "'parquet'.")
    format = check.choice("format", format, ("zarr", "parquet"))
    kwargs = dict(options, method=method, column=column, rows=rows, targets=targets, top_k=top_k, layer=layer,
                  output_index=output_index, batch_size=batch_size, preprocess=preprocess, ids=ids,
                  threads=max(1, int(cpus_per_worker)), model=model)
    mapped_args = dict(
        fn_constructor_kwargs=kwargs, batch_size=batch_size, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=cpus_per_worker,
        **({"num_gpus": gpus_per_worker} if gpus_per_worker else {}),
    )
    if format == "parquet":
        kwargs["on_error"] = on_error
        ds.map_batches(BatchExplainer, **mapped_args).write_parquet(out)
        return out
    kwargs["on_error"] = "skip"  # the driver raises, naming the item's position
    loaded = load_model(model)
    explainer = get_explainer(loaded, method, layer, **options)
    writer = open_store(out, loaded, explainer, None, None, targets, top_k, output_index, batch_size, resume,
                        target_names)
    if writer.complete:
        stored = int(writer.group["maps"].shape[0])
        return ExplanationStore(writer.group, RunSummary(explained=0, skipped=stored, interrupted=False))
    ds, length = _ordered(ds), None
    done = writer.done_batches()
    if done:
        ds, length = unfinished_rows(ds, done, batch_size, int(writer.group["maps"].shape[0]), out)
    batches: Iterable[Dict[str, np.ndarray]] = ()
    if length is None or len(done) < -(-length // batch_size):  # else only the run's end was not recorded
        batches = ds.map_batches(BatchExplainer, **mapped_args).iter_batches(batch_size=batch_size,
                                                                             batch_format="numpy")
    return write_batches(batches, writer, explainer, length=length, progress=progress, ids=ids, on_error=on_error)


def unfinished_rows(ds: Any, done: Set[int], batch_size: int, stored: int, out: str) -> Tuple[Any, int]:
    """``(the rows of ds in batches not in done, numbered (column INDEX), ds's length)``.

    Ray Data has no row positions: the rows are counted (``ds.count()``, a pass over the
    data unless its blocks know their lengths) and zipped with ``0 .. N-1``; Ray's zip
    holds ``ds``'s blocks in the object store (spilled to disk beyond its size) before
    the first batch goes on. Batch ``b`` is rows ``b*B .. b*B+B-1``.

    Raises
    ------
    ValueError
        ``ds`` has fewer rows than the store ``out`` holds: it is another dataset.
    """
    ray = _ray()
    length = ds.count()
    if length < stored:
        raise ValueError(f"out {out!r} holds explanations of {stored} rows, but ds has {length}: it was made from "
                         "another dataset; pass resume=False to replace it, or choose another out.")
    numbers = ray.data.range(length, override_num_blocks=1).rename_columns({"id": INDEX})
    with warnings.catch_warnings():  # zip is deprecated in Ray 2.60 (removal planned in 2.64; see docs/scale.md)
        warnings.simplefilter("ignore", DeprecationWarning)
        numbered = ds.zip(numbers)
    # an expression, evaluated by Ray Data itself: the read tasks need not import this module
    from ray.data.expressions import col

    return numbered.filter(expr=(col(INDEX) // batch_size).not_in(sorted(done))), length


def write_batches(
    batches: Iterable[Dict[str, np.ndarray]], writer: _Writer, explainer: Explainer, *, length: Optional[int] = None,
    progress: bool = True, ids: Optional[str] = None, on_error: str = "raise",
) -> ExplanationStore:
    """Write :class:`BatchExplainer`'s output batches into the store (gathered into its
    chunks), then mark the store complete.

    Parameters
    ----------
    batches : iterable of dict
        Batches of ``writer.batch_size`` rows in the dataset's order (the last one may be
        short), from a ``BatchExplainer(on_error="skip")``; on a resumed store, the rows of
        its unfinished batches numbered by the column :data:`INDEX`.
    writer : datasets' store writer (:func:`eli5_keras.datasets.open_store`)
    explainer : Explainer
        The one that made the maps (its method's title for the empty-map warning).
    length : int, optional
        Rows of the dataset, when known (the progress line's total).
    progress : bool
        A progress line on stderr.
    ids : str, optional
        The column naming items in ``store.skipped``.
    on_error : {"raise", "skip"}
        A batch row with an error raises ValueError naming its position in the dataset,
        or is kept in the store's ``skipped`` attribute, before its batch is written, so
        a resumed run keeps those of finished batches. The batches before a bad item
        are written before the error is raised.
    """
    on_error = check.choice("on_error", on_error, ON_ERROR)
    batch_size = writer.batch_size
    done = writer.done_batches()
    kept = writer.rows(done)
    skipped = [s for s in writer.group.attrs.get("skipped", []) if s["index"] // batch_size in done]
    bar = _progress(length, kept, check.boolean("progress", progress))
    explained, empty = 0, []
    try:
        for number, batch in enumerate(batches):
            index = _batch_index(batch, number, batch_size)
            start = index * batch_size
            bad = []
            for row in np.flatnonzero(batch[ERROR] != ""):
                item = dict(index=int(start + row), error=str(batch[ERROR][row]))
                if ids is not None:
                    item["id"] = _plain(batch[ids][row])
                if on_error == "raise":
                    writer.close(flush=True)  # the batches before it are written: a rerun continues there
                    raise ValueError(f"input {start + row} of the dataset: {item['error']}")
                bad.append(item)
            if bad:
                skipped.extend(bad)
                writer.wait()  # the writer thread may be updating the group's attributes
                writer.group.attrs.update(dict(skipped=skipped))
            fields = {k: v for k, v in batch.items() if k not in (ERROR, "probabilities", ids, INDEX)}
            writer.write_fields(index, fields, bool(batch["probabilities"][0]))
            explained += len(fields["maps"])
            bad_rows = {i["index"] - start for i in bad}
            empty.extend(start + int(i) for i in np.flatnonzero(fields["empty"].any(axis=1)) if i not in bad_rows)
            bar.advance(len(fields["maps"]))
        writer.finish(skipped=skipped)  # the last chunk written; an error of a write is raised here
    except BaseException:
        bar.close(draw=False)
        _close_quietly(writer)
        raise
    bar.close()
    warn_empty_maps(explainer.method.title, empty, explained)
    return ExplanationStore(writer.group, RunSummary(explained=explained, skipped=kept, interrupted=False))


def _batch_index(batch: Dict[str, np.ndarray], number: int, batch_size: int) -> int:
    """The store's batch index of the ``number``-th batch the driver reads: by its rows'
    numbers when the run resumes (whole batches, the last one of the data possibly short)."""
    if INDEX not in batch:
        return number
    first = int(batch[INDEX][0])
    if first % batch_size or np.any(np.diff(batch[INDEX]) != 1):
        raise RuntimeError(f"rows {batch[INDEX][:3]}... of a resumed run do not start a batch of {batch_size}: "
                           "Ray did not keep the dataset's order.")
    return first // batch_size



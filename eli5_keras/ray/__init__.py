"""Explanations of a Ray dataset on an actor pool: many processes, many machines.

``pip install 'eli5-keras[ray]'``. Two pieces:

- :class:`BatchExplainer`, a callable class for ``ray.data.Dataset.map_batches``: each
  actor loads the model once (from a file path or a loader function: a live model is
  never pickled), builds one compiled :class:`~eli5_keras.explain.Explainer`, and maps
  batches ``{column: (n, *input_shape)}`` to ``{"maps": (n, T, *S), "targets": (n, T),
  "scores": (n, T), "empty": (n, T), "extras/NAME": ..., "error": (n,)}``;
- :func:`explain_dataset`, which runs it on ``ActorPoolStrategy(size=workers)`` and
  writes the Zarr store of :func:`eli5_keras.explain_dataset` (the same layout and
  writer, read with :func:`eli5_keras.open_results`), or Parquet files with Ray's own
  writer.

Items of the column are arrays of one input (``read_images``' ``image`` column: uint8
pixels, pixels / 255 unless ``preprocess=`` says otherwise), or paths of image, ``.npy``
and NIfTI files that the actor reads with the command line's readers; a multi-input
model takes one column per input. A bad item (a file that does not decode, an array of
the wrong shape) is named in a ValueError, or skipped and listed with
``on_error="skip"``. A rerun on an unfinished store explains only the rows of its
unfinished batches (:func:`unfinished_rows`).
"""
from .driver import explain_dataset, unfinished_rows, write_batches
from .worker import (
    COLUMN,
    ERROR,
    INDEX,
    ON_ERROR,
    BatchExplainer,
    ModelSource,
    check_columns,
    check_model,
    load_model,
    set_threads,
)

__all__ = [
    "BatchExplainer", "COLUMN", "ERROR", "INDEX", "ModelSource", "ON_ERROR", "check_columns", "check_model",
    "explain_dataset", "load_model", "set_threads", "unfinished_rows", "write_batches",
]

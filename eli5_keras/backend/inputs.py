"""Check and convert user inputs against a model's input signature."""
from __future__ import annotations

from typing import Any, List, Optional

import keras
import numpy as np

from .topology import model_inputs


def model_input_shapes(model: keras.Model) -> List[tuple]:
    """Input shapes with the batch axis (``None`` for free dimensions)."""
    return [tuple(x.shape) for x in model_inputs(model)]


def _to_array(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "numpy") and callable(x.numpy):
        x = x.numpy()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as e:
        raise TypeError(f"{name} must be an array-like of numbers; got {type(x).__name__}: {e}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(
            f"{name} must be numeric (a numpy array, tf tensor or nested list of numbers); "
            f"got an array of dtype {arr.dtype}."
        )
    return arr


def _split_per_input(model: keras.Model, inputs: Any, name: str) -> list:
    n = len(model_inputs(model))
    if n == 1:
        if isinstance(inputs, dict):
            if len(inputs) != 1:
                raise ValueError(f"{name}: model {model.name!r} has one input; got a dict with keys {list(inputs)}.")
            return list(inputs.values())
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1 and hasattr(inputs[0], "shape"):
            return [inputs[0]]
        return [inputs]
    if isinstance(inputs, dict):
        names = [x.name for x in model_inputs(model)]
        missing = [k for k in names if k not in inputs]
        if missing:
            raise ValueError(f"{name}: missing entries {missing} for model inputs {names}; got keys {list(inputs)}.")
        return [inputs[k] for k in names]
    if not isinstance(inputs, (list, tuple)) or len(inputs) != n:
        got = f"a {type(inputs).__name__} of length {len(inputs)}" if isinstance(inputs, (list, tuple)) else type(inputs).__name__
        raise ValueError(
            f"{name}: model {model.name!r} has {n} inputs, so pass a list of {n} arrays "
            f"(or a dict keyed by input name); got {got}."
        )
    return list(inputs)


def prepare_inputs(
    model: keras.Model, inputs: Any, name: str = "inputs", allow_unbatched: bool = True
) -> List[np.ndarray]:
    """Validate ``inputs`` for ``model`` and return one numpy array per model input.

    Accepts numpy arrays, tf tensors and nested lists; for multi-input models a list or
    a dict keyed by input name. One example without the batch axis is batched when
    ``allow_unbatched``. Integer and boolean images are cast to the model's float
    input dtype (integer model inputs, such as token ids, stay integers).

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Wrong number of inputs, wrong rank or shape (message gives expected and got),
        unequal batch sizes, NaN or infinite values, an empty batch.
    """
    parts = _split_per_input(model, inputs, name)
    expected = model_input_shapes(model)
    arrays = []
    for i, (x, shape, spec) in enumerate(zip(parts, expected, model_inputs(model))):
        label = name if len(parts) == 1 else f"{name}[{i}]"
        arr = _to_array(x, label)
        given = arr.shape
        if allow_unbatched and arr.ndim == len(shape) - 1:
            arr = arr[None]
        if arr.ndim != len(shape) or any(
            e is not None and e != g for e, g in zip(shape[1:], arr.shape[1:])
        ):
            raise ValueError(
                f"{label} has shape {given}, but model {model.name!r} expects "
                f"{shape} (batch first; None is any size)."
            )
        dtype = np.dtype(keras.backend.standardize_dtype(spec.dtype))
        if np.issubdtype(dtype, np.floating):
            if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
                bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
                raise ValueError(f"{label} contains {bad} NaN or infinite values; explanations need finite inputs.")
            arr = arr.astype(dtype, copy=False)
        elif np.issubdtype(arr.dtype, np.floating) and not np.all(np.equal(np.mod(arr, 1), 0)):
            raise ValueError(f"{label} has fractional values but model input is {dtype}.")
        else:
            arr = arr.astype(dtype, copy=False)
        arrays.append(arr)
    sizes = {a.shape[0] for a in arrays}
    if len(sizes) != 1:
        raise ValueError(f"{name}: all model inputs need the same batch size; got {[a.shape[0] for a in arrays]}.")
    if sizes == {0}:
        raise ValueError(f"{name} is an empty batch (0 examples).")
    return arrays


def is_token_input(spec: Any) -> bool:
    """An integer input of shape ``(N, L)``: token ids, one spatial axis, no channels."""
    dtype = np.dtype(keras.backend.standardize_dtype(spec.dtype))
    return len(spec.shape) == 2 and np.issubdtype(dtype, np.integer)


def input_spatial_rank(spec: Any) -> int:
    """Number of spatial axes of a model input: ``(N, *S, C)`` -> ``len(S)``; token ids
    ``(N, L)`` -> 1."""
    return len(spec.shape) - 1 if is_token_input(spec) else len(spec.shape) - 2


def spatial_size(spec: Any, x: Any) -> list:
    """The spatial sizes of a batch ``x`` fed to the input described by ``spec``
    (dynamic when traced): ``(N, *S, C)`` -> ``S``; ``(N, L)`` token ids -> ``[L]``."""
    return batch_spatial_size(x, input_spatial_rank(spec))


def batch_spatial_size(x: Any, rank: Optional[int] = None) -> list:
    """The ``rank`` spatial sizes of a channels-last batch (dynamic when traced):
    ``(N, *S, C)`` -> ``S`` (default: every axis between the batch and the channels)."""
    import tensorflow as tf

    if rank is None:
        rank = x.shape.rank - 2
    return [tf.shape(x)[1 + i] for i in range(rank)]


def spatial_input_index(model: keras.Model, layer_rank: int) -> int:
    """Index of the first model input with as many spatial axes as a layer output of
    rank ``layer_rank`` (``(N, *s, C)``): the input a map is resized onto."""
    for i, spec in enumerate(model_inputs(model)):
        if input_spatial_rank(spec) == layer_rank - 2:
            return i
    raise ValueError(
        f"no input of model {model.name!r} has the {layer_rank - 2} spatial axes of the explained "
        f"layer's output (rank {layer_rank}); inputs are {model_input_shapes(model)}."
    )

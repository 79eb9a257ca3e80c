"""Class names instead of indices: ``target_names`` as a list or a dict."""
from __future__ import annotations

import numbers
from typing import Any, Mapping, Sequence, Union

import numpy as np

__all__ = ["TargetNames", "check_target_names", "target_label"]

TargetNames = Union[None, Sequence[str], Mapping[Any, str]]
"""A list (``names[i]`` names class ``i``) or a dict (index, or eli5's old name, -> name)."""


def check_target_names(target_names: Any) -> TargetNames:
    """Return ``target_names`` if it is None, a sequence of names or a mapping.

    Raises
    ------
    TypeError
        A string (a sequence of characters, surely not meant) or another type.
    """
    if target_names is None or isinstance(target_names, Mapping):
        return target_names
    if isinstance(target_names, np.ndarray):
        target_names = target_names.tolist()
    if isinstance(target_names, (str, bytes)) or not isinstance(target_names, Sequence):
        raise TypeError(
            "target_names must be a list of class names (index i names class i) or a dict "
            f"{{index: name}}; got {type(target_names).__name__}: {target_names!r:.100}."
        )
    return target_names


def target_label(target: Any, target_names: TargetNames) -> str:
    """The name shown for ``target`` (a class index, or a name already).

    A list must name every index shown; a dict may name some (others show as numbers),
    and may also rename targets that are names already (eli5's ``{'old': 'new'}``).

    Raises
    ------
    ValueError
        ``target`` is an index past the end of the ``target_names`` list.
    """
    if target_names is None:
        return str(target)
    if isinstance(target_names, Mapping):
        key = int(target) if isinstance(target, numbers.Integral) else target
        return str(target_names.get(key, target))
    if isinstance(target, numbers.Integral) and not isinstance(target, bool):
        if not 0 <= target < len(target_names):
            raise ValueError(
                f"target_names has {len(target_names)} names (indices 0 to {len(target_names) - 1}); "
                f"there is no name for target {int(target)}."
            )
        return str(target_names[int(target)])
    return str(target)

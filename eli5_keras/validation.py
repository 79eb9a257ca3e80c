"""Validation of arguments and options: each raises with the argument's name, what was
expected and what was given (TypeError for a wrong type, ValueError for a wrong value),
and returns the value in canonical (hashable) form."""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Sequence, Tuple, Union


def integer(name: str, value: Any, minimum: Optional[int] = None) -> int:
    """An int (not a bool), at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int; got {type(value).__name__}: {value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}; got {value!r}.")
    return int(value)


def optional_integer(name: str, value: Any, minimum: Optional[int] = None) -> Optional[int]:
    """None, or an int (not a bool) at least ``minimum``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None or an int; got {type(value).__name__}: {value!r}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be None or an int >= {minimum}; got {value!r}.")
    return int(value)


def index(name: str, value: Any, size: int, context: str = "") -> int:
    """An int (not a bool) in ``[0, size)``; ``context`` (e.g. what the ``size``
    things are) is added to the message of an index out of range."""
    value = integer(name, value)
    if not 0 <= value < size:
        raise ValueError(f"{name} must be an int in [0, {size}){context}; got {value!r}.")
    return value


def exclusive(first: str, first_value: Any, second: str, second_value: Any) -> None:
    """Raise unless at most one of ``first`` and ``second`` was given (is not None)."""
    if first_value is not None and second_value is not None:
        raise ValueError(
            f"pass either {first} or {second}, not both; got {first} of type "
            f"{type(first_value).__name__} and {second}={second_value!r}."
        )


def real(
    name: str,
    value: Any,
    low: Optional[float] = None,
    high: Optional[float] = None,
    open_low: bool = False,
    open_high: bool = False,
) -> float:
    """A finite real number in ``[low, high]`` (``(low`` / ``high)`` when open)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
        raise TypeError(f"{name} must be a finite number; got {type(value).__name__}: {value!r}.")
    value = float(value)
    below = low is not None and (value <= low if open_low else value < low)
    above = high is not None and (value >= high if open_high else value > high)
    if below or above:
        left = "(" if open_low else "["
        right = ")" if open_high else "]"
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ValueError(f"{name} must be in {span}; got {value!r}.")
    return value


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__}: {value!r}.")
    return value


def choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value`` if it is one of the strings ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}; got {value!r}.")
    return value


def per_axis(name: str, value: Any, minimum: int = 1) -> Union[int, Tuple[int, ...]]:
    """An int for every spatial axis, or a tuple with one int per axis (checked
    against the input's rank by :func:`expand_per_axis`)."""
    if isinstance(value, (tuple, list)):
        if not value:
            raise ValueError(f"{name} must be an int or a non-empty tuple of ints; got {value!r}.")
        return tuple(integer(f"{name}[{i}]", v, minimum) for i, v in enumerate(value))
    return integer(name, value, minimum)


def expand_per_axis(name: str, value: Union[int, Tuple[int, ...]], rank: int) -> Tuple[int, ...]:
    """``value`` for each of ``rank`` spatial axes."""
    if isinstance(value, tuple):
        if len(value) != rank:
            raise ValueError(
                f"{name} has {len(value)} entries but the input has {rank} spatial axes; got {value!r}."
            )
        return value
    return (value,) * rank


def float_tuple(name: str, value: Any, low: float = 0.0) -> Tuple[float, ...]:
    """A non-empty tuple of finite numbers ``> low``."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)) or not value:
        raise TypeError(f"{name} must be a non-empty tuple of numbers; got {value!r}.")
    return tuple(real(f"{name}[{i}]", v, low=low, open_low=True) for i, v in enumerate(value))


def int_tuple(name: str, value: Any) -> Tuple[int, ...]:
    """A tuple of distinct ints (possibly empty); an int is a tuple of one."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of ints; got {type(value).__name__}: {value!r}.")
    out = tuple(integer(f"{name}[{i}]", v) for i, v in enumerate(value))
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat an entry; got {value!r}.")
    return out

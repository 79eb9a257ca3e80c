"""Tokens of a text explanation: validation, padding, the document and its spans.

A text model reads a document as ``L`` token ids; the user names the positions with
``L`` strings. The explained document is those strings joined (eli5's rule: with no
separator when every token is one character, a character-level model; with a space
otherwise), and each token becomes eli5's weighted span
``(token, [(start, end)], weight)`` with ``document[start:end] == token``.
"""
from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ..base import DocWeightedSpans, WeightedSpan, WeightedSpans


def as_token_rows(tokens: Any, batch: int, length: int, name: str = "tokens") -> List[List[str]]:
    """Check ``tokens`` against a batch of ``batch`` documents of ``length`` positions.

    Parameters
    ----------
    tokens : sequence of str, or a batch of them (list of lists, numpy array of str)
        ``(length,)`` for a single document (``batch == 1``), else ``(batch, length)``.

    Returns
    -------
    list of ``batch`` lists of ``length`` str

    Raises
    ------
    TypeError
        ``tokens`` is a str, not a sequence, or holds something other than strings.
    ValueError
        Empty, ragged, a batch or a length that does not match the documents'.
    """
    rows = _rows(tokens, name)
    batched = rows is not None
    if not batched:
        rows = [_row(tokens, name)]
    if batched and len(rows) != batch:
        raise ValueError(f"{name} has a batch of {len(rows)} token lists, but doc has {batch} document(s).")
    if not batched and batch != 1:
        raise ValueError(
            f"{name} is one list of tokens, but doc has a batch of {batch} documents: pass one list per document."
        )
    for i, row in enumerate(rows):
        where = f"{name}[{i}]" if batched else name
        if len(row) != length:
            raise ValueError(f"{where} has {len(row)} tokens, but the document has {length} positions (token ids).")
    return rows


def _rows(tokens: Any, name: str) -> Optional[List[List[str]]]:
    """The rows of a batch of token lists, or None when ``tokens`` is one list."""
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"{name} must be a sequence of str (one per position), not a single {type(tokens).__name__}.")
    if isinstance(tokens, np.ndarray):
        if tokens.ndim == 2:
            return [_row(row, f"{name}[{i}]") for i, row in enumerate(tokens)]
        if tokens.ndim != 1:
            raise ValueError(f"{name} must be 1-D (one document) or 2-D (a batch); got shape {tokens.shape}.")
        return None
    if not isinstance(tokens, (list, tuple)):
        raise TypeError(f"{name} must be a list, tuple or numpy array of str; got {type(tokens).__name__}.")
    if not tokens:
        raise ValueError(f"{name} is empty: pass one str per position of the document.")
    nested = [not isinstance(t, (str, bytes)) and isinstance(t, (list, tuple, np.ndarray)) for t in tokens]
    if all(nested):
        return [_row(row, f"{name}[{i}]") for i, row in enumerate(tokens)]
    if any(nested):
        raise ValueError(f"{name} mixes strings and lists: pass one list of str, or one list per document.")
    return None


def _row(row: Any, name: str) -> List[str]:
    values = list(row)
    if not values:
        raise ValueError(f"{name} is empty: pass one str per position of the document.")
    for i, token in enumerate(values):
        if not isinstance(token, str):
            raise TypeError(f"{name} must hold str tokens; got {type(token).__name__} {token!r} at position {i}.")
    return [str(t) for t in values]


def default_tokens(inputs: np.ndarray) -> List[List[str]]:
    """Names of the positions of a batch without tokens: the token ids as strings for
    ids ``(N, L)`` (``'17'``), the position numbers for sequences ``(N, L, C)``."""
    inputs = np.asarray(inputs)
    if inputs.ndim == 2:
        return [[str(int(v)) for v in row] for row in inputs]
    return [[str(i) for i in range(inputs.shape[1])] for _ in range(len(inputs))]


def check_padding(pad_value: Any, pad_token: Any, tokens_given: bool) -> None:
    """``pad_value`` (an int id) or ``pad_token`` (a str, needs tokens), not both.

    Raises
    ------
    TypeError
        ``pad_value`` not an int, or ``pad_token`` not a str.
    ValueError
        Both given, or ``pad_token`` without tokens.
    """
    if pad_value is not None and pad_token is not None:
        raise ValueError(
            f"pass either pad_value (a token id in doc) or pad_token (a str in tokens), not both; "
            f"got pad_value={pad_value!r} and pad_token={pad_token!r}."
        )
    if pad_value is not None and (
        isinstance(pad_value, (bool, np.bool_)) or not isinstance(pad_value, (int, np.integer))
    ):
        hint = " (use pad_token= for a str token)" if isinstance(pad_value, str) else ""
        raise TypeError(f"pad_value must be an int token id in doc; got {type(pad_value).__name__} {pad_value!r}{hint}.")
    if pad_token is not None:
        if not isinstance(pad_token, str):
            hint = " (use pad_value= for a token id)" if isinstance(pad_token, (int, np.integer)) else ""
            raise TypeError(f"pad_token must be a str token in tokens; got {type(pad_token).__name__} {pad_token!r}{hint}.")
        if not tokens_given:
            raise ValueError(f"pad_token={pad_token!r} needs tokens= (the strings it is looked up in).")


def keep_mask(ids: np.ndarray, tokens: Optional[Sequence[str]], pad_value: Any, pad_token: Any) -> np.ndarray:
    """Boolean ``(L,)``: True at the positions that are not padding, wherever the padding
    is (before, after or inside the document).

    ``ids`` is one document's token ids ``(L,)`` (or a sequence ``(L, C)``, which
    ``pad_value`` does not apply to).
    """
    length = len(ids)
    if pad_value is not None:
        if np.ndim(ids) != 1:
            raise ValueError(
                f"pad_value applies to token ids (N, L); this input holds vectors of shape {np.shape(ids)[1:]} "
                "per position. Use pad_token= with tokens=."
            )
        return np.asarray(ids) != pad_value
    if pad_token is not None:
        return np.array([t != pad_token for t in tokens], dtype=bool)
    return np.ones(length, dtype=bool)


def join_tokens(tokens: Sequence[str]) -> Tuple[str, List[Tuple[int, int]]]:
    """The document joined from ``tokens`` and each token's ``(start, end)`` in it.

    eli5's rule: no separator when every token is one character (a character-level
    model), one space otherwise.
    """
    separator = "" if tokens and all(len(t) == 1 for t in tokens) else " "
    ranges = []
    start = 0
    for token in tokens:
        ranges.append((start, start + len(token)))
        start += len(token) + len(separator)
    return separator.join(tokens), ranges


def weighted_spans(tokens: Sequence[str], weights: Sequence[float]) -> WeightedSpans:
    """eli5's :class:`~eli5_keras.base.WeightedSpans` of one document: a span
    ``(token, [(start, end)], weight)`` per token, in order."""
    if len(tokens) != len(weights):
        raise ValueError(f"got {len(tokens)} tokens but {len(weights)} weights.")
    document, ranges = join_tokens(tokens)
    spans: List[WeightedSpan] = [
        (token, [span], float(weight)) for token, span, weight in zip(tokens, ranges, weights)
    ]
    return WeightedSpans([DocWeightedSpans(document, spans=spans)])

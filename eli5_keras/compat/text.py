"""Grad-CAM for Keras text models: eli5's unreleased text explainer, on Keras 3.

eli5's ``keras`` branch drafted ``explain_prediction_keras_text`` for TensorFlow 1 and
never released it. This is that design on the compiled backend of the image
explainer (:func:`~eli5_keras.compat.gradcam.gradcam_backend`, same numbers):

1. ``w_k = mean_t g'_tk``, ``g' = dy^c/dA`` l2-normalised, at a layer with a
   sequence output ``A (l, C)`` (Conv1D / recurrent / bidirectional, else temporal
   pooling, else the embedding: :func:`~eli5_keras.backend.layers.auto_text_layer`);
2. ``L = sum_k w_k A^k`` (negated with ``counterfactual``), ``ReLU`` (unless
   ``relu=False``: then ``heatmap`` is that signed map, as in eli5's text branch),
   divided by ``max |L| + 1e-7``;
3. resized from ``l`` steps to the ``L`` positions of the document
   (:func:`~eli5_keras.utils.interpolation.resize_1d`, eli5's ``interp1d`` kinds);
4. padding cut off, wherever it is (``pad_value`` in the ids, or ``pad_token`` in the
   tokens): the positions are deleted from the map and the tokens;
5. the tokens joined into a document, one weighted span per token.

Normalisation happens before trimming, as in eli5's draft: padding that carried the
largest value leaves the visible maximum below 1.

:func:`text_explanations` turns a batched :func:`~eli5_keras.explain` result of a
text model into the same per-document explanations (any method, several targets).
"""
from __future__ import annotations

import dataclasses
from typing import Any, List, Optional, Sequence, Union

import keras
import numpy as np

from ..backend.inputs import input_spatial_rank, prepare_inputs
from ..backend.layers import (
    SEQUENCE_LAYERS,
    TEMPORAL_POOLING_LAYERS,
    auto_text_layer,
    is_text_model,
    iter_paths,
    output_shape,
    path_name,
    resolve_layer,
)
from ..backend.topology import model_inputs
from ..base import Explanation
from ..result import ExplanationBatch, explained_values, heatmap_fields
from ..utils.interpolation import resize_1d, validate_interpolation_kind
from ..utils.tokens import as_token_rows, check_padding, default_tokens, keep_mask, weighted_spans
from .per_target import check_flags, explain_targets

DESCRIPTION_KERAS_TEXT = """Grad-CAM visualization for text classification; 
output is explanation object that contains a heatmap over the tokens 
of the document and weighted spans highlighting them for a target.
"""

_TEXT_LAYERS = SEQUENCE_LAYERS + TEMPORAL_POOLING_LAYERS + (keras.layers.Embedding,)


def is_text_doc(model: keras.Model, doc: Any) -> bool:
    """Dispatch heuristic: a model whose inputs are token ids, with a text layer
    (Embedding, Conv1D, recurrent), and a ``doc`` of rank 1 or 2."""
    shape = getattr(doc, "shape", None)
    if shape is None:
        try:
            shape = np.shape(doc)
        except ValueError:  # ragged nested lists
            return False
    return (
        len(shape) in (1, 2)
        and is_text_model(model)
        and any(isinstance(path[-1], _TEXT_LAYERS) for path in iter_paths(model))
    )


def explain_prediction_keras_text(
    model: keras.Model,
    doc: Any,
    tokens: Any = None,
    pad_value: Optional[int] = None,
    pad_token: Optional[str] = None,
    interpolation_kind: str = "linear",
    relu: bool = True,
    counterfactual: bool = False,
    targets: Optional[list] = None,
    layer: Union[None, int, str, keras.layers.Layer] = None,
) -> Explanation:
    """Explain a text model's prediction for one document with Grad-CAM.

    Parameters
    ----------
    model : keras.Model
        A classifier of token ids ``(N, L)`` (or of sequences ``(N, L, C)`` when
        ``tokens`` name the positions), with a Conv1D, recurrent or embedding layer.
    doc : array-like, shape (1, L) or (L,)
        The document's token ids.
    tokens : sequence of str, shape (L,) or (1, L), optional
        The strings of the positions, padding included. Default: the token ids as
        strings (``'17'``), or the position numbers for a sequence input.
    pad_value : int, optional
        The padding id: positions where ``doc == pad_value`` are cut off, before,
        after or inside the document.
    pad_token : str, optional
        The padding string: positions where ``tokens == pad_token`` are cut off.
    interpolation_kind : str, default 'linear'
        How the layer's map of ``l`` steps is resized to the ``L`` positions: one of
        :data:`~eli5_keras.utils.interpolation.INTERPOLATION_KINDS`.
    relu : bool, default True
        Keep only positive evidence. False keeps negative weights (red in HTML).
    counterfactual : bool, default False
        Negate the gradient: highlight the tokens that push the score down.
    targets : list of int, optional
        Classes to explain (one :class:`TargetExplanation` each); None: the top class.
    layer : int, str or keras.layers.Layer, optional
        Layer with a sequence output ``(batch, steps, features)``; None: chosen by
        :func:`~eli5_keras.backend.layers.auto_text_layer`.

    Returns
    -------
    Explanation
        ``method='Grad-CAM'``, ``layer``, ``signed`` (``not relu``); per target
        ``heatmap`` ``(L',)`` (``L'`` positions left after cutting the padding; in
        [0, 1], or with ``relu=False`` the signed map in [-1, 1], negative where a
        token speaks against the class, as eli5's text branch), ``raw_heatmap`` (the
        same signed map when ``relu=False``, else None),
        ``score`` (the model's output for the class) and ``weighted_spans``: the
        document joined from the kept tokens and a
        ``(token, [(start, end)], weight)`` span per token (weight from
        ``raw_heatmap`` when signed, else ``heatmap``).

    Raises
    ------
    TypeError
        ``tokens`` not strings; ``pad_value`` not an int; ``pad_token`` not a str;
        ``relu``/``counterfactual`` not bools; ``interpolation_kind`` not a str;
        eli5's ``targets``/``layer`` type errors.
    ValueError
        ``doc`` not one document of the model's input shape; ``tokens`` empty, of
        another length or batch; both pad arguments; an unknown interpolation kind;
        a layer without a sequence output; no suitable layer.
    """
    check_flags(relu=relu, counterfactual=counterfactual)
    validate_interpolation_kind(interpolation_kind)
    ids = _single_document(model, doc)
    length = ids.shape[1]
    rows = as_token_rows(tokens, 1, length) if tokens is not None else default_tokens(ids)
    check_padding(pad_value, pad_token, tokens is not None)
    path = _text_layer(model, layer)
    explained = explain_targets(
        model, ids, targets, path, relu, counterfactual,
        resize=lambda lmap: resize_1d(lmap, length, interpolation_kind),
        signed_heatmap=True,
    )
    expl = Explanation(
        model.name,
        description=DESCRIPTION_KERAS_TEXT,
        error="",
        method="Grad-CAM",
        targets=explained,
        is_regression=False,
        highlight_spaces=None,
        layer=path_name(path),
        signed=not relu,
    )
    return _trimmed(expl, keep_mask(ids[0], rows[0], pad_value, pad_token), rows[0])


def text_explanations(
    result: ExplanationBatch,
    tokens: Any = None,
    pad_value: Optional[int] = None,
    pad_token: Optional[str] = None,
    interpolation_kind: str = "linear",
) -> List[Explanation]:
    """Per-document text explanations of a batched :func:`~eli5_keras.explain` result.

    ``result = explain(text_model, docs, top_k=2)`` explains ``N`` documents for ``T``
    targets with any method; this adds the tokens: for document ``i``,
    ``result[i]`` with each target's map resized to the ``L`` positions (a no-op
    unless ``resize=False``), the padding cut off and weighted spans built as in
    :func:`explain_prediction_keras_text`. Span weights are the explainer's own
    numbers (``raw_heatmap`` when the maps are not normalised, else ``heatmap``).

    Parameters
    ----------
    result : ExplanationBatch
        Of a model with a token-id (or sequence) input: ``result.inputs`` ``(N, L)``,
        ``result.maps`` ``(N, T, l)``.
    tokens : sequence of str ``(L,)`` when N == 1, or a batch ``(N, L)``, optional
        Default: the token ids as strings (the position numbers for sequences).
    pad_value, pad_token, interpolation_kind
        As in :func:`explain_prediction_keras_text`.

    Returns
    -------
    list of N Explanation

    Raises
    ------
    TypeError
        ``result`` not an ExplanationBatch; the token and padding errors of
        :func:`explain_prediction_keras_text`.
    ValueError
        Maps that are not 1-D sequences; tokens that do not match the inputs.
    """
    if not isinstance(result, ExplanationBatch):
        raise TypeError(f"result must be an ExplanationBatch from eli5_keras.explain; got {type(result).__name__}.")
    validate_interpolation_kind(interpolation_kind)
    inputs = result.inputs
    if inputs is None or result.maps.ndim != 3 or inputs.ndim not in (2, 3):
        raise ValueError(
            "result is not a text explanation: it needs 1-D maps (N, T, steps) of an input of token ids "
            f"(N, L); got maps {result.maps.shape} and inputs {None if inputs is None else inputs.shape}."
        )
    n, length = inputs.shape[:2]
    rows = as_token_rows(tokens, n, length) if tokens is not None else default_tokens(inputs)
    check_padding(pad_value, pad_token, tokens is not None)
    explanations = []
    for i in range(n):
        base = result[i]
        targets = []
        for t, target in enumerate(base.targets):
            resized = resize_1d(result.maps[i, t], length, interpolation_kind)
            targets.append(dataclasses.replace(target, **heatmap_fields(resized, in_unit_range=result.normalized)))
        base = dataclasses.replace(base, targets=targets)
        explanations.append(_trimmed(base, keep_mask(inputs[i], rows[i], pad_value, pad_token), rows[i]))
    return explanations


def _trimmed(expl: Explanation, keep: np.ndarray, tokens: Sequence[str]) -> Explanation:
    """Delete the padding positions from each target's maps; add weighted spans over
    the kept tokens (weights: the raw map when there is one, else the heatmap)."""
    kept_tokens = [t for t, k in zip(tokens, keep) if k]
    targets = []
    for target in expl.targets:
        heatmap = np.asarray(target.heatmap)[keep]
        raw = None if target.raw_heatmap is None else np.asarray(target.raw_heatmap)[keep]
        kept = dataclasses.replace(target, heatmap=heatmap, raw_heatmap=raw)
        targets.append(dataclasses.replace(kept, weighted_spans=weighted_spans(kept_tokens, explained_values(kept))))
    return dataclasses.replace(expl, targets=targets, image=None)


def _single_document(model: keras.Model, doc: Any) -> np.ndarray:
    """``doc`` as one document ``(1, L)`` (or ``(1, L, C)``) of the model's input."""
    specs = model_inputs(model)
    if len(specs) != 1 or input_spatial_rank(specs[0]) != 1:
        raise ValueError(
            f"text explanations need a model with one input of token ids (N, L) or sequences (N, L, C); "
            f"model {model.name!r} has inputs {[tuple(x.shape) for x in specs]}."
        )
    (ids,) = prepare_inputs(model, doc, name="doc")
    if len(ids) != 1:
        raise ValueError(
            f"doc must be one document (batch size 1); got a batch of {len(ids)}. "
            "Explain batches with eli5_keras.explain() and eli5_keras.text_explanations()."
        )
    return ids


def _text_layer(model: keras.Model, layer: Any) -> tuple:
    """The path of the layer to explain: the text rule, or a given layer whose output
    is a sequence ``(batch, steps, features)``."""
    if layer is None:
        return auto_text_layer(model)
    path = resolve_layer(model, layer)
    shape = output_shape(path[-1])
    if shape is not None and len(shape) != 3:
        raise ValueError(
            f"Can not perform Grad-CAM on layer {path_name(path)!r}: its output shape {shape} is not a "
            "sequence (batch, steps, features). Pick an Embedding, Conv1D or recurrent layer with "
            "return_sequences=True."
        )
    return path

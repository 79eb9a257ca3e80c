"""Attention probabilities of ``MultiHeadAttention`` layers, read on the graph being run.

Keras' ``MultiHeadAttention`` returns its attention probabilities only when called
with ``return_attention_scores=True``, and models (KerasHub's ``ViTEncoderBlock``
included) call it without. :func:`read_attention` reads them with an *override* of
each attention layer's call in the runner (:class:`~.graph.GraphRunner`): the layer
itself is called, with ``return_attention_scores=True`` added, its output passed on
and its probabilities recorded. The override lives in the graph being run only: the
user's layers and model are untouched, and an attention layer inside a custom layer is
reached through the runner's per-call interception
(:func:`~.topology.call_intercepted`), so nothing is left patched and concurrent
explainers never see each other's records (they are local to one call).

With ``return_attention_scores=True`` Keras computes the attention explicitly
(``softmax(QK^T / sqrt(d))``, then dropout, the identity at inference, then the
product with the values) instead of its fused ``dot_product_attention``; the numbers
are the same up to float rounding. The probabilities recorded are the tensor the
output is computed from, so gradients with respect to them are the gradients of the
model's computation.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from .layers import path_name
from .probe import Forward, ModelProbe, as_float32, target_gradients
from .topology import LayerPath, call_inference


def attention_override(
    path: LayerPath, records: Dict[LayerPath, Any], watch: Optional[Callable[[Any], Any]] = None
) -> Callable[..., Any]:
    """An override of the attention layer at ``path``: calls it with
    ``return_attention_scores=True``, stores its probabilities ``(N, H, L_q, L_k)`` in
    ``records[path]`` (first call) and returns its output alone, as the layer's caller
    expects. ``watch`` (``tape.watch``) is given the layer's tensor arguments before the
    call, so that gradients reach the probabilities, an intermediate tensor of the call."""

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if watch is not None and path not in records:
            # recorded from the layer's inputs on, so that the tape holds the path from
            # the probabilities (made inside the call) to the output
            for value in keras.tree.flatten((args, kwargs)):
                if tf.is_tensor(value) and value.dtype.is_floating:
                    watch(value)
        output, probabilities = call_inference(layer, args, dict(kwargs, return_attention_scores=True))
        if path not in records:
            records[path] = probabilities
        return output

    return call


def read_attention(
    probe: ModelProbe,
    inputs: Sequence[tf.Tensor],
    data: tf.Tensor,
    paths: Sequence[LayerPath],
    gradients: bool = False,
) -> Tuple[List[tf.Tensor], Optional[List[tf.Tensor]], Forward]:
    """One forward pass recording the attention probabilities of the layers at
    ``paths``; with ``gradients``, the target gradients with respect to them.

    Returns
    -------
    attention : list of tf.Tensor
        ``A_b (N, H, L, L)`` per path (float32): ``A_b[n, h, i, j]`` is how much
        token ``i`` attends to token ``j`` in head ``h``; rows sum to 1.
    grads : list of tf.Tensor or None
        ``dS[n, t] / dA_b[n]`` as ``(N, T, H, L, L)`` per path (None without
        ``gradients``).
    fwd : Forward
        The forward pass (labels, scores).
    """
    records: Dict[LayerPath, Any] = {}
    with tf.GradientTape(watch_accessed_variables=False, persistent=True) as tape:
        watch = tape.watch if gradients else None
        overrides = {path: attention_override(path, records, watch) for path in paths}
        fwd = probe.forward(inputs, data, overrides=overrides)
    missing = [path_name(p) for p in paths if p not in records]
    if missing:
        raise ValueError(
            f"attention layer(s) {missing} were not called when running model {probe.model_name!r}, so their "
            "attention cannot be read."
        )
    attention = [records[p] for p in paths]
    grads = None
    if gradients:
        grads = [
            as_float32(target_gradients(tape, fwd.scores, a, f"attention of {path_name(p)!r}", probe.model_name))
            for p, a in zip(paths, attention)
        ]
    del tape
    return [as_float32(a) for a in attention], grads, fwd

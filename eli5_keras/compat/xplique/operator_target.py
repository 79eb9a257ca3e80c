"""Xplique's operator ``g(f, x, y)`` as an engine target: the weighting (classification,
regression), the masked mean (semantic segmentation) or a user's callable."""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from ...targets import Target


class OperatorTarget(Target):
    """Xplique's operator as an engine target: ``g(f, x, y)`` with ``y`` ``(N, *O)`` the
    per-input data of the model output's shape ``(N, *O)`` (chunked with the inputs); one
    score per input (``T = 1``).

    The default operator (``operator=None``) is ``sum(f(x) * y)`` over the output's axes
    (Xplique's ``predictions_operator`` sums over the last one, the only one of a
    ``(N, K)`` output); with ``nonzero_mean`` it is divided by ``count_nonzero(y)``
    (``semantic_segmentation_operator``: the mean over the zone and class of interest). The
    label is the output unit (last axis) with the largest sum of ``y``.
    """

    def __init__(self, weights: np.ndarray, operator: Optional[Callable] = None, nonzero_mean: bool = False) -> None:
        self.weights = np.asarray(weights, np.float32)
        self.operator = operator
        self.nonzero_mean = nonzero_mean
        self.output_index = 0

    @property
    def num_targets(self) -> int:
        return 1

    def _bind(self, output_shapes, n):
        expected = (n,) + tuple(output_shapes[0][1:])
        shape = self.weights.shape
        if len(shape) != len(expected) or any(e is not None and e != g for e, g in zip(expected, shape)):
            raise ValueError(f"targets must have the model output's shape (N, *output) = {expected}; got {shape}.")

    def encode(self, n):
        return self.weights[:, None]

    def key(self):
        return ("xplique_operator", id(self.operator), self.nonzero_mean, self.weights.ndim)

    def __call__(self, outputs, data, probabilities):
        y = data[:, 0]
        out = self._output(outputs)
        axes = list(range(1, len(self.weights.shape)))
        if self.operator is None:
            scores = tf.reduce_sum(tf.cast(out, tf.float32) * y, axis=axes)
            if self.nonzero_mean:
                scores = scores / tf.reduce_sum(tf.cast(tf.not_equal(y, 0), tf.float32), axis=axes)
        else:
            scores = tf.cast(tf.convert_to_tensor(self.operator(lambda _x: out, None, y)), tf.float32)
        labels = tf.cast(tf.argmax(tf.reduce_sum(y, axis=axes[:-1]), axis=-1), tf.int32)
        return labels[:, None], tf.reshape(scores, [-1, 1])

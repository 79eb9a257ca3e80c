"""Ablation-CAM (Desai & Ramaswamy, WACV 2020, https://doi.org/10.1109/WACV45572.2020.9093360).

For each channel ``k`` of the explained layer, the model is run on from the layer with
``A^k`` set to zero; the channel's weight is the relative drop of the target score::

    y[n,t]     = S(A)[n,t]                          # the clean pass
    y_k[n,t]   = S(A with A^k := 0)[n,t]
    w[n,t,k]   = (y[n,t] - y_k[n,t]) / y[n,t]       # the paper's and pytorch-grad-cam's slope
    L[n,t]     = sum_k w[n,t,k] A^k                  # at the layer: (N, T, *s)

then the shared ReLU, min-max and resize. ``S`` is the target score on the
differentiated scale (``Forward.scores``): the class logit by default (pytorch-grad-cam's
``ClassifierOutputTarget`` on a model returning logits), the model's output with
``use_logits=False``. The target is the one resolved on the clean pass (the top class
of the input, not of an ablated copy). ``y == 0`` is guarded: ``|y| < 1e-7`` divides by
``±1e-7`` (the sign of ``y``, ``+`` for 0), so weights are never NaN or infinite.

The ablated copies are made from the activations tapped on the clean pass: a block of
``b`` channels gives ``n * b`` copies of ``A`` (copy ``j`` with channel ``start + j``
zeroed), fed onward through a :class:`~eli5_keras.backend.graph.GraphRunner` override
of the explained layer, in a ``tf.while_loop`` bounded by ``block`` so that at most
``batch_size`` ablated copies are in flight. The override ignores the layer's own
input, so the layers that only feed the explained one are dead code in the compiled
loop body (TensorFlow prunes unused stateless ops from function bodies); the inputs are
still repeated per copy for the layers that need them besides it (skip connections,
other model inputs), which are recomputed per block. One pass of an ablated copy scores
every target (``per_target_work = False``).

Deviations: pytorch-grad-cam's ``AblationLayer`` writes ``min(A) - 1e7`` instead of 0
when the activations of the batch are not non-negative; we always write 0 (the paper's
ablation). Its ``ratio_channels_to_ablate`` (ablating only some channels) is not offered.
"""
from __future__ import annotations

import tensorflow as tf

from ..constants import EPSILON
from .base import Context, Method, MethodOutput, concat_over_blocks, weighted_channel_sum
from .perturbed import channels_of, forward_copies, layer_channels, per_channel, pin_targets


class AblationCAM(Method):
    """Ablation-CAM: channel weights are the relative drop of the target score when
    the channel is zeroed at the explained layer. Takes no options."""

    name = "ablationcam"
    title = "Ablation-CAM"
    summary = "channel weights = relative drop of the score when the channel is zeroed"
    per_target_work = False

    def expansion(self, context: Context) -> int:
        return layer_channels(context.layer_shape)

    def compute(self, context, inputs, data, block):
        probe, path = context.probe, context.path
        fwd, pinned = pin_targets(context, inputs, data, taps=[path])
        activations = fwd.tapped[0]
        channels = channels_of(activations)
        n = tf.shape(activations)[0]
        spatial_rank = activations.shape.rank - 2

        def ablated_scores(start, count):
            keep = 1.0 - tf.one_hot(tf.range(start, start + count), channels, dtype=activations.dtype)  # (b, K)
            keep = tf.reshape(keep, tf.stack([1, count] + [1] * spatial_rank + [channels]))
            copies = tf.reshape(activations[:, None] * keep, tf.concat([[n * count], tf.shape(activations)[1:]], 0))
            out = forward_copies(probe, inputs, pinned, count, overrides={path: lambda layer, *a, **k: copies})
            return per_channel(out.scores, n, count)  # (n, T, b)

        ablated = concat_over_blocks(ablated_scores, channels, block, axis=2)
        ablated.set_shape([None, None, None])
        weights = relative_drop(fwd.scores, ablated)
        return MethodOutput(weighted_channel_sum(activations, weights), fwd.labels, fwd.reported)


def relative_drop(scores: tf.Tensor, ablated: tf.Tensor) -> tf.Tensor:
    """``(y - y_k) / y`` for ``y (N, T)`` and ``y_k (N, T, K)``, with ``|y| < 1e-7``
    replaced by ``±1e-7`` (sign of ``y``, ``+`` for 0)."""
    safe = tf.where(scores >= 0, tf.maximum(scores, EPSILON), tf.minimum(scores, -EPSILON))
    return (scores[..., None] - ablated) / safe[..., None]

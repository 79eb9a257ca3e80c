"""Score-CAM (Wang et al., 2020, https://arxiv.org/abs/1910.01279).

The authors' reference (``haofanwang/Score-CAM:cam/scorecam.py``), the default
(``softmax="classes"``)::

    M_k    = upsample(A^k, S)                          # (N, *S), linear, half-pixel centres
    N_k    = (M_k - min M_k) / (max M_k - min M_k)     # per input and channel
    s_k    = P(x ⊙ N_k)[t]                             # the model's probability of target t
    s_k    = 0                  if max M_k == min M_k  # constant ("dead") channel: skipped
    L[n,t] = sum_k s_k M_k                             # at the input's resolution S

then the shared ReLU and min-max. ``A (N, *s, K)`` are the activations of the
explained layer, ``x (N, *S, C)`` the explained input (every channel of ``x`` gets the
same mask). ``P`` is the model's output as it returns it (``Forward.reported``): the
softmax probability of a softmax classifier (the reference's softmax over *classes*), the
sigmoid probability of a sigmoid or single-sigmoid model (a softmax over one unit would
be the constant 1, tf-keras-vis #78), the raw output of a linear head (regression, a
model returning logits). The target is the one resolved on the clean input (the top
class of ``x``, not of ``x ⊙ N_k``). Since upsampling is linear,
``sum_k s_k M_k = upsample(sum_k s_k A^k)``: the map is formed at the layer and
upsampled once, and returned at the input's resolution, so the driver's resize is the
identity and the ReLU / min-max act on the input grid, as in the reference.

``softmax="channels"`` is pytorch-grad-cam's ``score_cam.py``: the target score of each
masked input on the differentiated scale (``Forward.scores``: logits by default,
``use_logits=False`` for the outputs), a softmax *across channels*, and the weights
applied to the low-resolution ``A``::

    w[n,t,:] = softmax_k(S(x ⊙ N_k)[t]);   L[n,t] = sum_k w_k A^k   (at the layer, then
                                                                     ReLU, min-max, resize)

``max_channels=N`` is Faster Score-CAM (tf-keras-vis's ``max_N``): only the ``N``
channels of largest spatial standard deviation of each input are scored and summed.

Masked inputs are batched across channels: blocks of ``block`` channels per input in a
``tf.while_loop``, so at most ``batch_size`` masked inputs are in flight; one forward
pass of a masked input scores every target (``per_target_work = False``). For a
multi-input model only the explained input (the one with the layer's spatial rank) is
masked; the others are fed unchanged. Token-id inputs cannot be masked.

Deviations, all documented choices:

* Upsampling uses half-pixel centres (``tf.image.resize`` bilinear, PyTorch's
  ``align_corners=False``, the reference's choice) for any rank; pytorch-grad-cam uses
  ``align_corners=True`` and tf-keras-vis ``scipy.ndimage.zoom``.
* A constant channel gets weight 0 under both softmaxes (it is left out of the softmax
  across channels). pytorch-grad-cam normalises it to an all-zero mask with
  ``+1e-8`` and still gives it a softmax weight; the reference skips it (weight 0).
* Faster Score-CAM keeps ``N`` channels per input; tf-keras-vis takes the union of the
  per-input choices over the whole batch (results depend on the batch).
* Like the reference, no baseline ``f(x_b)`` is subtracted (the paper's ``f(X ∘ H) -
  f(X_b)``); tf-keras-vis weights low-resolution ``A`` with the probabilities.

``masks="layer"`` is keras-explainable's ``methods.cams.scorecam``: each channel is
min-maxed at the layer's grid (a constant channel becomes 0), *then* upsampled, and the
map sums the normalised masks, not the activations::

    N_k    = upsample((A^k - min A^k) / (max A^k - min A^k), S)
    s_k    = P(x ⊙ N_k)[t];      L[n,t] = sum_k s_k N_k = upsample(sum_k s_k norm(A^k))

(with ``use_logits=False`` on a model returning logits, ``P`` is the raw logit, as
keras-explainable's). ``softmax="channels"`` does not combine with it.
"""
from __future__ import annotations

from typing import Optional

import tensorflow as tf

from .. import validation as check
from ..backend.inputs import batch_spatial_size
from ..utils.resize import resize_linear
from .base import Context, Method, MethodOutput, concat_over_blocks, weighted_channel_sum
from .perturbed import channels_of, forward_copies, layer_channels, per_channel, pin_targets, require_float_input

SOFTMAX = ("classes", "channels")
MASKS = ("upsampled", "layer")


class ScoreCAM(Method):
    """Score-CAM: channel weights are the model's scores on inputs masked by each
    upsampled, min-max normalised activation map.

    Parameters
    ----------
    softmax : {"classes", "channels"}, default "classes"
        "classes": the authors' reference (probabilities of the masked inputs, map
        formed at the input's resolution). "channels": pytorch-grad-cam (target
        scores softmaxed across channels, weights on the layer's activations).
    max_channels : int, optional
        Faster Score-CAM: score only the ``max_channels`` channels with the largest
        spatial standard deviation (per input). None scores every channel.
    masks : {"upsampled", "layer"}, default "upsampled"
        "upsampled": min-max each upsampled channel (the reference). "layer": min-max at
        the layer's grid, then upsample, and sum the normalised masks (keras-explainable).
    """

    name = "scorecam"
    title = "Score-CAM"
    summary = "channel weights = the model's scores on the input masked by each upsampled channel"
    per_target_work = False

    def __init__(self, softmax: str = "classes", max_channels: Optional[int] = None, masks: str = "upsampled") -> None:
        self.softmax = check.choice("softmax", softmax, SOFTMAX)
        self.max_channels = check.optional_integer("max_channels", max_channels, 1)
        self.masks = check.choice("masks", masks, MASKS)
        if self.masks == "layer" and self.softmax == "channels":
            raise ValueError('masks="layer" (keras-explainable) weights by the scores themselves; use softmax="classes".')

    def setup(self, context: Context) -> None:
        if not context.channels_last:
            raise ValueError(
                f"method {self.name!r} masks the input with upsampled activation maps, and input "
                f"{context.input_index} holds token ids, which cannot be masked; use a gradient CAM "
                "(e.g. method='gradcam') for token inputs."
            )
        require_float_input(context, f"method {self.name!r}", f"multiplies input {context.input_index} by masks")

    def expansion(self, context: Context) -> int:
        channels = layer_channels(context.layer_shape)
        return channels if self.max_channels is None else min(channels, self.max_channels)

    def select_channels(self, activations: tf.Tensor) -> tf.Tensor:
        """The ``max_channels`` channels of largest spatial std per input:
        ``(N, *s, K) -> (N, *s, min(K, max_channels))`` (all of them when None)."""
        if self.max_channels is None:
            return activations
        static = activations.shape[-1]
        if static is not None:
            keep = min(int(static), self.max_channels)
        else:
            keep = tf.minimum(tf.shape(activations)[-1], self.max_channels)
        spread = tf.math.reduce_std(activations, axis=list(range(1, activations.shape.rank - 1)))
        chosen = tf.math.top_k(spread, k=keep).indices
        return tf.gather(activations, chosen, axis=activations.shape.rank - 1, batch_dims=1)

    def compute(self, context, inputs, data, block):
        probe, index = context.probe, context.input_index
        x = inputs[index]
        fwd, pinned = pin_targets(context, inputs, data, taps=[context.path])
        activations = self.select_channels(fwd.tapped[0])
        if self.masks == "layer":
            activations = minmax_channels(activations)
        rank = x.shape.rank - 2
        size = batch_spatial_size(x, rank)
        n = tf.shape(x)[0]
        use_probabilities = self.softmax == "classes"

        def scores_and_validity(start, count):
            masks = resize_linear(activations[..., start : start + count], size, first_axis=1)  # (n, *S, b)
            axes = list(range(1, rank + 1))
            low = tf.reduce_min(masks, axis=axes, keepdims=True)
            high = tf.reduce_max(masks, axis=axes, keepdims=True)
            valid = high > low
            if self.masks == "upsampled":
                masks = (masks - low) / tf.where(valid, high - low, tf.ones_like(high))
            masks = tf.cast(tf.experimental.numpy.moveaxis(masks, -1, 1)[..., None], x.dtype)  # (n, b, *S, 1)
            masked = tf.reshape(x[:, None] * masks, tf.concat([[n * count], tf.shape(x)[1:]], axis=0))
            out = forward_copies(probe, inputs, pinned, count, replaced={index: masked})
            scores = per_channel(out.reported if use_probabilities else out.scores, n, count)
            validity = tf.cast(tf.reshape(valid, tf.stack([n, 1, count])), scores.dtype)
            return tf.concat([scores, validity], axis=1)  # (n, T + 1, b)

        both = concat_over_blocks(scores_and_validity, channels_of(activations), block, axis=2)
        both.set_shape([None, None, None])
        scores, valid = both[:, :-1], both[:, -1:] > 0.5
        if use_probabilities:
            weights = tf.where(valid, scores, tf.zeros_like(scores))
            maps = resize_linear(weighted_channel_sum(activations, weights), size, first_axis=2)
        else:
            maps = weighted_channel_sum(activations, masked_softmax(scores, valid))
        return MethodOutput(maps, fwd.labels, fwd.reported)


def minmax_channels(activations: tf.Tensor) -> tf.Tensor:
    """Each channel of ``(N, *s, K)`` min-maxed over its positions; a constant channel
    becomes 0 (keras-explainable's ``filters.normalize``, ``divide_no_nan``)."""
    axes = list(range(1, activations.shape.rank - 1))
    shifted = activations - tf.reduce_min(activations, axis=axes, keepdims=True)
    return tf.math.divide_no_nan(shifted, tf.reduce_max(shifted, axis=axes, keepdims=True))


def masked_softmax(logits: tf.Tensor, valid: tf.Tensor) -> tf.Tensor:
    """Softmax over the last axis among the ``valid`` entries; invalid entries (and
    rows with none valid) get 0, never NaN."""
    valid = tf.broadcast_to(valid, tf.shape(logits))
    top = tf.reduce_max(tf.where(valid, logits, tf.fill(tf.shape(logits), logits.dtype.min)), -1, keepdims=True)
    exp = tf.where(valid, tf.exp(logits - top), tf.zeros_like(logits))
    return tf.math.divide_no_nan(exp, tf.reduce_sum(exp, axis=-1, keepdims=True))

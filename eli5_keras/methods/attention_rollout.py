"""Attention rollout (Abnar & Zuidema, 2020, "Quantifying Attention Flow in
Transformers", https://arxiv.org/abs/2005.00928; jacobgil/vit-explain's
``vit_rollout.py`` for ``head_fusion`` and ``discard_ratio``).

How much each patch reaches the class token through the attention of every block,
the residual connection counted as attention to oneself:

    F_b      = fuse_h A_b[:, h]                      (N, L, L), fuse = mean | max | min over heads
    F_b     <- F_b with its lowest discard_ratio * L^2 entries set to 0 (entry (0, 0) kept)
    Â_b      = (F_b + I) / rowsum(F_b + I)           (= 0.5 A + 0.5 I, rows renormalised)
    R        = Â_B ... Â_2 Â_1
    map      = R[0, P:] on the (h, w) patch grid      (the class token's row; no prefix
                                                      token: mean_i R[i, :])

``A_b (N, H, L, L)`` are the attention probabilities of the model's attention layers
up to the explained one, read on the graph being run (:mod:`eli5_keras.backend.attention`).
The map does not depend on the target: one forward pass serves every target, which
all get the same map. Defaults: ``head_fusion="mean"`` and ``discard_ratio=0`` (the
paper; vit-explain's example uses ``discard_ratio=0.9`` with ``"max"``).
"""
from __future__ import annotations

from typing import List, Optional

import tensorflow as tf

from .. import validation as check
from .attention import AttentionMethod, fuse_heads, head_fusion_option, identity_like


class AttentionRollout(AttentionMethod):
    """Attention rollout: the product of the blocks' attention (plus identity), class-token row.

    Parameters
    ----------
    head_fusion : {"mean", "max", "min"}, default "mean"
        How the heads' attention matrices are combined per block.
    discard_ratio : float in [0, 1), default 0.0
        Fraction of each fused matrix's entries, the lowest, set to zero before
        adding the identity (the class token's attention to itself is kept).
    """

    name = "attention_rollout"
    title = "Attention rollout"
    summary = "product over blocks of head-fused attention plus identity; class-token row (ViT)"
    aliases = ("rollout",)
    per_target_work = False

    def __init__(self, head_fusion: str = "mean", discard_ratio: float = 0.0) -> None:
        self.head_fusion = head_fusion_option(head_fusion)
        self.discard_ratio = check.real("discard_ratio", discard_ratio, 0.0, 1.0, open_high=True)

    def combine(self, attention: List[tf.Tensor], gradients: Optional[List[tf.Tensor]]) -> tf.Tensor:
        rollout = None
        for a in attention:
            fused = discard_lowest(fuse_heads(a, self.head_fusion, axis=1), self.discard_ratio)
            step = fused + identity_like(fused)
            step = step / tf.reduce_sum(step, axis=-1, keepdims=True)
            rollout = step if rollout is None else tf.matmul(step, rollout)
        return rollout[:, None]


def discard_lowest(fused: tf.Tensor, ratio: float) -> tf.Tensor:
    """``fused (N, L, L)`` with its ``floor(ratio * L^2)`` lowest entries per example set
    to zero (ties broken by position), entry ``(0, 0)`` kept."""
    if ratio == 0.0:
        return fused
    shape = tf.shape(fused)
    flat = tf.reshape(fused, tf.stack([shape[0], -1]))
    count = tf.cast(tf.math.floor(ratio * tf.cast(tf.shape(flat)[1], tf.float32)), tf.int32)
    rank = tf.argsort(tf.argsort(flat, axis=-1, stable=True), axis=-1, stable=True)
    keep = (rank >= count) | (tf.range(tf.shape(flat)[1]) == 0)[None]
    return tf.reshape(tf.where(keep, flat, tf.zeros_like(flat)), shape)

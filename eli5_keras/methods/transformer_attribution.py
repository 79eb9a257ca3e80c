"""Transformer attribution: gradient-weighted attention relevance (Chefer, Gur & Wolf,
ICCV 2021, "Generic Attention-model Explainability for Interpreting Bi-Modal and
Encoder-Decoder Transformers", https://arxiv.org/abs/2103.15679, rules 5-6 for
self-attention; hila-chefer/Transformer-MM-Explainability).

The relevance of token ``j`` to token ``i`` starts as the identity (each token is
itself) and every block mixes it by its attention, weighted by the target's gradient
and kept where positive:

    Ā_b = mean_h ( relu( dS/dA_b ⊙ A_b ) )[h]        (N, T, L, L)
    R_0 = I;   R_b = R_{b-1} + Ā_b R_{b-1}           for b = 1 .. B
    map = R_B[0, P:] on the (h, w) patch grid          (class token's row; no prefix
                                                      token: mean_i R_B[i, :])

``A_b (N, H, L, L)`` are the attention probabilities of the attention layers up to the
explained one and ``dS/dA_b`` the gradients of the target score (logits by default)
with respect to them, one forward pass and one backward pass per target
(:mod:`eli5_keras.backend.attention`). This is the gradient-only rule; the CVPR 2021
paper of the same authors ("Transformer Interpretability Beyond Attention
Visualization") uses LRP relevances in place of ``A_b``, which needs every layer
instrumented with LRP rules, and is not implemented.
"""
from __future__ import annotations

from typing import List, Optional

import tensorflow as tf

from .attention import AttentionMethod, identity_like


class TransformerAttribution(AttentionMethod):
    """Chefer et al. 2021: relevance ``R += mean_h(relu(grad ⊙ A)) R`` over blocks, class-token row."""

    name = "transformer_attribution"
    title = "Transformer attribution"
    summary = "Chefer et al. 2021: R += mean_h(relu(dS/dA * A)) R over blocks; class-token row (ViT)"
    aliases = ("chefer",)
    gradients = True

    def combine(self, attention: List[tf.Tensor], gradients: Optional[List[tf.Tensor]]) -> tf.Tensor:
        relevance = None
        for a, g in zip(attention, gradients):
            weighted = tf.reduce_mean(tf.nn.relu(g * a[:, None]), axis=2)  # (N, T, L, L)
            if relevance is None:
                relevance = identity_like(weighted)
            relevance = relevance + tf.matmul(weighted, relevance)
        return relevance

"""What the attention methods share: which attention layers, and the class-token row.

An attention method (:mod:`.attention_rollout`, :mod:`.transformer_attribution`)
explains at a ``MultiHeadAttention`` layer on a token sequence ``(N, P + h*w, D)``:
``layer=`` names the last attention layer it combines (default: the model's last one,
:func:`~eli5_keras.backend.layers.attention_paths`; KerasHub's ViT included, whose
attention layers sit inside its encoder), and every attention layer that runs before
it is combined too. The combination ``R (N, [T,] L, L)`` is read on the patch tokens:

* with prefix tokens (``P >= 1``, a class token first): the class token's row,
  ``R[0, P:]`` (what the class token gathered from each patch);
* without (mean-pooled heads, ``P = 0``): the mean of the rows, ``mean_i R[i, :]``
  (what all tokens together gathered from each patch), as no token stands for the
  prediction.

The row is reshaped to the patch grid ``(h, w)`` (the explained layer's
:class:`~eli5_keras.backend.tokens.TokenGrid`: ``token_grid=``, ``prefix_tokens=``
apply; ``reshape=`` does not, having no inverse to say where a token lies) and resized
onto the input by the driver.
"""
from __future__ import annotations

import abc
from typing import List, Optional

import keras
import tensorflow as tf

from .. import validation as check
from ..backend.attention import read_attention
from ..backend.graph import LayerPath
from ..backend.layers import attention_paths, path_name
from .base import Context, Method, MethodOutput

HEAD_FUSIONS = ("mean", "max", "min")


class AttentionMethod(Method):
    """Maps from the attention probabilities ``A_b (N, H, L, L)`` of the attention
    layers up to the explained one: override :meth:`combine`."""

    uses_layer = True
    reads_activations = False
    gradients: bool = False

    def unsupported(self, model: keras.Model) -> Optional[str]:
        if attention_paths(model):
            return None
        return (
            f"method {self.name!r} reads the attention of keras.layers.MultiHeadAttention layers on token "
            f"sequences (vision transformers); model {model.name!r} has none."
        )

    def default_layer(self, model: keras.Model) -> Optional[LayerPath]:
        reason = self.unsupported(model)
        if reason is not None:
            raise ValueError(reason)
        return attention_paths(model)[-1]

    def setup(self, context: Context) -> None:
        self.combined_paths(context)

    def combined_paths(self, context: Context) -> List[LayerPath]:
        """The attention layers combined: the model's, up to the explained one (nothing
        stored on the method: an instance may serve several models at once).

        Raises
        ------
        ValueError
            The explained layer is not an attention layer on the tokens, or its tokens
            have no patch grid."""
        model = context.probe.model
        path = tuple(context.path)
        if not isinstance(path[-1], keras.layers.MultiHeadAttention):
            raise ValueError(
                f"method {self.name!r} explains at a keras.layers.MultiHeadAttention layer (the last attention "
                f"layer it combines); layer {path_name(path)!r} is a {type(path[-1]).__name__}. Leave layer=None "
                "for the model's last attention layer."
            )
        paths = attention_paths(model)
        if path not in paths:
            raise ValueError(
                f"method {self.name!r}: attention layer {path_name(path)!r} does not attend over a token sequence "
                f"of model {model.name!r}; its attention layers are {[path_name(p) for p in paths]}."
            )
        tokens = context.tokens
        if tokens is None or tokens.reshape is not None or tokens.grid is None or len(tokens.grid) != 2:
            raise ValueError(
                f"method {self.name!r} needs the patch grid of layer {path_name(path)!r}'s tokens (a vision "
                "transformer on images): pass token_grid=(h, w) and prefix_tokens=P (reshape= cannot say where "
                "each token lies)."
            )
        return paths[: paths.index(path) + 1]

    def compute(self, context, inputs, data, block):
        paths = self.combined_paths(context)
        attention, grads, fwd = read_attention(context.probe, inputs, data, paths, self.gradients)
        tokens = context.tokens
        length = tokens.prefix + tokens.grid[0] * tokens.grid[1]
        for path, a in zip(paths, attention):
            if a.shape[-1] != length or a.shape[-2] != length:
                raise ValueError(
                    f"method {self.name!r}: attention layer {path_name(path)!r} has attention {tuple(a.shape[1:])} "
                    f"(heads, queries, keys), not self-attention over the {length} tokens "
                    f"({tokens.prefix} prefix + {tokens.grid[0]}x{tokens.grid[1]} patches) of the explained layer."
                )
        relevance = self.combine(attention, grads)  # (N, T or 1, L, L)
        if tokens.prefix > 0:
            row = relevance[:, :, 0, tokens.prefix:]
        else:
            row = tf.reduce_mean(relevance, axis=2)
        maps = tf.reshape(row, tf.concat([tf.shape(row)[:2], tokens.grid], axis=0))
        num_targets = tf.shape(fwd.labels)[1]
        maps = tf.broadcast_to(maps, tf.concat([tf.shape(maps)[:1], [num_targets], tokens.grid], axis=0))
        return MethodOutput(maps, fwd.labels, fwd.reported)

    @abc.abstractmethod
    def combine(self, attention: List[tf.Tensor], gradients: Optional[List[tf.Tensor]]) -> tf.Tensor:
        """``R (N, T or 1, L, L)`` from ``A_b (N, H, L, L)`` (and ``dS/dA_b (N, T, H, L, L)``)."""


def head_fusion_option(value: str) -> str:
    return check.choice("head_fusion", value, HEAD_FUSIONS)


def fuse_heads(attention: tf.Tensor, fusion: str, axis: int) -> tf.Tensor:
    """Mean, max or min over the heads axis."""
    reduce = {"mean": tf.reduce_mean, "max": tf.reduce_max, "min": tf.reduce_min}[fusion]
    return reduce(attention, axis=axis)


def identity_like(matrix: tf.Tensor) -> tf.Tensor:
    """The identity ``(L, L)`` broadcast to ``matrix``'s leading axes."""
    eye = tf.eye(tf.shape(matrix)[-1], dtype=matrix.dtype)
    return tf.broadcast_to(eye, tf.shape(matrix))

"""Token sequences seen as patch grids: vision transformers for the CAM family.

A transformer layer outputs ``(N, P + h*w, D)``: ``P`` prefix tokens (class,
distillation, register tokens) then the ``h x w`` patch tokens in row-major order.
:class:`TokenGrid` drops the prefix and reshapes the patch tokens to ``(N, h, w, D)``,
so a CAM method reads activations ``A (N, h, w, D)`` and gradients ``g (N, T, h, w, D)``
as it reads a convolution's, and the map is resized onto the input as usual
(pytorch-grad-cam's ``reshape_transform``). The probe applies it to the tapped
activations, to the gradients and, undone, to the values a method feeds onward from the
layer (Ablation-CAM); :func:`token_grid` decides whether and how a layer is one:

* ``reshape=`` a user's callable ``(N, L, D) -> (N, h, w, D)``, used as it is (as
  pytorch-grad-cam's ``reshape_transform``);
* else ``token_grid=(h, w)`` and/or ``prefix_tokens=P``, checked against ``L = P + h*w``;
* else the model's patch embedding: a convolution with ``kernel_size == strides`` on a
  model input gives ``(h, w)`` (its output grid), ``P = L - h*w``;
* else a square count ``L = h*h`` (no prefix).

Anything else raises ValueError naming the option to pass: a wrong guess would scramble
the map silently.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Tuple

import keras
import tensorflow as tf

from .. import validation as check
from .inner import inner_calls, inside_custom_layer
from .topology import LayerPath, predecessors, walk

TOKEN_OPTIONS = ("token_grid", "prefix_tokens", "reshape")
"""The pipeline options that say how a token sequence is a patch grid."""


@dataclass(frozen=True)
class TokenGrid:
    """How the tokens of one layer form a grid: ``prefix`` leading tokens dropped, the
    rest reshaped to ``grid`` (row-major), or a user's ``reshape`` callable (``grid``
    then what it returns, None for sizes it leaves free)."""

    prefix: int = 0
    grid: Optional[Tuple[int, ...]] = None
    reshape: Optional[Callable[[Any], Any]] = None

    def __call__(self, tokens: tf.Tensor) -> tf.Tensor:
        """``(B, P + h*w, D) -> (B, h, w, D)``."""
        if self.reshape is not None:
            return tf.convert_to_tensor(self.reshape(tokens))
        shape = tf.shape(tokens)
        out = tf.reshape(tokens[:, self.prefix:], tf.concat([shape[:1], self.grid, shape[-1:]], axis=0))
        out.set_shape((tokens.shape[0],) + tuple(self.grid) + (tokens.shape[-1],))
        return out

    def gradients(self, gradients: tf.Tensor) -> tf.Tensor:
        """``(N, T, P + h*w, D) -> (N, T, h, w, D)``: the same view, targets folded into
        the batch axis."""
        shape = tf.shape(gradients)
        flat = tf.reshape(gradients, tf.concat([[-1], shape[2:]], axis=0))
        flat.set_shape((None,) + tuple(gradients.shape[2:]))
        grid = self(flat)
        out = tf.reshape(grid, tf.concat([shape[:2], tf.shape(grid)[1:]], axis=0))
        out.set_shape(tuple(gradients.shape[:2]) + tuple(grid.shape[1:]))
        return out

    def restore(self, grid: tf.Tensor, tokens: tf.Tensor) -> tf.Tensor:
        """The token sequence of a grid ``(B, h, w, D)``, the prefix tokens taken from
        ``tokens (B, L, D)``: the inverse view, to feed a changed grid onward."""
        if self.reshape is None:
            shape = tf.shape(grid)
            flat = tf.reshape(grid, tf.stack([shape[0], -1, shape[-1]]))
            return tf.concat([tf.cast(tokens[:, : self.prefix], flat.dtype), flat], axis=1)
        raise ValueError(
            "a reshape= callable has no inverse, so a method that feeds changed activations onward from the "
            "layer (Ablation-CAM) cannot use it; pass token_grid=(h, w) and prefix_tokens=P instead."
        )

    def shape(self, tokens_shape: tuple) -> tuple:
        """The layer's output shape ``(N, L, D)`` as the grid ``(N, h, w, D)`` it is read as."""
        return (tokens_shape[0],) + tuple(self.grid) + (tokens_shape[-1],)


def is_token_shape(shape: Optional[tuple]) -> bool:
    """Output ``(batch, tokens, features)``."""
    return shape is not None and len(shape) == 3


def patch_embedding(model: keras.Model) -> Optional[Tuple[LayerPath, Tuple[int, ...]]]:
    """The last convolution reading a model input with ``kernel_size == strides`` (a
    patch embedding, strides above 1) and a known output grid: its path and grid
    ``(h, w)``; None if the model has none. A convolution inside a custom layer
    (KerasHub's ``ViTPatchingAndEmbedding``) counts when the traced call
    (:func:`~.inner.inner_calls`) feeds it a model input."""
    found = None
    inner = inner_calls(model) if any(inside_custom_layer(p) for p in walk(model, into_layers=True)) else {}
    for path in walk(model, into_layers=True):
        layer = path[-1]
        if not _is_patch_convolution(layer):
            continue
        if inside_custom_layer(path):  # KerasHub's ViTPatchingAndEmbedding
            call = inner.get(path)
            if call is not None and call.reads_input and call.shape and None not in call.shape[1:-1]:
                found = (path, tuple(int(d) for d in call.shape[1:-1]))
            continue
        try:
            shape = tuple(keras.tree.flatten(layer.output)[0].shape)
        except (AttributeError, ValueError, RuntimeError):
            continue
        grid = shape[1:-1]
        if not grid or any(d is None for d in grid):
            continue
        stack = (model,) + tuple(path[:-1])
        try:
            feeding = predecessors(stack, layer)
        except (AttributeError, ValueError, IndexError, KeyError):
            continue
        if feeding and all(step.layer is None or isinstance(step.layer, keras.layers.InputLayer) for step in feeding):
            found = (path, tuple(int(d) for d in grid))
    return found


def _is_patch_convolution(layer: Any) -> bool:
    if "Conv" not in type(layer).__name__ or "Transpose" in type(layer).__name__:
        return False
    kernel, strides = getattr(layer, "kernel_size", None), getattr(layer, "strides", None)
    if kernel is None or strides is None or getattr(layer, "data_format", "channels_last") != "channels_last":
        return False
    return tuple(kernel) == tuple(strides) and any(s > 1 for s in strides)


def token_grid(
    model: keras.Model,
    where: str,
    shape: Optional[tuple],
    spatial_ranks: Sequence[int],
    token_grid: Any = None,
    prefix_tokens: Any = None,
    reshape: Any = None,
) -> Optional[TokenGrid]:
    """How the layer ``where`` of output ``shape`` is a patch grid, or None when it is
    not a token sequence to reshape.

    A layer is reshaped when an option is given, or when its output is ``(N, L, D)``
    and the model has an input with two spatial axes and none with one (an image
    model, not a text or signal model). See the module docstring for the rules.

    Raises
    ------
    TypeError, ValueError
        An option of the wrong type, a layer that is not a token sequence while an
        option is given, or tokens that do not make the grid (naming what to pass).
    """
    given = reshape is not None or token_grid is not None or prefix_tokens is not None
    if not is_token_shape(shape):
        if given:
            raise ValueError(
                f"token_grid=, prefix_tokens= and reshape= apply to a layer whose output is a token sequence "
                f"(batch, tokens, features); layer {where!r} has output shape {shape}."
            )
        return None
    if not given and (1 in spatial_ranks or 2 not in spatial_ranks):
        return None
    if reshape is not None:
        return _user_reshape(where, shape, spatial_ranks, reshape, token_grid, prefix_tokens)
    grid = _grid_option(token_grid, spatial_ranks)
    prefix = check.optional_integer("prefix_tokens", prefix_tokens, 0)
    tokens = shape[1]
    if tokens is None:
        if grid is None or prefix is None:
            raise ValueError(
                f"layer {where!r} has a variable number of tokens (output shape {shape}); pass token_grid=(h, w) "
                "and prefix_tokens=P, or reshape=fn mapping (N, L, D) to (N, h, w, D)."
            )
        return TokenGrid(prefix, grid)
    source = "token_grid"
    if grid is None:
        patch = patch_embedding(model)
        if patch is not None:
            grid, source = patch[1], f"the patch embedding {'/'.join(x.name for x in patch[0])!r}"
    if grid is not None:
        prefix = tokens - math.prod(grid) if prefix is None else prefix
        if prefix < 0 or prefix + math.prod(grid) != tokens:
            size = "x".join(map(str, grid))
            raise ValueError(
                f"layer {where!r} outputs {tokens} tokens, which is not {prefix} prefix token(s) plus the "
                f"{size} = {math.prod(grid)} patch tokens of {source}; pass token_grid=(h, w) with the layer's "
                "patch grid and prefix_tokens=P with its class/distillation/register tokens "
                f"(P + h*w = {tokens}), or reshape=fn."
            )
        return TokenGrid(prefix, grid)
    patches = tokens - (prefix or 0)
    side = math.isqrt(max(patches, 0))
    if patches <= 0 or side * side != patches:
        counted = f"{tokens} - prefix_tokens={prefix} = {patches}" if prefix is not None else f"{tokens}"
        raise ValueError(
            f"layer {where!r} outputs {counted} patch tokens, not a square grid, and the model has no patch "
            "embedding (a convolution with kernel_size == strides on the input) to read the grid from; pass "
            "token_grid=(h, w) (prefix_tokens=P for leading class/distillation/register tokens), or reshape=fn "
            "mapping (N, L, D) to (N, h, w, D)."
        )
    return TokenGrid(prefix or 0, (side, side))


def _grid_option(value: Any, spatial_ranks: Sequence[int]) -> Optional[Tuple[int, ...]]:
    if value is None:
        return None
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"token_grid must be a tuple of ints (h, w); got {type(value).__name__}: {value!r}.")
    grid = check.per_axis("token_grid", tuple(value))
    if len(grid) < 2 or len(grid) not in spatial_ranks:
        raise ValueError(
            f"token_grid must have one size per spatial axis of an input ({sorted(set(spatial_ranks))}); "
            f"got {value!r}."
        )
    return grid


def _user_reshape(where, shape, spatial_ranks, reshape, token_grid, prefix_tokens) -> TokenGrid:
    if not callable(reshape):
        raise TypeError(f"reshape must be a callable (N, L, D) -> (N, h, w, D); got {type(reshape).__name__}.")
    if token_grid is not None or prefix_tokens is not None:
        raise ValueError(
            "pass either reshape= or token_grid=/prefix_tokens=, not both: reshape= does the whole "
            "token-to-grid mapping itself."
        )
    spec = tf.TensorSpec((None,) + tuple(shape[1:]), tf.float32)
    try:
        out = tf.function(reshape, autograph=False).get_concrete_function(spec).structured_outputs
    except Exception as e:  # the user's function is traced once on the layer's spec
        raise ValueError(
            f"reshape= failed on layer {where!r}'s output spec {tuple(spec.shape)}: {type(e).__name__}: {e}"
        ) from e
    rank = getattr(out, "shape", tf.TensorShape(None)).rank
    if rank is None or rank - 2 not in spatial_ranks or out.shape[-1] != shape[-1]:
        raise ValueError(
            f"reshape= must map layer {where!r}'s tokens {tuple(shape)} to (N, *grid, {shape[-1]}) with as many "
            f"grid axes as an input has spatial axes; it returned shape {getattr(out, 'shape', out)}."
        )
    return TokenGrid(grid=tuple(out.shape[1:-1]), reshape=reshape)

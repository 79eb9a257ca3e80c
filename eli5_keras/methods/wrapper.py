"""Methods that wrap another method: run it on modified copies of each input (noisy
copies, flips, zooms) and combine its raw maps.

A :class:`Wrapper` takes ``base`` (a registered name, with ``base_options``, or a
configured :class:`~eli5_keras.methods.base.Method`), explains at the base's layer
when the base has one, and bounds memory like any method: the driver's ``block``
(items of work in flight per input) is split between copies of the input and the
base's own expansion (steps, masks, ...). Targets are resolved once on the clean
input ("top class" stays the clean input's class on every copy), and the reported
labels and scores are the clean input's.
"""
from __future__ import annotations

import abc
from typing import Any, List, Mapping, Optional, Tuple, Union

import tensorflow as tf

from .base import Context, Method, MethodOutput, _hashable
from .perturbed import UNKNOWN_CHANNELS, copies_of


def resolve_base(base: Union[str, Method], base_options: Optional[Mapping[str, Any]]) -> Method:
    """The wrapped method: a name (built with ``base_options``) or a Method instance."""
    from . import get  # the registry imports this module

    if base_options is not None and not isinstance(base_options, Mapping):
        raise TypeError(f"base_options must be a dict of the base method's options; got {base_options!r}.")
    if isinstance(base, Method):
        if base_options:
            raise TypeError(
                f"base_options {sorted(base_options)} given with a Method instance as base; "
                "set them on the instance."
            )
        return _wrappable(base)
    if not isinstance(base, str):
        raise TypeError(
            f"base must be a method name (str) or a Method instance; got {type(base).__name__}: {base!r}."
        )
    return _wrappable(get(base, **dict(base_options or {})))


def _wrappable(base: Method) -> Method:
    """``base``, unless it needs per-chunk side data (features: LIME, KernelSHAP), which
    the wrapped call cannot pass."""
    if type(base).side_signature is not Method.side_signature:
        raise ValueError(
            f"base {base.name!r} computes its features per input before the graph and cannot be wrapped; "
            "use a method on gradients, a layer or masks as base."
        )
    return base


class Wrapper(Method):
    """Base of wrappers: override :meth:`copies` and :meth:`compute`.

    ``uses_layer``, ``maps_at_input``, ``per_target_work`` and ``signed`` follow the
    base (a subclass may declare ``signed`` itself with ``signed_from_base = False``);
    ``title`` reads e.g. ``"SmoothGrad(Grad-CAM)"``.
    """

    signed_from_base = True

    def __init__(self, base: Union[str, Method], base_options: Optional[Mapping[str, Any]] = None) -> None:
        self.base = resolve_base(base, base_options)
        self.base_options = dict(base_options or {})
        self.uses_layer = self.base.uses_layer
        self.maps_at_input = self.base.maps_at_input
        self.per_target_work = self.base.per_target_work
        if self.signed_from_base:
            self.signed = self.base.signed
        self.title = f"{type(self).title}({self.base.title})"

    @abc.abstractmethod
    def copies(self, context: Context) -> int:
        """Modified copies of each input (the base runs once on each)."""

    def setup(self, context: Context) -> None:
        self.base.setup(context)

    def expansion(self, context: Context) -> int:
        return min(self.copies(context) * max(1, int(self.base.expansion(context))), UNKNOWN_CHANNELS)

    def key(self) -> tuple:
        own = tuple(
            sorted((k, _hashable(v)) for k, v in self.options().items() if k not in ("base", "base_options"))
        )
        return (self.name,) + own + (("base", self.base.key()),)

    def split_block(self, context: Context, block: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """``(copies per block, the base's block)`` with ``copies * base block <= block``
        (at least one of each)."""
        per_copy = min(max(1, int(self.base.expansion(context))), UNKNOWN_CHANNELS)
        copies = tf.maximum(block // per_copy, 1)
        return copies, tf.maximum(block // copies, 1)

    def run_base(
        self,
        context: Context,
        inputs: List[tf.Tensor],
        pinned: tf.Tensor,
        modified: tf.Tensor,
        copies: tf.Tensor,
        block: tf.Tensor,
    ) -> MethodOutput:
        """The base on ``copies`` modified versions of each example (``modified``
        ``(n * copies, ...)``, example-major); maps ``(n, copies, T, *s)`` and extras
        ``(n, copies, T, ...)``."""
        n = tf.shape(inputs[context.input_index])[0]
        out = self.base.compute(
            context,
            copies_of(inputs, copies, {context.input_index: modified}),
            tf.repeat(pinned, copies, axis=0),
            block,
        )

        def split(t: tf.Tensor) -> tf.Tensor:
            return tf.reshape(t, tf.concat([tf.stack([n, copies]), tf.shape(t)[1:]], axis=0))

        extras = {k: split(v) for k, v in out.extras.items()}
        return MethodOutput(split(out.maps), out.labels, out.scores, extras)

"""The steps around a method in the compiled graph, resolved once and frozen.

An :class:`~eli5_keras.explain.Explainer` runs ``method -> ReLU -> min-max ->
resize`` on the scores of a target (logits or outputs, negated for counterfactual
explanations). :class:`Pipeline` holds those choices with every default resolved
(``relu=None`` becomes the method's own default), so it is hashable and equal for
equal *values*: the explainer cache key does not depend on which options a caller
spelled out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

import tensorflow as tf

from .utils.resize import constant_maps, minmax_normalize

NORMALIZATION_RULE = "(L - min) / (max - min), a constant map all zero"
"""The per-map min-max of ``normalize=True``, in words (see
:func:`~eli5_keras.utils.resize.minmax_normalize`)."""

PIPELINE_OPTIONS = (
    "use_logits", "relu", "normalize", "resize", "input_index", "counterfactual",
    "token_grid", "prefix_tokens", "reshape",
)
"""The keyword arguments of ``explain()`` / ``Explainer`` that shape the pipeline
(every other keyword is a method option)."""


@dataclass(frozen=True)
class Pipeline:
    """Post-processing and score choices of one explainer (see :class:`~eli5_keras.explain.Explainer`).

    Attributes
    ----------
    use_logits : bool
        Scores before a final softmax/sigmoid.
    relu : bool
        Keep positive evidence only.
    normalize : bool
        Min-max normalise each map: ``(L - min) / (max - min)``, so every map that is
        not constant reaches exactly 1 whatever its scale; a constant map stays all zero.
    resize : bool
        Resize layer maps onto the input.
    counterfactual : bool
        Explain ``-S``.
    input_index : int
        The model input the maps are aligned with.
    token_grid, prefix_tokens, reshape
        How a token-sequence layer ``(N, P + h*w, D)`` is read as a patch grid
        (:mod:`eli5_keras.backend.tokens`); None: inferred from the model.
    """

    use_logits: bool
    relu: bool
    normalize: bool
    resize: bool
    counterfactual: bool
    input_index: int
    token_grid: Optional[Tuple[int, ...]] = None
    prefix_tokens: Optional[int] = None
    reshape: Optional[Callable[[Any], Any]] = None

    @classmethod
    def resolve(
        cls,
        *,
        signed: bool,
        input_index: int,
        use_logits: bool = True,
        relu: Optional[bool] = None,
        normalize: Optional[bool] = None,
        resize: bool = True,
        counterfactual: bool = False,
        token_grid: Any = None,
        prefix_tokens: Optional[int] = None,
        reshape: Optional[Callable[[Any], Any]] = None,
    ) -> "Pipeline":
        """Defaults filled in: a ``signed`` method keeps the sign and the raw scale
        (``relu=False, normalize=False``), any other gets ReLU and min-max."""
        return cls(
            use_logits=bool(use_logits),
            relu=(not signed) if relu is None else bool(relu),
            normalize=(not signed) if normalize is None else bool(normalize),
            resize=bool(resize),
            counterfactual=bool(counterfactual),
            input_index=int(input_index),
            token_grid=tuple(token_grid) if isinstance(token_grid, list) else token_grid,
            prefix_tokens=prefix_tokens,
            reshape=reshape,
        )

    @property
    def signed(self) -> bool:
        """Maps keep their sign and raw scale (no ReLU, no normalisation)."""
        return not self.relu and not self.normalize

    def scale(self, maps: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor]:
        """ReLU then per-map min-max as configured: ``(N, T, *s) -> (N, T, *s)``, and
        which maps are empty, ``(N, T)`` bool: constant after the ReLU (all zero for a
        target with only negative evidence), so they show nothing."""
        if self.relu:
            maps = tf.nn.relu(maps)
        empty = constant_maps(maps, first_axis=2)
        if self.normalize:
            maps = minmax_normalize(maps, first_axis=2)
        return maps, empty

    def describe(self, resized: bool) -> str:
        """How the maps were scaled, in words (shown by the formatters)."""
        return describe_normalization(self.relu, self.normalize, resized)


def describe_normalization(relu: bool, normalize: bool, resize: bool) -> str:
    """How the pipeline scaled the maps, in words (shown by the formatters)."""
    steps = ["ReLU (negative evidence dropped)"] if relu else []
    steps.append(
        f"min-max per map: {NORMALIZATION_RULE}" if normalize else "raw values, not normalised"
    )
    if resize:
        steps.append("linear resize onto the input")
    return ", then ".join(steps)

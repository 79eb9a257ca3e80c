"""Saliency map (Simonyan, Vedaldi & Zisserman, 2014, https://arxiv.org/abs/1312.6034).

    g[n, t] = dS[n, t] / dx[n]                 (N, T, *S, C)
    M[n, t] = max_c |g[n, t, ..., c]|          (N, T, *S)

``S`` is the class score before the final softmax/sigmoid (the paper's ``S_c``, by
default; ``use_logits=False`` differentiates the probability) and ``x`` the explained
input (``input_index``; other inputs of a multi-input model are held fixed). The map is
non-negative; the shared pipeline then min-max normalises it. The plumbing is
:class:`~eli5_keras.methods.input_gradients.InputGradientMethod`'s as it stands
(plain gradients, attribution ``g``); ``reduce`` picks the channel reduction.

Options
-------
reduce : {"max_abs", "sum_abs", "l2", "sum", "mean", "max"}, default "max_abs"
    Channel reduction. ``"max_abs"`` is the paper's ("the maximum magnitude of w across
    all colour channels"), as in tf-keras-vis and Xplique's ``Saliency``;
    ``"sum_abs"`` is PAIR saliency's ``VisualizeImageGrayscale`` (before its percentile
    clipping); ``"l2"`` the gradient's norm per position. Captum's ``Saliency`` keeps
    the channels (``|g|`` per channel) and leaves the reduction to the user.
    The signed reductions of the raw gradient, ``"sum"``, ``"mean"`` and ``"max"``
    (``max_c g``, AUCMEDI's ``SaliencyMap``), make the map signed; ``"sum"`` on a
    one-channel input is the plain gradient ``dS/dx``.
"""
from __future__ import annotations

from .. import validation as check
from .input_gradients import SIGNED_REDUCTIONS, InputGradientMethod

SALIENCY_REDUCTIONS = ("max_abs", "sum_abs", "l2") + SIGNED_REDUCTIONS


class Saliency(InputGradientMethod):
    name = "saliency"
    title = "Saliency"
    summary = "max over channels of |dS/dx| (vanilla gradient)"

    def __init__(self, reduce: str = "max_abs") -> None:
        self.reduce = check.choice("reduce", reduce, SALIENCY_REDUCTIONS)
        self.signed = self.reduce in SIGNED_REDUCTIONS

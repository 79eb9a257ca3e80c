"""Gradient x input (Shrikumar, Greenside, Shcherbina & Kundaje, 2016,
https://arxiv.org/abs/1605.01713).

    a[n, t] = x[n] * dS[n, t] / dx[n]          (N, T, *S, C)
    M[n, t] = sum_c a[n, t, ..., c]            (N, T, *S), signed

``S`` is the target score (logit by default), ``x`` the explained input (other inputs
of a multi-input model are held fixed). The map is signed: by default the pipeline
keeps the sign and the raw scale (no ReLU, no normalisation). For a model that is
linear in ``x`` without bias, ``sum M = S(x)``. Captum's ``InputXGradient`` keeps the
channels (``a`` itself); Xplique's ``GradientInput`` reduces them with a mean by
default (``M / C``). On
:class:`~eli5_keras.methods.input_gradients.InputGradientMethod`: ``attribution`` is
``x * g``, reduced by ``"sum"``.
"""
from __future__ import annotations

from .input_gradients import InputGradientMethod


class GradientInput(InputGradientMethod):
    name = "gradient_input"
    title = "Gradient x Input"
    summary = "sum over channels of x * dS/dx (signed)"
    signed = True
    reduce = "sum"

    def attribution(self, x, gradients):
        return gradients * x[:, None]

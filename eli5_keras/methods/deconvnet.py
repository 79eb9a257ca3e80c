"""DeconvNet (Zeiler & Fergus, 2014, https://arxiv.org/abs/1311.2901), as a gradient
rule (Springenberg et al., 2015, section 3.4).

The gradient of the target score ``S`` with respect to the input ``x``, with the
backward pass of every ReLU replaced by the "reconstruction" rule (forward unchanged,
``dy`` the signal arriving at the ReLU's output):

    dz = ReLU(dy)                              (the forward mask is ignored)
    M[n, t] = sum_c G[n, t, ..., c]            (N, T, *S)

Everything else (which layers get the rule, non-ReLU activations and the warning about
them, the channel ``reduce`` option, the pipeline) is as in
:mod:`eli5_keras.methods.guided_backprop`. Max-pooling keeps its ordinary gradient,
which routes the signal to the forward pass's maxima: Zeiler & Fergus's "switches".
Matches Captum's ``Deconvolution`` and Xplique's ``DeconvNet`` (``deconv_relu_policy``).
"""
from __future__ import annotations

from .guided_backprop import GuidedBackprop


class Deconvnet(GuidedBackprop):
    name = "deconvnet"
    title = "DeconvNet"
    summary = "input gradient with ReLU(dy) at every ReLU"
    rule = "deconvnet"

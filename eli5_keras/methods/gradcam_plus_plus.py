"""Grad-CAM++ (Chattopadhay et al., 2018, https://arxiv.org/abs/1710.11063).

The authors' closed form (``adityac94/Grad_CAM_plus_plus:misc/utils.py::grad_CAM_plus``,
the "exp trick"): with ``Y = exp(S)`` for the pre-softmax score ``S`` of a
piecewise-linear network, every derivative of ``Y`` with respect to ``A`` is
``exp(S)`` times a power of ``g = dS/dA``, and ``exp(S)`` cancels in ``alpha``::

    first  = g,   second = g**2,   third = g**3               (N, T, *s, C)
    global_sum[n, k] = sum_ab A[n, a, b, k]                   (N, 1, 1, C)
    den    = 2 * second + third * global_sum
    alpha  = second / where(den != 0, den, 1)
    alpha  = alpha / where(sum_ij alpha != 0, sum_ij alpha, 1)     (normalize_alphas=True)
    w[n, t, k] = sum_ij ReLU(first[n, t, i, j, k]) * alpha[n, t, i, j, k]
    L[n, t]    = sum_k w[n, t, k] * A[n, ..., k]

then the shared ReLU / min-max / resize. Any number of spatial axes (``sum_ij`` runs
over all of them).

Deviations and variants
-----------------------
* ``first`` is ``g``, not ``exp(S) * g``: the official code's weights carry an extra
  positive per-map factor ``exp(S)`` (it cancels in ``alpha``), which min-max
  normalisation removes and which overflows float32 for logits above ~88. Raw maps
  (``normalize=False``) are therefore the official ones divided by ``exp(S)``.
* ``normalize_alphas=True`` (default): the official code and tf-keras-vis divide
  ``alpha`` by its spatial sum per channel, with a guard for a zero sum (the zero
  channel keeps zero weight). ``normalize_alphas=False``: pytorch-grad-cam
  (``grad_cam_plusplus.py``) and keras-explainable, which skip it. pytorch-grad-cam
  adds 1e-6 to the denominator instead of the ``where`` guard (a relative difference
  of about ``1e-6 / den``) and zeroes ``alpha`` where ``g == 0``, as the guard here does.
* ``spatial_mean=True``: Xplique's ``GradCAMPP`` (``grad_cam_pp.py::_compute_weights``),
  which takes the spatial *mean* of ``A`` in the global term and of the weights:
  ``den = 2 g**2 + g**3 mean_ab A``, ``w = mean_ij ReLU(g) alpha`` (``normalize_alphas=False``
  there). Its ``+1e-4`` where ``den == 0`` gives ``alpha = 0`` there, as the guard here.
  AUCMEDI's nested-tape derivatives are exact for non-piecewise-linear
  networks but equal to this closed form for piecewise-linear ones.

The exp trick assumes ``S`` is the pre-softmax score (``use_logits=True``, the
default) of a network that is piecewise linear between the layer and the score
(ReLU, max-pooling, linear layers), so that higher derivatives of ``S`` vanish. With
``use_logits=False`` the same formula is applied to the gradient of the probability,
which is not the paper's derivation.

For a head whose gradient is constant over space for every channel (``g[..., k] =
c_k``, e.g. ``GlobalAveragePooling -> Dense`` explained from the logit), ``alpha =
1 / Z`` after normalisation, so ``w_k = ReLU(c_k)``: Grad-CAM++ equals Grad-CAM
exactly when every ``c_k >= 0`` (the official code: up to the factor ``exp(S)``), and
Grad-CAM with the negative channels dropped otherwise. Without the normalisation,
``alpha = 1 / (2 + c_k sum_ab A^k)`` and ``w_k = Z c_k / (2 + c_k sum_ab A^k)`` for
``c_k > 0``: Grad-CAM times a positive factor only when that factor is the same for
every channel (e.g. one channel, with ``2 + c sum_ab A > 0``).
"""
from __future__ import annotations

import tensorflow as tf

from .. import validation as check
from .base import ChannelWeightCAM, spatial_axes


class GradCAMPlusPlus(ChannelWeightCAM):
    """Grad-CAM++ channel weights: ReLU-gradients weighted by the closed-form alphas.

    Parameters
    ----------
    normalize_alphas : bool, default True
        Divide ``alpha`` by its sum over space per channel (official code,
        tf-keras-vis). False: pytorch-grad-cam and keras-explainable.
    spatial_mean : bool, default False
        Spatial means instead of sums in the global term and the weights (Xplique).
    """

    name = "gradcam++"
    title = "Grad-CAM++"
    summary = "channel weights = ReLU gradients weighted by second-order alphas (exp trick)"
    aliases = ("gradcam_pp",)

    def __init__(self, normalize_alphas: bool = True, spatial_mean: bool = False) -> None:
        self.normalize_alphas = check.boolean("normalize_alphas", normalize_alphas)
        self.spatial_mean = check.boolean("spatial_mean", spatial_mean)

    def channel_weights(self, activations: tf.Tensor, gradients: tf.Tensor) -> tf.Tensor:
        """``A (N, *s, C), g (N, T, *s, C) -> w (N, T, C)``."""
        axes = spatial_axes(gradients)
        second = tf.square(gradients)
        third = second * gradients
        pool = tf.reduce_mean if self.spatial_mean else tf.reduce_sum
        global_sum = pool(activations, axis=[a - 1 for a in axes], keepdims=True)[:, None]
        den = 2.0 * second + third * global_sum
        alpha = second / tf.where(den != 0.0, den, tf.ones_like(den))
        if self.normalize_alphas:
            total = tf.reduce_sum(alpha, axis=axes, keepdims=True)
            alpha = alpha / tf.where(total != 0.0, total, tf.ones_like(total))
        return pool(tf.nn.relu(gradients) * alpha, axis=axes)

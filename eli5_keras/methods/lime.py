"""LIME: Local Interpretable Model-agnostic Explanations (Ribeiro et al., 2016,
https://arxiv.org/abs/1602.04938), with the ``lime`` package's image defaults.

The input is cut into ``K`` features (superpixels, grid cells, tokens: ``segments=``,
:mod:`.segments`). ``B`` binary vectors ``z_j`` switch features on (kept) or off (shown
as ``hide_value``); the model scores each masked copy, and a weighted ridge regression
of the scores on ``z`` gives one signed coefficient per feature ("pro" > 0, "con" < 0):

    z_0 = 1,  z_jk ~ Bernoulli(1/2) (j >= 1)                    lime_image.data_labels
    d_j = 1 - cos(z_j, 1) = 1 - sqrt(|z_j|_1 / K)              cosine distance to the input
    w_j = sqrt(exp(-d_j^2 / kernel_width^2))                   lime_image's kernel
    (beta, b) = argmin sum_j w_j (y_j - b - z_j . beta)^2 + alpha |beta|^2
    map[p] = beta[label(p)]

``y_j`` is the model's output for the target as the model returns it (probabilities,
as the ``lime`` package's ``classifier_fn``; ``fwd.reported``), so ``use_logits`` does
not apply. The ridge is solved per input for all targets at once from the weighted
moments (:mod:`.surrogate`) in float64: ``(A + alpha I) beta = c`` with
``A = sum w (z - z̄)(z - z̄)^T`` and ``c = sum w (y - ȳ)(z - z̄)`` (scikit-learn's
``Ridge(alpha=1, fit_intercept=True)`` with ``sample_weight``), ``b = ȳ - z̄ . beta``.

Defaults (``lime_image.LimeImageExplainer.explain_instance``): ``samples=1000``,
``kernel_width=0.25``, ``alpha=1``, ``hide_value="mean"`` (``hide_color=None``: each hidden
feature shows its mean colour), every feature in the fit (``num_features=100000``).
``feature_selection="highest_weights"`` fits a ridge with ``alpha=0.01`` first and keeps
the ``num_features`` largest ``|beta|`` (lime's ``highest_weights``); ``"auto"`` is
``"none"`` when ``num_features`` is None or covers every feature, else
``"highest_weights"`` (lime's ``auto`` uses forward selection below 7 features: not
implemented). Views on the fitted coefficients: ``positive_only`` keeps the "pro"
features, ``top_features`` the largest ``|beta|`` (lime's ``get_image_and_mask``).

Deviations: features default to a grid of ``8`` cells per axis (``segments="quickshift"``
is lime's segmentation, with scikit-image), one feature per token on token ids (the
hidden value is then a token id, default 0, the padding id); samples are drawn by a
seeded counter-based hash (:mod:`.surrogate`), not numpy's ``RandomState``; on text,
the ``lime`` package removes a uniformly drawn number of words per sample, here each
token is dropped with probability 1/2 (its kernel ``cosine * 100`` with width 25 is the
same kernel). ``design=`` replaces the samples by a given binary ``(B, K)`` matrix
(the same for every input; row 0 is used as given), e.g. the ``lime`` package's own.
Extras: ``intercept`` ``b`` and ``r2``, the weighted R² of the fit (lime's ``score``).

Options beyond the ``lime`` package (defaults keep its numbers; Xplique's ``Lime`` and
``KernelShap`` are these, :mod:`eli5_keras.compat.xplique`):

* ``prob``: ``z_jk ~ Bernoulli(prob)``; ``original_sample=False`` draws ``z_0`` too
  (Xplique keeps no all-ones row); ``sampling="shapley"``: each ``z_j`` has
  ``s ~ 1 / (s (K - s))`` ones at uniformly chosen features (Xplique's ``KernelShap``,
  :func:`~eli5_keras.methods.kernelshap.shapley_coalitions`).
* ``kernel``: ``"lime"`` (above), ``"euclidean"`` / ``"cosine"`` (``exp(-d^2 / width^2)``
  with ``d`` the distance between ``x`` and the masked copy in input space),
  ``"uniform"`` or a callable (:mod:`.lime_kernels`).
* ``hide_value``: also one value per channel (Xplique's ``ref_value``).
* ``regressor``: any scikit-learn-style regressor fitted instead of the ridge, outside
  the graph on the collected samples (:mod:`.regressor`); ``alpha=0`` is scikit-learn's
  ``LinearRegression`` (minimum-norm least squares with an intercept).

An input whose weights all underflow to 0 (an input-space kernel on large or unscaled
inputs with a small width) is fitted with every weight 1, as Xplique falls back to.
"""
from __future__ import annotations

from typing import Any, Optional, Tuple, Union

import tensorflow as tf

from .. import validation as check
from .base import Context, MethodOutput
from .kernelshap import shapley_coalitions
from .lime_kernels import KernelSpec, feature_weights, input_weights, kernel_option, reads_copies
from .perturbed import require_float_input
from .regressor import fit_regressor, regressor_option
from .segments import SegmentsSpec, per_feature, present, resolve
from .surrogate import (
    SurrogateMethod,
    all_samples,
    design_option,
    given_design,
    hash_uniform,
    hide_option,
    keep_top,
    moments,
)

DEFAULT_SAMPLES = 1000
DEFAULT_KERNEL_WIDTH = 0.25
DEFAULT_ALPHA = 1.0
SELECTION_ALPHA = 0.01
"""Ridge strength of lime's ``highest_weights`` pre-fit."""
SAMPLINGS = ("bernoulli", "shapley")


class Lime(SurrogateMethod):
    """Signed coefficients of a locally weighted ridge regression on feature on/off samples.

    Parameters
    ----------
    samples : int, default 1000
        Feature vectors ``z`` (masked forward passes) per input, ``z_0`` all ones.
    segments : None, int array, callable or {"quickshift", "slic"}
        The features (:mod:`eli5_keras.methods.segments`); None: a grid.
    grid : int or tuple of ints, optional
        Grid cells per spatial axis when ``segments`` is None; default 8, one feature
        per token on token ids.
    kernel_width : float, default 0.25
        Width of the exponential kernel on the cosine distance.
    alpha : float, default 1.0
        Ridge strength.
    feature_selection : {"auto", "none", "highest_weights"}, default "auto"
    num_features : int, optional
        Features kept by the feature selection (default: all).
    hide_value : "mean", float or (C,) floats, optional
        What hidden features show: "mean" (default on float inputs), a value, one value
        per channel (a tuple), or a token id on token inputs (default 0).
    top_features : int, optional
        View: keep only the ``top_features`` largest ``|beta|`` in the map.
    positive_only : bool, default False
        View: keep only the positive ("pro") coefficients.
    seed : int, default 0
        Seed of the samples (same seed, same maps).
    design : (B, K) binary array, optional
        Use these feature vectors instead of sampling (every input must have ``K`` features).
    prob : float, default 0.5
        Probability of a 1 (a kept feature) in the Bernoulli samples.
    original_sample : bool, default True
        ``z_0`` is all ones (the input itself), as the ``lime`` package; False draws it.
    sampling : {"bernoulli", "shapley"}, default "bernoulli"
        ``z_jk ~ Bernoulli(prob)``, or coalitions from the Shapley kernel (size
        ``s ~ 1 / (s (K - s))``, then ``s`` features uniformly).
    kernel : {"lime", "euclidean", "cosine", "uniform"} or callable, default "lime"
        The sample weights (:mod:`eli5_keras.methods.lime_kernels`).
    regressor : scikit-learn-style regressor, optional
        Fitted (a copy per input and target) instead of the ridge; ``alpha`` and the
        feature selection then do not apply.

    Output: maps ``(N, T, *S)`` (each position carries its feature's coefficient);
    extras ``intercept`` and ``r2`` ``(N, T)``.
    """

    name = "lime"
    title = "LIME"
    summary = "signed coefficients of a weighted ridge fit on superpixel/grid/token on-off samples"
    uses_layer = False
    signed = True
    per_target_work = False

    def __init__(
        self,
        samples: int = DEFAULT_SAMPLES,
        segments: SegmentsSpec = None,
        grid: Optional[Union[int, Tuple[int, ...]]] = None,
        kernel_width: float = DEFAULT_KERNEL_WIDTH,
        alpha: float = DEFAULT_ALPHA,
        feature_selection: str = "auto",
        num_features: Optional[int] = None,
        hide_value: Any = None,
        top_features: Optional[int] = None,
        positive_only: bool = False,
        seed: int = 0,
        design: Any = None,
        prob: float = 0.5,
        original_sample: bool = True,
        sampling: str = "bernoulli",
        kernel: KernelSpec = "lime",
        regressor: Any = None,
    ) -> None:
        self.samples = check.integer("samples", samples, 2)
        self.grid = None if grid is None else check.per_axis("grid", grid)
        self.segments = resolve(segments, self.grid)
        self.kernel_width = check.real("kernel_width", kernel_width, 0.0, open_low=True)
        self.alpha = check.real("alpha", alpha, 0.0)
        self.feature_selection = check.choice("feature_selection", feature_selection, ("auto", "none", "highest_weights"))
        self.num_features = check.optional_integer("num_features", num_features, 1)
        self.hide_value = None if hide_value is None else hide_option("hide_value", hide_value)
        self.top_features = check.optional_integer("top_features", top_features, 1)
        self.positive_only = check.boolean("positive_only", positive_only)
        self.seed = check.integer("seed", seed, 0)
        self.design = design_option("design", design)
        if self.feature_selection == "highest_weights" and self.num_features is None:
            raise ValueError("feature_selection='highest_weights' needs num_features (an int >= 1); got None.")
        self.prob = check.real("prob", prob, 0.0, 1.0)
        self.original_sample = check.boolean("original_sample", original_sample)
        self.sampling = check.choice("sampling", sampling, SAMPLINGS)
        self.kernel = kernel_option(kernel)
        self.regressor = regressor_option(regressor)
        if self.regressor is not None and self.num_features is not None:
            raise ValueError(
                f"num_features selects features for the built-in ridge; with a regressor every feature is fitted: "
                f"pass num_features=None (got {self.num_features})."
            )

    def setup(self, context: Context) -> None:
        super().setup(context)
        if reads_copies(self.kernel):
            require_float_input(context, "lime", f"with kernel={self.kernel!r} measures distances between inputs")


    def expansion(self, context: Context) -> int:
        return self.samples if self.design is None else self.design.shape[0]

    def compute(self, context, inputs, data, block, side):
        labels, counts, fwd, pinned, t, k, hidden = self.chunk(context, inputs, data, side)
        count = self.expansion(context)

        def design(start, size):
            z = self.draw(start + tf.range(size), counts, k)
            return z, feature_weights(self.kernel, self.kernel_width, z, counts)

        weigh = input_weights(self.kernel, self.kernel_width)
        if self.regressor is None:
            m = moments(context, inputs, pinned, labels, hidden, design, count, block, k, t, weigh=weigh,
                        uniform_fallback=True)
            coef, intercept, r2 = self.fit(m, counts, k)
        else:
            z, w, y = all_samples(context, inputs, pinned, labels, hidden, design, count, block, k, t, weigh=weigh)
            coef, intercept, r2 = fit_regressor(self.regressor, z, y, w, counts)
        maps = per_feature(tf.cast(keep_top(coef, counts, self.top_features, self.positive_only), tf.float32), labels)
        extras = {"intercept": tf.cast(intercept, tf.float32), "r2": tf.cast(r2, tf.float32)}
        return MethodOutput(maps, fwd.labels, fwd.reported, extras)

    def draw(self, rows: tf.Tensor, counts: tf.Tensor, k: tf.Tensor) -> tf.Tensor:
        """Feature vectors ``z (n, b, K)`` float64 of sample rows ``rows (b,)``: the given
        design's rows, or :func:`sampled_design` (eager-callable: the tests read the
        samples a call used from it)."""
        if self.design is not None:
            return given_design(self.design, tf.shape(counts)[0], rows)
        return sampled_design(self.seed, rows, counts, k, self.prob, self.sampling, self.original_sample)

    def fit(self, m, counts: tf.Tensor, k: tf.Tensor) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        """Ridge coefficients ``(n, T, K)``, intercepts and weighted R² ``(n, T)``."""
        zbar, ybar, a, c = m.centred()
        selected = tf.cast(present(counts, k), tf.float64)  # (n, K)
        if self.num_features is not None and self.feature_selection != "none":
            prefit = ridge(a, c, selected, SELECTION_ALPHA)
            selected = selected * top_mask(prefit, selected, self.num_features)  # (n, T, K)
        else:
            selected = tf.broadcast_to(selected[:, None], tf.shape(c))
        coef = ridge(a, c, selected, self.alpha)
        intercept = ybar - tf.einsum("ntk,nk->nt", coef, zbar)
        total = m.syy - m.sw[:, None] * ybar**2
        residual = total - 2.0 * tf.reduce_sum(coef * c, -1) + tf.einsum("ntk,nkl,ntl->nt", coef, a, coef)
        r2 = 1.0 - tf.math.divide_no_nan(residual, total)
        return coef, intercept, r2


def sampled_design(seed: int, rows: tf.Tensor, counts: tf.Tensor, k: tf.Tensor, prob: float = 0.5,
                   sampling: str = "bernoulli", original_sample: bool = True) -> tf.Tensor:
    """LIME's samples ``z (n, b, K)`` float64 for rows ``rows (b,)`` of inputs with
    ``counts (n,)`` features (padded to ``k``): ``z_jk = 1[u(seed, j, k) < prob]``
    (``"bernoulli"``) or :func:`~eli5_keras.methods.kernelshap.shapley_coalitions`
    (``"shapley"``); row 0 all ones when ``original_sample``; padded features 0."""
    real = tf.cast(present(counts, k), tf.float64)  # (n, K)
    if sampling == "shapley":
        z = shapley_coalitions(seed, rows, counts, k)
    else:
        z = tf.cast(hash_uniform(seed, rows, tf.range(k)) < prob, tf.float64)[None]
    if original_sample:
        z = tf.where((rows == 0)[None, :, None], tf.ones_like(z), z)
    return z * real[:, None, :]


def ridge(a: tf.Tensor, c: tf.Tensor, selected: tf.Tensor, alpha: float) -> tf.Tensor:
    """``beta`` solving ``(A_S + alpha I) beta_S = c_S`` on the selected features, 0
    elsewhere: ``A (n, K, K)``, ``c (n, T, K)``, ``selected (n, K)`` or ``(n, T, K)`` of 0/1."""
    if selected.shape.rank == 2:
        selected = tf.broadcast_to(selected[:, None], tf.shape(c))
    s = selected[..., :, None] * selected[..., None, :]  # (n, T, K, K)
    k = tf.shape(a)[-1]
    eye = tf.eye(k, dtype=tf.float64)
    system = a[:, None] * s + eye * (alpha * selected[..., None] + (1.0 - selected[..., None]))
    rhs = (c * selected)[..., None]
    if alpha > 0:
        return tf.linalg.solve(system, rhs)[..., 0]
    return (tf.linalg.pinv(system) @ rhs)[..., 0]  # unregularised: minimum norm when singular


def top_mask(values: tf.Tensor, selected: tf.Tensor, top: int) -> tf.Tensor:
    """``(n, T, K)`` 0/1: the ``top`` largest ``|values|`` among the selected features
    (ties by lowest index, as lime's stable sort of ``-|coef|``)."""
    k = tf.shape(values)[-1]
    magnitude = tf.where(selected[:, None] > 0, tf.abs(values), -1.0)
    order = tf.argsort(-magnitude, axis=-1, stable=True)[..., : tf.minimum(top, k)]
    return tf.reduce_sum(tf.one_hot(order, k, dtype=tf.float64), axis=-2)

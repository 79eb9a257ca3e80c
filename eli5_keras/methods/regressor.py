"""A user's surrogate regressor for LIME (``regressor=``, Xplique's ``interpretable_model``):
any scikit-learn-style estimator with ``fit(X, y, sample_weight=w)``, ``predict(X)`` and,
once fitted, ``coef_`` (and optionally ``intercept_``).

It cannot run in the compiled graph: the samples ``z (n, B, K)``, weights ``w (n, B)``
and scores ``y (n, B, T)`` are collected (:func:`~eli5_keras.methods.surrogate.all_samples`)
and :func:`fit_regressor` fits a fresh copy (``copy.deepcopy``; the user's object is
never fitted) per input and target through ``tf.numpy_function``:

    est.fit(z_i[:, :K_i], y_i[:, t], sample_weight=w_i)
    coef[i, t] = est.coef_,  intercept[i, t] = est.intercept_ (0 without one)
    r2[i, t]   = 1 - sum_j w_j (y_j - est.predict(z_j))^2 / sum_j w_j (y_j - ybar_w)^2

(``w_i`` all 0, every weight underflowed: weights 1, Xplique's fallback.)
"""
from __future__ import annotations

import copy
from typing import Any, Optional, Tuple

import numpy as np
import tensorflow as tf


def regressor_option(value: Any) -> Optional[Any]:
    """None, or an object with ``fit`` and ``predict`` methods; TypeError naming
    ``regressor`` otherwise."""
    if value is None:
        return None
    if not all(callable(getattr(value, name, None)) for name in ("fit", "predict")):
        raise TypeError(
            "regressor must be a scikit-learn-style regressor with fit(X, y, sample_weight) and predict(X) "
            f"methods and coef_ once fitted; got {type(value).__name__}: {value!r}."
        )
    return value


def fit_numpy(regressor: Any, z: np.ndarray, y: np.ndarray, w: np.ndarray, counts: np.ndarray
              ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``coef (n, T, K)``, ``intercept (n, T)``, ``r2 (n, T)`` float64 (padded features 0)."""
    n, _, k = z.shape
    t = y.shape[-1]
    coef, intercept, r2 = np.zeros((n, t, k)), np.zeros((n, t)), np.zeros((n, t))
    for i in range(n):
        features = z[i, :, : counts[i]]
        weights = w[i] if np.sum(w[i]) > 0 else np.ones_like(w[i])  # every weight underflowed: equal weights
        for j in range(t):
            est = copy.deepcopy(regressor)
            est.fit(features, y[i, :, j], sample_weight=weights)
            values = np.ravel(np.asarray(est.coef_, np.float64))
            if values.size != counts[i]:
                raise ValueError(
                    f"regressor's coef_ must hold one coefficient per feature ({counts[i]}); got shape "
                    f"{np.shape(est.coef_)}."
                )
            coef[i, j, : counts[i]] = values
            intercept[i, j] = float(np.ravel(getattr(est, "intercept_", 0.0))[0])
            scores = y[i, :, j]
            mean = np.sum(weights * scores) / np.sum(weights)
            total = np.sum(weights * (scores - mean) ** 2)
            residual = np.sum(weights * (scores - np.ravel(est.predict(features))) ** 2)
            r2[i, j] = 1.0 - residual / total if total > 0 else 0.0
    return coef, intercept, r2


def fit_regressor(regressor: Any, z: tf.Tensor, y: tf.Tensor, w: tf.Tensor, counts: tf.Tensor
                  ) -> Tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """:func:`fit_numpy` inside the graph (``tf.numpy_function``), float64."""
    coef, intercept, r2 = tf.numpy_function(
        lambda *a: tuple(v.astype(np.float64) for v in fit_numpy(regressor, *a)),
        [z, y, w, counts], (tf.float64, tf.float64, tf.float64), stateful=False,
    )
    n, k, t = tf.shape(z)[0], tf.shape(z)[2], tf.shape(y)[2]
    return (tf.reshape(coef, tf.stack([n, t, k])), tf.reshape(intercept, tf.stack([n, t])),
            tf.reshape(r2, tf.stack([n, t])))

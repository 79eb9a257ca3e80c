"""Black-box surrogates: Lime and KernelShap on the engine's ``lime``."""
from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np
import tensorflow as tf

from ... import validation as check
from .base import XpliqueMethod


XPLIQUE_RIDGE_ALPHA = 2.0
"""Xplique's default ``interpretable_model=Ridge(alpha=2)``."""
LIME_DISTANCES = ("euclidean", "cosine")
SOLUTION_PARAMS = {"fit_intercept": True, "positive": False}
"""scikit-learn parameters that change a Ridge's / LinearRegression's minimiser (the others,
``solver``, ``tol``, ``copy_X``, ``n_jobs``..., only how it is reached)."""


def surrogate_options(interpretable_model: Any) -> dict:
    """Xplique's ``interpretable_model`` as engine options: None (Xplique's default
    ``Ridge(alpha=2)``) and scikit-learn's ``Ridge(alpha=a)`` -> the engine's weighted ridge
    ``alpha=a`` (its minimiser, solved in the graph), ``LinearRegression()`` -> ``alpha=0``
    (minimum-norm least squares); any other regressor -> ``regressor=`` (fitted outside the
    graph on a copy)."""
    if interpretable_model is None:
        return {"alpha": XPLIQUE_RIDGE_ALPHA}
    if not all(hasattr(interpretable_model, name) for name in ("fit", "predict")):
        raise ValueError(
            "interpretable_model must have fit and predict methods (and coef_ once fitted); "
            f"got {type(interpretable_model).__name__}: {interpretable_model!r}."
        )
    cls = type(interpretable_model)
    if cls.__module__.startswith("sklearn.linear_model") and cls.__name__ in ("Ridge", "LinearRegression"):
        params = interpretable_model.get_params()
        if all(params.get(k) == v for k, v in SOLUTION_PARAMS.items()):
            if cls.__name__ == "LinearRegression":
                return {"alpha": 0.0}
            alpha = params["alpha"]
            if isinstance(alpha, (int, float, np.floating, np.integer)) and not isinstance(alpha, bool) and alpha > 0:
                return {"alpha": float(alpha)}
    return {"regressor": interpretable_model}


def xplique_cosine_kernel(kernel_width: float) -> Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]:
    """Xplique's ``distance_mode="cosine"`` similarity, per input:
    ``exp(-d^2 / max(width^2, 1e-8))`` with ``d = 1 - keras.losses.cosine_similarity(x, x_j)``.
    Keras' ``cosine_similarity`` is the *negative* cosine, so ``d = 1 + cos(x, x_j)`` (kept:
    it is Xplique's number; the engine's ``kernel="cosine"`` is ``1 - cos``)."""
    denominator = max(kernel_width**2, 1e-8)

    def kernel(x, z, copies):
        flat_x = tf.math.l2_normalize(tf.reshape(x, [1, -1]), axis=1)
        flat_c = tf.math.l2_normalize(tf.reshape(copies, [tf.shape(z)[0], -1]), axis=1)
        distance = 1.0 + tf.reduce_sum(flat_x * flat_c, axis=1)
        return tf.exp(-(distance**2) / denominator)

    return kernel


def _xplique_quickshift(image: np.ndarray) -> np.ndarray:
    """Xplique's RGB map: ``quickshift(x, ratio=0.5, kernel_size=2)``."""
    from ...methods.segments import skimage_segmentation

    return skimage_segmentation().quickshift(np.asarray(image, np.float64), ratio=0.5, kernel_size=2)


def _xplique_felzenszwalb(image: np.ndarray) -> np.ndarray:
    """Xplique's one-channel map: ``felzenszwalb(x)``."""
    from ...methods.segments import skimage_segmentation

    return skimage_segmentation().felzenszwalb(np.asarray(image, np.float64))


class Lime(XpliqueMethod):
    """LIME (Ribeiro et al. 2016) as Xplique 2.0.2's ``Lime``, on the engine's ``lime``.

    Per input ``x`` (``(H, W, C)``), with ``K`` interpretable features (the labels of
    ``map_to_interpret_space(x)``, default: quickshift ``ratio=0.5, kernel_size=2`` on RGB,
    felzenszwalb on one channel), ``nb_samples`` vectors ``z_j ~ Bernoulli(prob)^K`` (no
    all-ones row), copies ``x_j = x ⊙ M_j + (1 − M_j) ref_value``, scores ``y_j = g(f, x_j, y)``,

        w_j = exp(−d(x, x_j)^2 / kernel_width^2),  d: euclidean in input space (or Xplique's cosine)
        coef = interpretable_model.fit(z, y, sample_weight=w).coef_    (default Ridge(alpha=2))

    and the map ``coef[label(p)]``: ``(N, H, W, C) -> (N, H, W, 1)``. ``ref_value`` defaults
    to 0.5 per channel on RGB, 0 otherwise. ``batch_size`` bounds the masked copies in flight
    (default ``nb_samples``). Samples are seeded (``seed``, not in Xplique); a given
    ``pertub_func(num_features, nb_samples)`` replaces them (one engine call per input)."""

    method = "lime"
    channels = False

    def __init__(self, model, batch_size: Optional[int] = None, operator=None, interpretable_model: Any = None,
                 similarity_kernel: Optional[Callable] = None, pertub_func: Optional[Callable] = None,
                 map_to_interpret_space: Optional[Callable] = None, ref_value: Any = None, nb_samples: int = 150,
                 distance_mode: str = "euclidean", kernel_width: float = 45.0, prob: float = 0.5, seed: int = 0):
        self.nb_samples = check.integer("nb_samples", nb_samples, 2)
        super().__init__(model, None, check.optional_integer("batch_size", batch_size, 1) or self.nb_samples, operator)
        self.surrogate = surrogate_options(interpretable_model)
        self.distance_mode = check.choice("distance_mode", distance_mode, LIME_DISTANCES)
        self.kernel_width = check.real("kernel_width", kernel_width, 0.0, open_low=True)
        if similarity_kernel is not None and not callable(similarity_kernel):
            raise TypeError(f"similarity_kernel must be None or a callable; got {type(similarity_kernel).__name__}.")
        if similarity_kernel is not None:
            self.kernel = similarity_kernel
        elif self.distance_mode == "cosine":
            self.kernel = xplique_cosine_kernel(self.kernel_width)
        else:
            self.kernel = "euclidean"
        if pertub_func is not None and not callable(pertub_func):
            raise TypeError(f"pertub_func must be None or a callable; got {type(pertub_func).__name__}.")
        self.pertub_func = pertub_func
        if map_to_interpret_space is not None and not callable(map_to_interpret_space):
            raise TypeError(
                f"map_to_interpret_space must be None or a callable; got {type(map_to_interpret_space).__name__}."
            )
        self.mapping = None if map_to_interpret_space is None else _tensor_mapping(map_to_interpret_space)
        self.ref_value = None if ref_value is None else np.asarray(ref_value, np.float32).reshape(-1)
        self.prob = check.real("prob", prob, 0.0, 1.0)
        self.seed = check.integer("seed", seed, 0)

    def sampling(self) -> dict:
        """The engine's sampling and kernel options."""
        return {"sampling": "bernoulli", "prob": self.prob, "kernel": self.kernel, "kernel_width": self.kernel_width}

    def engine_options(self, x: np.ndarray) -> dict:
        """The engine's ``lime`` options for inputs ``x`` (defaults depend on the channels)."""
        if x.ndim != 4:
            raise ValueError(f"inputs must be images (N, H, W, C); got shape {x.shape}.")
        channels = x.shape[-1]
        mapping = self.mapping
        if mapping is None:
            if channels not in (1, 3):
                raise ValueError(
                    f"Xplique's default map_to_interpret_space segments images with 1 or 3 channels; the inputs have "
                    f"{channels}: pass map_to_interpret_space."
                )
            mapping = _xplique_quickshift if channels == 3 else _xplique_felzenszwalb
        if self.ref_value is None:
            ref = (0.5,) * 3 if channels == 3 else 0.0
        elif self.ref_value.shape != (channels,):
            raise ValueError(f"ref_value must have shape (C,) = ({channels},); got {self.ref_value.shape}.")
        else:
            ref = tuple(float(v) for v in self.ref_value)
        return {"samples": self.nb_samples, "segments": mapping, "hide_value": ref, "original_sample": False,
                "feature_selection": "none", "seed": self.seed, "relu": False, "normalize": False,
                **self.sampling(), **self.surrogate}

    def explain(self, inputs: Any, targets: Any = None) -> tf.Tensor:
        x, y = self.inputs_and_targets(inputs, targets)
        options = self.engine_options(x)
        if self.pertub_func is None:
            return tf.convert_to_tensor(self.run(self.model, x, y, options)[..., None])
        maps = []
        for i in range(len(x)):  # Xplique draws each input's samples for its own number of features
            labels = np.asarray(options["segments"](x[i]))
            design = np.asarray(self.pertub_func(tf.constant([int(labels.max()) + 1], tf.int32), self.nb_samples))
            maps.append(self.run(self.model, x[i:i + 1], y[i:i + 1], {**options, "segments": labels, "design": design}))
        return tf.convert_to_tensor(np.concatenate(maps)[..., None])

    __call__ = explain


def _tensor_mapping(fn: Callable) -> Callable[[np.ndarray], np.ndarray]:
    """Xplique's ``map_to_interpret_space(x: tf.Tensor) -> labels`` as the engine's
    ``segments`` function on numpy."""

    def mapping(x: np.ndarray) -> np.ndarray:
        labels = fn(tf.convert_to_tensor(x))
        return np.asarray(labels.numpy() if hasattr(labels, "numpy") else labels)

    return mapping


class KernelShap(Lime):
    """KernelSHAP (Lundberg & Lee 2017) as Xplique 2.0.2's ``KernelShap``: its ``Lime``
    with coalitions drawn from the Shapley kernel (size ``s ~ (K − 1) / (s (K − s))``,
    ``s = 1..K−1``, then ``s`` features uniformly), every weight 1 and an unconstrained
    ``LinearRegression`` with intercept (no efficiency constraint: the engine's
    ``kernelshap`` pins ``Σφ = f(x) − f(ref)``, Xplique does not): ``(N, H, W, 1)``.
    Defaults ``nb_samples=800``, ``batch_size=64``, ``ref_value`` and
    ``map_to_interpret_space`` as :class:`Lime`."""

    def __init__(self, model, batch_size: Optional[int] = 64, operator=None,
                 map_to_interpret_space: Optional[Callable] = None, nb_samples: int = 800, ref_value: Any = None,
                 seed: int = 0):
        super().__init__(model, batch_size, operator, map_to_interpret_space=map_to_interpret_space,
                         ref_value=ref_value, nb_samples=nb_samples, seed=seed)
        self.surrogate = {"alpha": 0.0}  # Xplique's LinearRegression(): minimum-norm least squares

    def sampling(self) -> dict:
        return {"sampling": "shapley", "kernel": "uniform"}

"""Global sensitivity analysis: SobolAttributionMethod, HsicAttributionMethod and Xplique's
samplers, estimators and perturbation functions, offered where the engine (methods/sobol.py,
hsic.py, gsa_design.py, gsa_perturbations.py) implements the same thing; each names its
engine option (``engine``) and, called as Xplique calls it, computes through the engine's
functions. Xplique's own instances are accepted by name."""
from __future__ import annotations

from typing import Any, Callable, Optional, Tuple, Union

import numpy as np
import tensorflow as tf

from ... import validation as check
from ...methods.gsa_design import binary_design, replicated_design, sample
from ...methods.gsa_perturbations import AMPLITUDE_SIGMA, BLUR_SIZE, PERTURBATIONS, baseline, perturb
from ...methods.hsic import hsic_binary
from ...methods.sobol import total_indices
from .base import XpliqueMethod


XPLIQUE_GSA_NOT_OFFERED = {
    "ScipySobolSequenceRS": "scipy's unscrambled Sobol sequence starts at the point 0, which tf.math.sobol_sample "
                            "(the engine's 'sobol') skips: use TFSobolSequenceRS() (Xplique's default)",
    "ScipySobolSequence": "scipy's unscrambled Sobol sequence starts at the point 0, which tf.math.sobol_sample "
                          "(the engine's 'sobol') skips: use TFSobolSequence(binary=True) (Xplique's default)",
    "HaltonSequenceRS": "the engine has no Halton sampler: use TFSobolSequenceRS() or LatinHypercubeRS()",
    "HaltonSequence": "the engine has no Halton sampler: use TFSobolSequence() or LatinHypercube()",
    "RbfEstimator": "the engine's HSIC has the binary input kernel only: use BinaryEstimator()",
    "SobolevEstimator": "the engine's HSIC has the binary input kernel only: use BinaryEstimator()",
}


class ReplicatedSampler:
    """Xplique's replicated designs for Sobol: ``sampler(d, N)`` -> ``[A; B; C_0; ...;
    C_{d-1}]`` ``(N (d + 2), d)``, ``A``/``B`` the halves of a ``2d``-dimensional design of
    ``N`` points, ``C_i`` = ``A`` with column ``i`` from ``B`` (the engine scores ``A`` and
    ``C`` only: no estimator reads ``f(B)``)."""

    engine: str = ""
    seed: int = 0

    def __call__(self, dimension: int, nb_design: int) -> np.ndarray:
        ab = sample(self.engine, 2 * dimension, nb_design, self.seed)
        a, b = ab[:, :dimension], ab[:, dimension:]
        return np.concatenate([a, b, replicated_design(a, b)[nb_design:]])


class TFSobolSequenceRS(ReplicatedSampler):
    """``tf.math.sobol_sample`` (unscrambled, deterministic): the engine's ``sampler="sobol"``."""

    engine = "sobol"


class LatinHypercubeRS(ReplicatedSampler):
    """Latin hypercube (McKay et al. 1979), ``(perm_j(i) + u_ij) / N``: the engine's
    ``sampler="lhs"``, seeded (``seed``; Xplique's scipy draw is unseeded)."""

    engine = "lhs"

    def __init__(self, seed: int = 0) -> None:
        self.seed = check.integer("seed", seed, 0)


class Sampler:
    """Xplique's plain designs for HSIC: ``sampler(d, N)`` -> ``(N, d)`` in ``[0, 1)``,
    rounded to ``{0, 1}`` when ``binary`` (Xplique's ``make_binary``)."""

    engine: str = ""
    seed: int = 0

    def __init__(self, binary: bool = False) -> None:
        self.binary = check.boolean("binary", binary)

    def __call__(self, dimension: int, nb_design: int) -> np.ndarray:
        if self.binary:
            return binary_design(self.engine, dimension, nb_design, self.seed)
        return sample(self.engine, dimension, nb_design, self.seed)


class TFSobolSequence(Sampler):
    """``tf.math.sobol_sample`` (unscrambled): the engine's ``sampler="sobol"``."""

    engine = "sobol"


class LatinHypercube(Sampler):
    """Latin hypercube: the engine's ``sampler="lhs"``, seeded (``seed``)."""

    engine = "lhs"

    def __init__(self, binary: bool = False, seed: int = 0) -> None:
        super().__init__(binary)
        self.seed = check.integer("seed", seed, 0)


class SobolEstimator:
    """A total-order Sobol estimator (:mod:`eli5_keras.methods.sobol`):
    ``estimator(masks (P, g, g, 1), outputs (P,), N)`` -> indices ``(g, g, 1)`` from the
    scores of ``[A; B; C]`` (Xplique's order; ``f(B)`` is not read)."""

    engine: str = ""

    def __call__(self, masks: Any, outputs: Any, nb_design: int) -> tf.Tensor:
        outputs = tf.cast(tf.reshape(outputs, [-1]), tf.float32)
        scores = tf.concat([outputs[:nb_design], outputs[2 * nb_design:]], axis=0)
        return tf.reshape(total_indices(self.engine, scores, nb_design), tf.shape(masks)[1:])


class JansenEstimator(SobolEstimator):
    """``ST_i = sum_j (a_j - c_ij)^2 / (2 N Var a)`` (Jansen 1999)."""

    engine = "jansen"


class HommaEstimator(SobolEstimator):
    """``ST_i = (Var a - mean(a c_i) + mean(a)^2) / Var a`` (Homma & Saltelli 1996)."""

    engine = "homma"


class JanonEstimator(SobolEstimator):
    """``ST_i = 1 - (mean(a c_i) - mu_i^2) / V_i`` (Janon et al. 2014)."""

    engine = "janon"


class GlenEstimator(SobolEstimator):
    """``ST_i = 1 - corr(a, c_i)`` (Glen & Isaacs 2012)."""

    engine = "glen"


class SaltelliEstimator(SobolEstimator):
    """``ST_i = 1 - (mean(a c_i) - mean(a)^2) / Var a`` (Saltelli et al. 2008)."""

    engine = "saltelli"


class HsicEstimator:
    """Xplique's HSIC estimator base: ``output_kernel="rbf"`` (the only one Xplique has)."""

    def __init__(self, output_kernel: str = "rbf") -> None:
        self.output_kernel = check.choice("output_kernel", output_kernel, ("rbf",))
        self.batch_size: Optional[int] = None

    def set_batch_size(self, batch_size: Optional[int] = None) -> None:
        """Xplique's estimator batch size; the engine computes ``L`` in blocks of rows of
        ``batch_size`` (the explainer's) whatever this says."""
        self.batch_size = check.optional_integer("estimator_batch_size", batch_size, 1)


class BinaryEstimator(HsicEstimator):
    """HSIC with the binary input kernel ``1 + (0.5 - (x_j - x_k)^2)`` and the RBF output
    kernel of width ``median(y)`` (:mod:`eli5_keras.methods.hsic`): ``estimator(masks
    (N, g, g, 1), outputs (N,), N)`` -> ``(g, g, 1)``."""

    def __call__(self, masks: Any, outputs: Any, nb_design: int) -> tf.Tensor:
        design = tf.reshape(tf.cast(masks, tf.float32), [nb_design, -1])
        scores = tf.reshape(tf.cast(outputs, tf.float32), [1, 1, nb_design])
        return tf.reshape(hsic_binary(scores, design, tf.constant(nb_design)), tf.shape(masks)[1:])


def _perturbator(kind: str, x: Any) -> Callable[[Any], tf.Tensor]:
    """Xplique's perturbation closure on the engine's :func:`~eli5_keras.methods.gsa_perturbations.perturb`:
    upsampled masks ``(B, H, W, 1)`` -> perturbed copies ``(B, H, W, C)`` of ``x (H, W, C)``."""
    x = tf.convert_to_tensor(x, tf.float32)[None]
    base = baseline(kind, x, x.shape.rank - 2)
    return lambda masks: perturb(kind, x, tf.cast(masks, tf.float32)[None, ..., 0], base)[0]


def _engine_sigma(kind: str, sigma: Any, engine: float) -> None:
    if check.real("sigma", sigma) != engine:
        raise ValueError(f"{kind}'s sigma must be {engine:g} (the engine's); got {sigma!r}.")


def inpainting(x: Any) -> Callable[[Any], tf.Tensor]:
    """Xplique's ``inpainting(x)``: masks ``M`` -> ``x * M``."""
    return _perturbator("inpainting", x)


def blurring(x: Any, sigma: int = BLUR_SIZE) -> Callable[[Any], tf.Tensor]:
    """Xplique's ``blurring(x, sigma=10)``: masks ``M`` -> ``x * M + (1 - M) * box(x)``,
    ``box`` = ``cv2.blur(x, (10, 10))``; only ``sigma=10``."""
    _engine_sigma("blurring", sigma, BLUR_SIZE)
    return _perturbator("blurring", x)


def amplitude(x: Any, sigma: float = AMPLITUDE_SIGMA) -> Callable[[Any], tf.Tensor]:
    """Xplique's ``amplitude(x, sigma=1)``: masks ``M`` -> ``x * (M - 0.5) * sigma``; only ``sigma=1``."""
    _engine_sigma("amplitude", sigma, AMPLITUDE_SIGMA)
    return _perturbator("amplitude", x)


def _xplique_name(value: Any) -> Optional[str]:
    """The class (or function) name of one of Xplique's own objects, else None."""
    owner = value if callable(value) and not isinstance(value, type) and hasattr(value, "__name__") else type(value)
    return owner.__name__ if getattr(owner, "__module__", "").startswith("xplique.") else None


def _engine_name(argument: str, value: Any, offered: Tuple[type, ...]) -> Any:
    """``value`` (one of ``offered``, or Xplique's class of the same name) as our object."""
    if isinstance(value, offered):
        return value
    name = _xplique_name(value)
    if name in XPLIQUE_GSA_NOT_OFFERED:
        raise ValueError(f"{argument}={name}(...) is not offered: {XPLIQUE_GSA_NOT_OFFERED[name]}.")
    by_name = {cls.__name__: cls for cls in offered}
    if name in by_name:
        ours = by_name[name].__new__(by_name[name])
        ours.__dict__.update({k: v for k, v in vars(value).items() if k == "binary"})
        return ours
    names = ", ".join(f"{cls.__name__}()" for cls in offered)
    raise TypeError(f"{argument} must be one of {names} (eli5_keras.compat.xplique or Xplique's); "
                    f"got {type(value).__name__}: {value!r}.")


def _perturbation_name(perturbation_function: Any) -> str:
    if isinstance(perturbation_function, str):
        return check.choice("perturbation_function", perturbation_function, PERTURBATIONS)
    name = getattr(perturbation_function, "__name__", None)
    if perturbation_function in (inpainting, blurring, amplitude) or (
        _xplique_name(perturbation_function) in PERTURBATIONS and callable(perturbation_function)
    ):
        return name
    raise ValueError(f"perturbation_function must be one of {PERTURBATIONS} or the function of that name "
                     f"(a custom perturbation is not implemented by the engine); got {perturbation_function!r}.")


class _GlobalSensitivity(XpliqueMethod):
    """Xplique's ``GSABaseAttributionMethod``: the engine's grid-level indices ``(N, g, g)``
    (``upsample=False``) resized as Xplique does, ``tf.image.resize(..., BICUBIC)``:
    ``(N, H, W, C) -> (N, H, W, 1)``."""

    channels = False

    def __init__(self, model, grid_size, nb_design, sampler, estimator, perturbation_function,
                 batch_size, operator, nb_channels):
        super().__init__(model, None, batch_size, operator)
        self.grid_size = check.integer("grid_size", grid_size, 1)
        self.nb_design = check.integer("nb_design", nb_design, 2)
        if check.integer("nb_channels", nb_channels, 1) != 1:
            raise ValueError(f"nb_channels must be 1 (the engine's masks are shared by the channels); "
                             f"got {nb_channels!r}.")
        self.sampler, self.estimator = sampler, estimator
        self.perturbation = _perturbation_name(perturbation_function)

    def options(self):
        return {"grid": self.grid_size, "designs": self.nb_design, "sampler": self.sampler.engine,
                "perturbation": self.perturbation, "seed": self.sampler.seed, "upsample": False,
                "relu": False, "normalize": False}

    def explain(self, inputs: Any, targets: Any = None, verbose: bool = False) -> tf.Tensor:
        """``verbose`` is Xplique's progress printing: accepted, prints nothing."""
        check.boolean("verbose", verbose)
        x, y = self.inputs_and_targets(inputs, targets)
        if x.ndim != 4:
            raise ValueError(f"inputs must be images (N, H, W, C); got shape {x.shape}.")
        return self.finish(tf.convert_to_tensor(self.run(self.model, x, y))[..., None], x)

    __call__ = explain

    def finish(self, maps, inputs):
        return tf.image.resize(maps, inputs.shape[1:3], method=tf.image.ResizeMethod.BICUBIC)


class SobolAttributionMethod(_GlobalSensitivity):
    """Sobol attribution (Fel et al. 2021) as Xplique computes it: the total Sobol index of
    each of ``grid_size x grid_size`` cells (engine ``method="sobol"``), resized bicubically:
    ``(N, H, W, 1)``. ``nb_design`` (a power of two) ``x (grid_size^2 + 1)`` forward passes
    per image (Xplique's ``+ 2``: it also scores ``B``, which no estimator reads)."""

    method = "sobol"

    def __init__(self, model, grid_size: int = 8, nb_design: int = 32,
                 sampler: Optional[ReplicatedSampler] = None, estimator: Optional[SobolEstimator] = None,
                 perturbation_function: Union[Callable, str, None] = "inpainting", batch_size: Optional[int] = 256,
                 operator: Any = None, *, nb_channels: int = 1):
        nb_design = check.integer("nb_design", nb_design, 1)
        if nb_design & (nb_design - 1):
            raise ValueError(f"nb_design must be a power of two (Sobol sequence); got {nb_design!r}.")
        sampler = _engine_name("sampler", TFSobolSequenceRS() if sampler is None else sampler,
                               (TFSobolSequenceRS, LatinHypercubeRS))
        estimator = _engine_name("estimator", JansenEstimator() if estimator is None else estimator,
                                 (JansenEstimator, HommaEstimator, JanonEstimator, GlenEstimator, SaltelliEstimator))
        super().__init__(model, grid_size, nb_design, sampler, estimator, perturbation_function or "inpainting",
                         batch_size, operator, nb_channels)

    def options(self):
        return {**super().options(), "estimator": self.estimator.engine}


class HsicAttributionMethod(_GlobalSensitivity):
    """HSIC attribution (Novello et al. 2022) as Xplique computes it with its
    ``BinaryEstimator``: the HSIC of each cell's binary mask value and the score (engine
    ``method="hsic"``), resized bicubically: ``(N, H, W, 1)``; ``nb_design`` forward
    passes per image. ``estimator_batch_size`` is accepted and checked; the engine builds
    the output kernel in blocks of ``batch_size`` rows whatever it says."""

    method = "hsic"

    def __init__(self, model, grid_size: int = 8, nb_design: int = 500, sampler: Optional[Sampler] = None,
                 estimator: Optional[HsicEstimator] = None,
                 perturbation_function: Union[Callable, str, None] = "inpainting", batch_size: Optional[int] = 256,
                 estimator_batch_size: Optional[int] = None, operator: Any = None, *, nb_channels: int = 1):
        sampler = _engine_name("sampler", TFSobolSequence(binary=True) if sampler is None else sampler,
                               (TFSobolSequence, LatinHypercube))
        estimator = _engine_name("estimator", BinaryEstimator() if estimator is None else estimator,
                                 (BinaryEstimator,))
        if not sampler.binary:
            raise ValueError(f"sampler must be binary for BinaryEstimator: {type(sampler).__name__}(binary=True); "
                             "got binary=False.")
        self.estimator_batch_size = check.optional_integer("estimator_batch_size", estimator_batch_size, 1)
        super().__init__(model, grid_size, nb_design, sampler, estimator, perturbation_function or "inpainting",
                         batch_size, operator, nb_channels)


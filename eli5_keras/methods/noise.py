"""SmoothGrad, SquareGrad and VarGrad: any method's maps averaged over noisy copies of
the input.

* SmoothGrad (Smilkov et al., 2017, https://arxiv.org/abs/1706.03825): the mean.
* SquareGrad (Hooker et al., 2019, https://arxiv.org/abs/1806.10758): the mean of squares.
* VarGrad (Adebayo et al., 2018, https://arxiv.org/abs/1810.03307): the variance.

For each input ``x`` (the explained model input) and the wrapped method's raw map ``E``:

    sigma    = noise_level * (max(x) - min(x))          per input, over all its values
               (or the absolute ``sigma`` option, the same for every input)
    x_j      = x + sigma * eps_j,   eps_j ~ N(0, I)     j = 1..samples
    SmoothGrad = (1/n) sum_j E(x_j)
    SquareGrad = (1/n) sum_j E(x_j)^2
    VarGrad    = (1/n) sum_j (E(x_j) - mean)^2          (1/(n-1) with unbiased=True)

``noise_level`` is the authors' fraction of the input range (PAIR-code ``saliency``'s
``stdev_spread=0.15``, ``nsamples=25``), computed per input as tf-keras-vis does (PAIR
uses the whole batch's range for one image at a time, the same thing). Deviations of
the other libraries: Captum's ``NoiseTunnel`` and Xplique take an absolute sigma
(pass ``noise_level / (max - min)``), Xplique's VarGrad is unbiased (``unbiased=True``),
keras-explainable counts the clean input as a sample. PAIR's ``GetSmoothedMask``
squares by default (``magnitude=True``): that is ``squaregrad`` here.

The statistics are streamed (Chan/Welford merge of per-block means and squared
deviations) over blocks of samples in one ``tf.while_loop``, so memory is that of one
block whatever ``samples`` is; each block calls the base method's ``compute`` on the
noisy copies. The wrapped method's raw maps are combined before the pipeline's ReLU,
normalisation and resize (for Grad-CAM at its layer's grid). Its extras are averaged
over the samples; ``extras["noise_sigma"]`` ``(N, T)`` is each input's ``sigma``.

Noise is stateless: sample ``j`` draws ``eps_j`` from ``(seed, j)`` with the shape of one
input, and every input of a batch scales the same ``eps_j`` by its own ``sigma``, so a
map depends on the input, the seed and the options only (not on ``batch_size`` nor on
the other inputs of the batch). SmoothGrad keeps the base's sign; SquareGrad and
VarGrad are non-negative.
"""
from __future__ import annotations

import abc
from typing import Any, Mapping, Optional, Union

import tensorflow as tf

from .. import validation as check
from ..constants import ROUNDING_RESOLUTION
from .base import Context, Method, MethodOutput, fold_over_blocks
from .perturbed import pin_targets, require_float_input
from .wrapper import Wrapper

DEFAULT_BASE = "saliency"
DEFAULT_SAMPLES = 25
DEFAULT_NOISE_LEVEL = 0.15


class NoiseWrapper(Wrapper):
    """A statistic of the base method's maps over noisy copies of the input.

    Parameters
    ----------
    base : str or Method, default "saliency"
        The wrapped method: a name (options in ``base_options``) or an instance.
    samples : int, default 25
        Noisy copies per input.
    noise_level : float, default 0.15
        Noise standard deviation as a fraction of each input's value range.
    seed : int, default 0
        Seed of the noise (same seed, same maps).
    base_options : dict, optional
        Options of the base method when ``base`` is a name.
    sigma : float, optional
        Absolute noise standard deviation, used instead of ``noise_level`` (Xplique's
        and keras-explainable's ``noise``, Captum's ``stdevs``).

    Output: maps ``(N, T, *s)`` on the base method's grid.
    """

    def __init__(
        self,
        base: Union[str, Method] = DEFAULT_BASE,
        samples: int = DEFAULT_SAMPLES,
        noise_level: float = DEFAULT_NOISE_LEVEL,
        seed: int = 0,
        base_options: Optional[Mapping[str, Any]] = None,
        sigma: Optional[float] = None,
    ) -> None:
        super().__init__(base, base_options)
        self.samples = check.integer("samples", samples, 1)
        self.noise_level = check.real("noise_level", noise_level, low=0.0)
        self.seed = check.integer("seed", seed, 0)
        self.sigma = None if sigma is None else check.real("sigma", sigma, low=0.0)

    @abc.abstractmethod
    def statistic(self, mean: tf.Tensor, m2: tf.Tensor) -> tf.Tensor:
        """The map from the streamed mean and sum of squared deviations ``m2``."""

    def copies(self, context: Context) -> int:
        return self.samples

    def setup(self, context: Context) -> None:
        require_float_input(context, self.name, "adds Gaussian noise to the input")
        super().setup(context)

    def compute(self, context, inputs, data, block):
        x = inputs[context.input_index]
        n = tf.shape(x)[0]
        fwd, pinned = pin_targets(context, inputs, data)
        value_axes = list(range(1, x.shape.rank))
        if self.sigma is None:
            sigma = self.noise_level * (tf.reduce_max(x, axis=value_axes) - tf.reduce_min(x, axis=value_axes))
        else:
            sigma = tf.fill([n], tf.cast(self.sigma, x.dtype))
        scale = tf.reshape(sigma, tf.concat([[n, 1], tf.ones([x.shape.rank - 1], tf.int32)], axis=0))
        copies, inner = self.split_block(context, block)

        def moments(start, size):
            eps = gaussian_noise(self.seed, start + tf.range(size), tf.shape(x)[1:], x.dtype)
            noisy = x[:, None] + scale * eps[None]  # (n, size, ...)
            noisy = tf.reshape(noisy, tf.concat([[n * size], tf.shape(x)[1:]], axis=0))
            out = self.run_base(context, inputs, pinned, noisy, size, inner)
            mean = tf.reduce_mean(out.maps, axis=1)
            m2 = tf.reduce_sum(tf.square(out.maps - mean[:, None]), axis=1)
            extras = {k: tf.reduce_sum(v, axis=1) for k, v in out.extras.items()}
            return tf.cast(size, tf.float32), mean, m2, extras

        total, mean, m2, extras = fold_over_blocks(moments, merge_moments, self.samples, copies)
        extras = {k: v / total for k, v in extras.items()}
        extras["noise_sigma"] = tf.tile(sigma[:, None], tf.stack([1, tf.shape(fwd.scores)[1]]))
        return MethodOutput(self.statistic(mean, m2), fwd.labels, fwd.reported, extras)


def merge_moments(a, b):
    """Chan et al.'s merge of ``(count, mean, m2, sums)`` of two sets of samples."""
    count_a, mean_a, m2_a, extras_a = a
    count_b, mean_b, m2_b, extras_b = b
    count = count_a + count_b
    delta = mean_b - mean_a
    mean = mean_a + delta * (count_b / count)
    m2 = m2_a + m2_b + tf.square(delta) * (count_a * count_b / count)
    return count, mean, m2, {k: extras_a[k] + extras_b[k] for k in extras_a}


def gaussian_noise(seed: int, index: tf.Tensor, shape: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """``(len(index), *shape)`` standard normal noise; sample ``j`` is drawn from the
    stateless seed ``(seed, j)`` alone."""
    def draw(j):
        return tf.random.stateless_normal(shape, seed=tf.stack([tf.constant(seed, tf.int64), j]), dtype=dtype)

    return tf.map_fn(draw, tf.cast(index, tf.int64), fn_output_signature=dtype)


class SmoothGrad(NoiseWrapper):
    """Mean of the base method's maps over noisy copies of the input (options: see
    :class:`NoiseWrapper`)."""

    name = "smoothgrad"
    title = "SmoothGrad"
    summary = "a method's maps averaged over noisy copies of the input (SmoothGrad)"

    def statistic(self, mean, m2):
        return mean


class SquareGrad(NoiseWrapper):
    """Mean of the base method's squared maps over noisy copies of the input (options:
    see :class:`NoiseWrapper`)."""

    name = "squaregrad"
    title = "SquareGrad"
    summary = "mean of a method's squared maps over noisy copies of the input (SquareGrad)"
    signed = False
    signed_from_base = False

    def statistic(self, mean, m2):
        return tf.square(mean) + m2 / self.samples


class VarGrad(NoiseWrapper):
    """Variance of the base method's maps over noisy copies of the input.

    Parameters are :class:`NoiseWrapper`'s and ``unbiased`` (default False): divide by
    ``samples - 1`` (Xplique) instead of ``samples`` (the authors, Captum).

    A variance at most ``(ROUNDING_RESOLUTION * mean)^2`` (:mod:`eli5_keras.constants`,
    1e-6 relative) is float32 rounding between copies, not the method's: it is 0, so a
    map of identical copies is flagged empty instead of drawn at full scale after
    min-max normalisation.
    """

    name = "vargrad"
    title = "VarGrad"
    summary = "variance of a method's maps over noisy copies of the input (VarGrad)"
    signed = False
    signed_from_base = False

    def __init__(
        self,
        base: Union[str, Method] = DEFAULT_BASE,
        samples: int = DEFAULT_SAMPLES,
        noise_level: float = DEFAULT_NOISE_LEVEL,
        seed: int = 0,
        base_options: Optional[Mapping[str, Any]] = None,
        unbiased: bool = False,
        sigma: Optional[float] = None,
    ) -> None:
        super().__init__(base, samples, noise_level, seed, base_options, sigma)
        self.unbiased = check.boolean("unbiased", unbiased)
        if self.unbiased and self.samples < 2:
            raise ValueError(f"vargrad with unbiased=True needs samples >= 2; got samples={self.samples}.")

    def statistic(self, mean, m2):
        variance = m2 / (self.samples - 1 if self.unbiased else self.samples)
        # Copies whose maps differ only by float32 rounding (noise_level=0, or noise too
        # small to move the base method) have a variance of rounding noise, not of the
        # method: 0, so that it is flagged as an empty map rather than drawn at full scale.
        rounding = tf.square(ROUNDING_RESOLUTION * mean)
        return tf.where(variance <= rounding, tf.zeros_like(variance), variance)

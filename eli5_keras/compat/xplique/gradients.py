"""Gradient methods (Saliency, GradientInput, IntegratedGradients, GuidedBackprop, DeconvNet)
and the gradient statistics (SmoothGrad, VarGrad, SquareGrad) as Xplique computes them."""
from __future__ import annotations

from typing import Any, Tuple

import keras
import numpy as np
import tensorflow as tf

from ... import validation as check
from .base import XpliqueMethod


class Saliency(XpliqueMethod):
    """``max_c |dS/dx|`` (Simonyan et al. 2013): ``(N, H, W, C) -> (N, H, W, 1)``."""

    method = "saliency"
    channels = False

    def options(self):
        return {"reduce": "max_abs", "relu": False, "normalize": False}


class GradientInput(XpliqueMethod):
    """``x * dS/dx`` reduced over channels (``reducer``): ``(N, H, W, 1)``."""

    method = "gradient_input"

    def options(self):
        return {"relu": False, "normalize": False}


class IntegratedGradients(XpliqueMethod):
    """``(x - x0) * mean_trapezoid(dS/dx)`` over ``steps`` points ``linspace(0, 1, steps)``
    of the path from the constant baseline ``x0 = baseline_value`` (the engine's
    trapezoid rule over ``steps - 1`` intervals), reduced over channels: ``(N, H, W, 1)``."""

    method = "integrated_gradients"

    def __init__(self, model, output_layer=None, batch_size=32, operator=None, reducer="mean",
                 steps: int = 50, baseline_value: float = 0.0):
        super().__init__(model, output_layer, batch_size, operator, reducer)
        self.steps = check.integer("steps", steps, 2)
        self.baseline_value = check.real("baseline_value", baseline_value)

    def options(self):
        return {"steps": self.steps - 1, "rule": "trapezoid", "baseline": self.baseline_value,
                "relu": False, "normalize": False}


class GuidedBackprop(XpliqueMethod):
    """Input gradient with ``ReLU(dy) * 1[z > 0]`` at every ReLU, reduced over channels."""

    method = "guided_backprop"

    def options(self):
        return {"reduce": "sum", "relu": False, "normalize": False}


class DeconvNet(XpliqueMethod):
    """Input gradient with ``ReLU(dy)`` at every ReLU, reduced over channels."""

    method = "deconvnet"

    def options(self):
        return {"reduce": "sum", "relu": False, "normalize": False}


STATISTIC_REDUCERS = ("mean", "sum", "min", "max", None)


class ChannelView(keras.Model):
    """``model`` seen on inputs ``(N, *shape, 1)``: each channel of ``(N, *shape)`` a
    position of its own. ``call`` reshapes and calls ``model`` on tensors, so the user's
    model gains no symbolic node (a functional wrapper would add one)."""

    def __init__(self, model: keras.Model, shape: Tuple[int, ...]) -> None:
        super().__init__(name=f"{model.name}_channel_view")
        self.inner, self.shape_ = model, tuple(shape)

    def call(self, inputs, training=False):
        return self.inner(tf.reshape(inputs, tf.concat([tf.shape(inputs)[:1], self.shape_], 0)), training=training)


class _GradientStatistic(XpliqueMethod):
    """A statistic of the gradients ``g_j = dS/dx (x + eps_j)`` over ``nb_samples``
    noisy copies ``eps_j ~ N(0, noise^2)`` (absolute standard deviation ``noise``), per
    input value (pixel and channel), then reduced over channels by ``reducer``:
    ``(N, H, W, C) -> (N, H, W, 1)`` (``(N, H, W, C)`` with ``reducer=None``).

    The per-channel statistic runs on the engine's SmoothGrad/SquareGrad/VarGrad through
    a view of the model taking ``(N, H, W, C, 1)`` (:class:`ChannelView`: a reshape in
    front of the unchanged model), so each ``(h, w, c)`` is a position of the map. ``seed`` makes
    the noise reproducible (stateless draws, sample ``j`` from ``(seed, j)``)."""

    extra: dict = {}

    def __init__(self, model, output_layer=None, batch_size=32, operator=None, reducer="mean",
                 nb_samples: int = 50, noise: float = 0.2, seed: int = 0):
        super().__init__(model, output_layer, batch_size, operator)
        self.reducer = None if reducer is None else check.choice("reducer", reducer, STATISTIC_REDUCERS[:-1])
        self.nb_samples = check.integer("nb_samples", nb_samples, 2 if self.method == "vargrad" else 1)
        self.noise = check.real("noise", noise, low=0.0)
        self.seed = check.integer("seed", seed, 0)
        self._views = {}

    def options(self):
        return {"base": "saliency", "base_options": {"reduce": "sum"}, "samples": self.nb_samples,
                "sigma": self.noise, "seed": self.seed, "relu": False, "normalize": False, **self.extra}

    def view(self, shape: Tuple[int, ...]) -> keras.Model:
        """The model on ``(N, *shape, 1)`` inputs (built once per input shape)."""
        if shape not in self._views:
            view = ChannelView(self.model, shape)
            view(np.zeros((1,) + shape + (1,), np.float32))  # builds it; no symbolic call of the model
            self._views[shape] = view
        return self._views[shape]

    def explain(self, inputs: Any, targets: Any = None) -> tf.Tensor:
        x, y = self.inputs_and_targets(inputs, targets)
        maps = tf.convert_to_tensor(self.run(self.view(x.shape[1:]), x[..., None], y))  # (N, H, W, C)
        if self.reducer is None:
            return maps
        return getattr(tf, f"reduce_{self.reducer}")(maps, axis=-1, keepdims=True)

    __call__ = explain


class SmoothGrad(_GradientStatistic):
    """SmoothGrad (Smilkov et al. 2017) as Xplique: ``mean_j g_j`` per channel, then
    ``reducer``; ``nb_samples=50``, ``noise=0.2`` (absolute)."""

    method = "smoothgrad"


class SquareGrad(_GradientStatistic):
    """SquareGrad (Hooker et al. 2019) as Xplique: ``mean_j g_j^2`` per channel, then ``reducer``."""

    method = "squaregrad"


class VarGrad(_GradientStatistic):
    """VarGrad (Adebayo et al. 2018) as Xplique: the unbiased variance
    ``n / (n - 1) (mean_j g_j^2 - (mean_j g_j)^2)`` per channel, then ``reducer``
    (``nb_samples >= 2``)."""

    method = "vargrad"
    extra = {"unbiased": True}


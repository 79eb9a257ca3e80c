"""Xplique's attribution API (``xplique.attributions``) on eli5-keras' engine.

Change ``from xplique.attributions import GradCAM`` into
``from eli5_keras.compat.xplique import GradCAM``; the rest of the code stays::

    explainer = GradCAM(model, conv_layer="conv2")       # configuration once
    maps = explainer.explain(images, one_hot_targets)     # tf.Tensor (N, H, W, 1)

Every class only translates Xplique's arguments into one :func:`eli5_keras.explain`
call; no attribution maths lives here. Conventions kept from Xplique 2.0:

* The score is Xplique's default operator ``g(f, x, y) = sum(f(x) * y)`` on the model's
  output as it is (``use_logits=False``: a final softmax is *not* bypassed; pass
  ``output_layer`` to explain the logits). A one-hot row of ``y`` selects its class; any
  other row weights the outputs. ``operator`` may be ``"classification"``,
  ``"regression"`` (both that same sum) or a callable ``g(f, x, y) -> (N,)``: it is
  called inside the compiled graph with ``f`` returning the outputs already computed on
  the (possibly perturbed) inputs and ``x=None``, so it may use ``x`` only through ``f``.
* ``output_layer`` (an index or a name) scores that layer's output instead of the
  model's (Xplique: ``tf.keras.Model(model.input, layer.output)``; the same here).
* ``inputs`` ``(N, H, W, C)`` as a numpy array, a tensor or a ``tf.data.Dataset`` of
  ``(inputs, targets)`` (batched or not); ``targets`` ``(N, output_size)``, default each
  input's top output, one-hot.
* Returned shapes (images): every class returns ``(N, H, W, 1)`` (Xplique's
  ``_harmonize_channel_dimension``). Channel reductions (``reducer``): ``"mean"``
  (Xplique's default) and ``"sum"`` over ``C``; the gradient statistics (SmoothGrad,
  VarGrad, SquareGrad) also take ``"min"``, ``"max"`` and ``None`` (channels kept,
  ``(N, H, W, C)``), as their statistic is computed per channel. Saliency is
  ``max_c |dS/dx|`` (no reducer), Grad-CAM, Grad-CAM++, Occlusion and RISE have one
  channel by nature.
* Randomness (SmoothGrad, VarGrad, SquareGrad, Rise) is seeded (``seed=0``, a keyword
  Xplique does not have): the same call gives the same maps. Xplique draws unseeded
  ``tf.random`` numbers, so its maps and these agree in distribution, not number by
  number (docs/compat.md records the parity measured).
* Sobol and HSIC (``SobolAttributionMethod``, ``HsicAttributionMethod``, last block of this
  module) run the engine's ``sobol`` / ``hsic`` with ``upsample=False`` and resize the grid's
  indices with Xplique's ``tf.image.resize(..., BICUBIC)``; their deterministic default
  designs (the Sobol sequence) give Xplique's maps number by number.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple, Union

import keras
import numpy as np
import tensorflow as tf

from .. import validation as check
from ..explain import explain as _explain
from ..methods.gsa_design import binary_design, replicated_design, sample
from ..methods.gsa_perturbations import AMPLITUDE_SIGMA, BLUR_SIZE, PERTURBATIONS, baseline, perturb
from ..methods.hsic import hsic_binary
from ..methods.sobol import total_indices
from ..targets import Target

LayerRef = Optional[Union[int, str]]
REDUCERS = ("mean", "sum")
OPERATOR_NAMES = ("classification", "regression")


class OperatorTarget(Target):
    """Xplique's operator as an engine target: ``g(f, x, y)`` with ``y`` ``(N, K)`` the
    per-input data (chunked with the inputs); one score per input (``T = 1``).

    The default operator is ``sum(f(x) * y)``; the label is ``argmax y``."""

    def __init__(self, weights: np.ndarray, operator: Optional[Callable] = None) -> None:
        self.weights = np.asarray(weights, np.float32)
        self.operator = operator
        self.output_index = 0

    @property
    def num_targets(self) -> int:
        return 1

    def _bind(self, output_shapes, n):
        size = output_shapes[0][-1]
        if self.weights.shape != (n, size):
            raise ValueError(
                f"targets must have shape (N, output_size) = ({n}, {size}); got {self.weights.shape}."
            )

    def encode(self, n):
        return self.weights[:, None, :]

    def key(self):
        return ("xplique_operator", id(self.operator))

    def __call__(self, outputs, data, probabilities):
        y = data[:, 0]
        out = self._output(outputs)
        if self.operator is None:
            scores = tf.reduce_sum(tf.cast(out, tf.float32) * y, axis=-1)
        else:
            scores = tf.cast(tf.convert_to_tensor(self.operator(lambda _x: out, None, y)), tf.float32)
        labels = tf.cast(tf.argmax(y, axis=-1), tf.int32)
        return labels[:, None], tf.reshape(scores, [-1, 1])


def _find_layer(model: keras.Model, ref: Union[int, str]) -> keras.layers.Layer:
    if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
        size = len(model.layers)
        if not -size <= int(ref) < size:
            raise ValueError(f"layer index must be in [-{size}, {size}) (the model's layers); got {ref}.")
        return model.layers[int(ref)]
    if isinstance(ref, str):
        return model.get_layer(ref)
    raise TypeError(f"a layer is given by its index or name; got {type(ref).__name__}.")


def _score_model(model: keras.Model, output_layer: LayerRef) -> keras.Model:
    if output_layer is None:
        return model
    layer = _find_layer(model, output_layer)
    if layer is model.layers[-1]:
        return model
    return keras.Model(model.inputs, layer.output)


def _operator(operator: Any) -> Optional[Callable]:
    if operator is None or (isinstance(operator, str) and operator in OPERATOR_NAMES):
        return None
    if callable(operator):
        return operator
    raise ValueError(f"operator must be one of {OPERATOR_NAMES} or a callable g(f, x, y); got {operator!r}.")


def _sanitize(inputs: Any, targets: Any) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Xplique's inputs (array, tensor or Dataset of (x, y)) as numpy arrays."""
    if isinstance(inputs, tf.data.Dataset):
        if targets is not None:
            raise ValueError("targets must be None when inputs is a tf.data.Dataset (they are inside it).")
        xs, ys = [], []
        batched = len(inputs.element_spec[0].shape) == 4 if isinstance(inputs.element_spec, tuple) else False
        for x, y in inputs:
            xs.append(np.asarray(x) if batched else np.asarray(x)[None])
            ys.append(np.asarray(y) if batched else np.asarray(y)[None])
        return np.concatenate(xs), np.concatenate(ys)
    x = np.asarray(inputs, np.float32)
    return x, None if targets is None else np.asarray(targets, np.float32)


class _Explainer:
    """``Method(model, **config)`` once, ``explain(inputs, targets)`` many times."""

    method: str = ""
    channels: bool = True
    """The engine map was summed over the input channels (``reducer`` applies)."""

    def __init__(
        self,
        model: keras.Model,
        output_layer: LayerRef = None,
        batch_size: Optional[int] = 32,
        operator: Any = None,
        reducer: Optional[str] = "mean",
    ) -> None:
        self.model = _score_model(model, output_layer)
        self.batch_size = batch_size
        self.operator = _operator(operator)
        self.reducer = check.choice("reducer", reducer, REDUCERS)

    def options(self) -> dict:
        """The engine's method options and pipeline for this explainer."""
        return {}

    def inputs_and_targets(self, inputs: Any, targets: Any) -> Tuple[np.ndarray, np.ndarray]:
        """Xplique's inputs and targets as arrays; default targets: each input's top output, one-hot."""
        x, y = _sanitize(inputs, targets)
        if y is None:
            predictions = np.asarray(self.model(x, training=False))
            y = np.eye(predictions.shape[-1], dtype=np.float32)[predictions.argmax(-1)]
        return x, y

    def run(self, model: keras.Model, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """One :func:`eli5_keras.explain` call: the raw maps ``(N, *S)`` of the operator's score."""
        result = _explain(
            model, x, method=self.method, targets=OperatorTarget(y, self.operator),
            batch_size=self.batch_size or len(x), use_logits=False, **self.options(),
        )
        return result.maps[:, 0]

    def explain(self, inputs: Any, targets: Any = None) -> tf.Tensor:
        x, y = self.inputs_and_targets(inputs, targets)
        maps = tf.convert_to_tensor(self.run(self.model, x, y))
        if self.channels and self.reducer == "mean":
            maps = maps / x.shape[-1]
        return self.finish(maps[..., None], x)

    def finish(self, maps: tf.Tensor, inputs: np.ndarray) -> tf.Tensor:
        """The engine's maps ``(N, *S, 1)`` as Xplique returns them."""
        return maps

    __call__ = explain


class GradCAM(_Explainer):
    """Grad-CAM (Selvaraju et al. 2017) as Xplique computes it.

    ``L = ReLU(sum_k mean_ij(dS/dA^k) A^k)`` at ``conv_layer`` (default: the last layer
    with ``filters``, Xplique's choice), not normalised, resized onto the input with
    ``tf.image.resize(..., BICUBIC)``: ``(N, H, W, C) -> (N, H, W, 1)``."""

    method = "gradcam"
    channels = False
    resize_method = tf.image.ResizeMethod.BICUBIC

    def __init__(self, model, output_layer=None, batch_size=32, operator=None, conv_layer: LayerRef = None):
        super().__init__(model, output_layer, batch_size, operator)
        if conv_layer is None:
            candidates = [layer for layer in model.layers[::-1] if hasattr(layer, "filters")]
            if not candidates:
                raise ValueError("the model has no layer with filters; pass conv_layer.")
            self.conv_layer = candidates[0]
        else:
            self.conv_layer = _find_layer(model, conv_layer)

    def options(self):
        return {"layer": self.conv_layer, "relu": True, "normalize": False, "resize": False}

    def finish(self, maps, inputs):
        return tf.image.resize(maps, inputs.shape[1:3], method=self.resize_method)


class GradCAMPP(GradCAM):
    """Grad-CAM++ (Chattopadhay et al. 2018) as Xplique computes it
    (``grad_cam_pp.py::_compute_weights``): spatial means where the paper sums,

        alpha = g^2 / (2 g^2 + g^3 mean_ab A)     (0 where the denominator is 0)
        w_k   = mean_ij alpha ReLU(g)
        L     = ReLU(sum_k w_k A^k)

    no alpha normalisation, resized with ``tf.image.resize(..., BICUBIC)``: ``(N, H, W, 1)``.
    The paper's sums: ``eli5_keras.explain(model, x, method="gradcam++")``."""

    method = "gradcam++"

    def options(self):
        return {**super().options(), "normalize_alphas": False, "spatial_mean": True}


class Saliency(_Explainer):
    """``max_c |dS/dx|`` (Simonyan et al. 2013): ``(N, H, W, C) -> (N, H, W, 1)``."""

    method = "saliency"
    channels = False

    def options(self):
        return {"reduce": "max_abs", "relu": False, "normalize": False}


class GradientInput(_Explainer):
    """``x * dS/dx`` reduced over channels (``reducer``): ``(N, H, W, 1)``."""

    method = "gradient_input"

    def options(self):
        return {"relu": False, "normalize": False}


class IntegratedGradients(_Explainer):
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


class GuidedBackprop(_Explainer):
    """Input gradient with ``ReLU(dy) * 1[z > 0]`` at every ReLU, reduced over channels."""

    method = "guided_backprop"

    def options(self):
        return {"reduce": "sum", "relu": False, "normalize": False}


class DeconvNet(_Explainer):
    """Input gradient with ``ReLU(dy)`` at every ReLU, reduced over channels."""

    method = "deconvnet"

    def options(self):
        return {"reduce": "sum", "relu": False, "normalize": False}


class Occlusion(_Explainer):
    """Score drop ``S(x) - S(x_occ)`` summed over the patches covering each pixel
    (Xplique sums, it does not average); patches over all channels: ``(N, H, W, 1)``.

    Patches start every ``patch_stride`` pixels; where ``(H - patch) % stride != 0``
    the engine adds a last patch clipped at the border, which Xplique leaves out (its
    border strip stays 0)."""

    method = "occlusion"
    channels = False

    def __init__(self, model, batch_size=32, operator=None,
                 patch_size: Union[int, Tuple[int, int]] = 3,
                 patch_stride: Union[int, Tuple[int, int]] = 3,
                 occlusion_value: float = 0.0):
        super().__init__(model, None, batch_size, operator)
        self.patch_size, self.patch_stride = patch_size, patch_stride
        self.occlusion_value = check.real("occlusion_value", occlusion_value)

    def options(self):
        return {"window": self.patch_size, "stride": self.patch_stride, "baseline": self.occlusion_value,
                "aggregate": "sum", "relu": False, "normalize": False}


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


class _GradientStatistic(_Explainer):
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


class Rise(_Explainer):
    """RISE (Petsiuk et al. 2018) with Xplique's normalisation and masking:
    ``sum_i g(x_i) M_i / (sum_i M_i + eps)``, ``x_i = M_i x + (1 - M_i) mask_value``, over
    ``nb_samples`` masks: grids ``grid_size x grid_size`` kept with probability
    ``preservation_probability``, upsampled bilinearly and cropped: ``(N, H, W, 1)``.

    Differences kept from the engine (docs/compat.md): each mask has its own random crop
    offset (Xplique crops a whole batch of masks at one offset), the upsampled size is
    ``(s + 1) ceil(H / s)`` (Xplique's ``int(H (1 + 1/s))``; the same when ``s``
    divides ``H``), ``eps = 1e-7`` (Xplique's 1e-4, against sums of thousands of
    masks), and the masks are seeded (``seed``)."""

    method = "rise"
    channels = False

    def __init__(self, model, batch_size=32, operator=None, nb_samples: int = 4000,
                 grid_size: Union[int, Tuple[int, int]] = 7, preservation_probability: float = 0.5,
                 mask_value: float = 0.0, seed: int = 0):
        super().__init__(model, None, batch_size, operator)
        self.nb_samples = check.integer("nb_samples", nb_samples, 1)
        self.grid_size = grid_size
        self.preservation_probability = check.real("preservation_probability", preservation_probability, 0.0, 1.0)
        self.mask_value = check.real("mask_value", mask_value)
        self.seed = check.integer("seed", seed, 0)

    def options(self):
        return {"masks": self.nb_samples, "grid": self.grid_size, "p1": self.preservation_probability,
                "mask_value": self.mask_value, "mask_sum": True, "seed": self.seed,
                "relu": False, "normalize": False}


__all__: Sequence[str] = (
    "GradCAM", "GradCAMPP", "Saliency", "GradientInput", "IntegratedGradients", "GuidedBackprop", "DeconvNet",
    "Occlusion", "SmoothGrad", "VarGrad", "SquareGrad", "Rise",
)


# -- Global sensitivity analysis: SobolAttributionMethod, HsicAttributionMethod -------------
# Xplique's samplers, estimators and perturbation functions are offered where the engine
# (methods/sobol.py, hsic.py, gsa_design.py, gsa_perturbations.py) implements the same
# thing; each names its engine option (``engine``) and, called as Xplique calls it,
# computes through the engine's functions. Xplique's own instances are accepted by name.

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


class _GlobalSensitivity(_Explainer):
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


__all__ = tuple(__all__) + (
    "SobolAttributionMethod", "HsicAttributionMethod", "TFSobolSequenceRS", "LatinHypercubeRS", "TFSobolSequence",
    "LatinHypercube", "JansenEstimator", "HommaEstimator", "JanonEstimator", "GlenEstimator", "SaltelliEstimator",
    "BinaryEstimator", "inpainting", "blurring", "amplitude",
)

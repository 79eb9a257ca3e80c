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
  other row weights the outputs. ``operator`` may be a :class:`Tasks` member (Xplique's
  ``from xplique import Tasks`` becomes ``from eli5_keras.compat.xplique import Tasks``),
  its name (``"classification"``, ``"regression"``: that same sum; ``"semantic
  segmentation"``: ``sum(f(x) * y) / count_nonzero(y)`` on ``(N, h, w, c)`` masks;
  ``"object detection"`` and its ``box position / proba / class`` variants: D-RISE on
  ``(N, 5 + nc)`` or ``(N, R, 5 + nc)`` boxes, :mod:`.tasks`), Xplique's own
  ``xplique.Tasks.X`` (recognised by name), or a callable ``g(f, x, y) -> (N,)``: it is
  called inside the compiled graph with ``f`` returning the outputs already computed on
  the (possibly perturbed) inputs and ``x=None``, so it may use ``x`` only through ``f``.
* ``output_layer`` (an index or a name) scores that layer's output instead of the
  model's (Xplique: ``tf.keras.Model(model.input, layer.output)``; the same here).
* ``inputs`` ``(N, H, W, C)`` as a numpy array, a tensor or a ``tf.data.Dataset`` of
  ``(inputs, targets)`` (batched or not); ``targets`` ``(N, output_size)`` (the task's
  shape, above), default each input's top output, one-hot (classification, regression).
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
* Sobol and HSIC (``SobolAttributionMethod``, ``HsicAttributionMethod``, :mod:`.gsa`) run
  the engine's ``sobol`` / ``hsic`` with ``upsample=False`` and resize the grid's
  indices with Xplique's ``tf.image.resize(..., BICUBIC)``; their deterministic default
  designs (the Sobol sequence) give Xplique's maps number by number.

Modules: :mod:`.base` (``output_layer``, the class that makes the call), :mod:`.tasks` and
:mod:`.operator_target` (operators and their engine targets),
:mod:`.cams`, :mod:`.gradients`, :mod:`.perturbations` (Occlusion, RISE), :mod:`.surrogates`
(Lime, KernelShap) and :mod:`.gsa` (Sobol, HSIC, their samplers, estimators, perturbations).
"""
from .operator_target import OperatorTarget
from .cams import GradCAM, GradCAMPP
from .gradients import (DeconvNet, GradientInput, GuidedBackprop, IntegratedGradients, Saliency, SmoothGrad,
                        SquareGrad, VarGrad)
from .gsa import (BinaryEstimator, GlenEstimator, HommaEstimator, HsicAttributionMethod, JanonEstimator, JansenEstimator,
                  LatinHypercube, LatinHypercubeRS, SaltelliEstimator, SobolAttributionMethod, TFSobolSequence,
                  TFSobolSequenceRS, amplitude, blurring, inpainting)
from .perturbations import Occlusion, Rise
from .surrogates import KernelShap, Lime
from .tasks import Tasks

__all__ = (
    "GradCAM", "GradCAMPP", "Saliency", "GradientInput", "IntegratedGradients", "GuidedBackprop", "DeconvNet",
    "Occlusion", "SmoothGrad", "VarGrad", "SquareGrad", "Rise", "Lime", "KernelShap",
    "SobolAttributionMethod", "HsicAttributionMethod", "TFSobolSequenceRS", "LatinHypercubeRS", "TFSobolSequence",
    "LatinHypercube", "JansenEstimator", "HommaEstimator", "JanonEstimator", "GlenEstimator", "SaltelliEstimator",
    "BinaryEstimator", "inpainting", "blurring", "amplitude", "OperatorTarget", "Tasks",
)

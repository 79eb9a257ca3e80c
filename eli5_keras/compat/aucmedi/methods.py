"""AUCMEDI's XAI methods (``aucmedi.xai.methods``, AUCMEDI 0.11) on eli5-keras' engine.

Change ``from aucmedi.xai.methods import GradCAM`` into
``from eli5_keras.compat.aucmedi.methods import GradCAM``; the rest stays::

    heatmap = GuidedGradCAM(model, layerName).compute_heatmap(image, class_index)   # (H, W)
    heatmap = IntegratedGradients(model, num_steps=50).compute_heatmap(image, ci)   # (H, W)

Each class turns a call into one :func:`eli5_keras.explain` (two for Guided Grad-CAM,
which AUCMEDI builds from two methods) and applies AUCMEDI's own post-processing:

* the score is the model's output as it is, ``preds[:, class_index]`` (a final
  softmax is *not* bypassed: ``use_logits=False``);
* AUCMEDI's min-max ``(h - min h) / (max h - min h + eps)`` per map, ``eps=1e-8``
  (:func:`aucmedi_minmax`), except Occlusion Sensitivity, which AUCMEDI leaves raw;
* batch and channel axes removed: ``compute_heatmap`` returns a 2-D map for an image
  (3-D for a volume); Grad-CAM and Grad-CAM++ at the explained layer's grid (AUCMEDI
  does not resize them; :func:`~eli5_keras.compat.aucmedi.xai_decoder` does).

``heatmaps(images, class_indices)`` is the batched form the decoder uses: ``images``
``(N, *S, C)``, ``class_indices`` ``(N, T)`` -> ``(N, T, *s)``, one engine call for
the whole batch and every class.

AUCMEDI's numbers are kept where they are known to differ from the papers: its
Grad-CAM has no ReLU (for a class with only negative evidence the min-max turns the
map upside down: the least relevant region becomes the brightest), its saliency and
Guided Backpropagation take the signed ``max`` over channels, not ``max |g|``. Use
:func:`eli5_keras.explain` (``method="gradcam"``, ``"saliency"``, ...) for the
paper-exact maps. docs/compat.md lists every difference.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Type

import keras
import numpy as np

from ... import validation as check
from ...explain import explain as _explain
from ...utils.resize import resize_array

EPS = 1e-8
GREY = 127.5
"""AUCMEDI's occlusion patch value (``apply_grey_patch``)."""


def aucmedi_minmax(maps: np.ndarray, eps: float = EPS, first_axis: int = 2) -> np.ndarray:
    """AUCMEDI's normalisation ``(h - min h) / (max h - min h + eps)`` over the axes
    from ``first_axis`` on (the spatial axes of ``(N, T, *s)`` maps)."""
    axes = tuple(range(first_axis, maps.ndim))
    low = maps.min(axis=axes, keepdims=True)
    high = maps.max(axis=axes, keepdims=True)
    return (maps - low) / (high - low + eps)


def last_spatial_layer(model: keras.Model) -> str:
    """AUCMEDI's ``find_output_layer``: the name of the last layer of ``model.layers``
    whose output has rank >= 4 (an image or volume feature map)."""
    for layer in reversed(model.layers):
        if len(layer.output.shape) >= 4:
            return layer.name
    raise ValueError(
        f"model {model.name!r} has no layer with a 4-D (or higher) output to explain; pass layerName."
    )


def class_matrix(class_indices: Any, n: int) -> np.ndarray:
    """Class indices as an ``(N, T)`` int32 array: an int (every input), ``(N,)`` or ``(N, T)``."""
    classes = np.asarray(class_indices)
    if classes.ndim == 0:
        classes = np.full((n, 1), classes)
    elif classes.ndim == 1:
        classes = classes[:, None]
    if classes.ndim != 2 or len(classes) != n or classes.dtype.kind not in "iu":
        raise ValueError(
            f"class_indices must be integers: one, (N,) or (N, T) with N = {n}; got an array of shape "
            f"{np.shape(class_indices)} and dtype {np.asarray(class_indices).dtype}."
        )
    return classes.astype(np.int32)


class XAIMethod:
    """AUCMEDI's ``XAImethod_Base``: ``Method(model, layerName=None)``, then
    ``compute_heatmap(image, class_index, eps=1e-8)`` per image or
    ``heatmaps(images, class_indices, eps=1e-8)`` per batch.

    Subclasses set the engine ``method`` and its ``options()``; ``finish`` applies
    AUCMEDI's post-processing to the raw engine maps ``(N, T, *s)``."""

    method: str = ""
    uses_layer = False

    def __init__(self, model: keras.Model, layerName: Optional[str] = None) -> None:
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model; got {type(model).__name__}.")
        self.model = model
        self.layerName = layerName
        if self.uses_layer and self.layerName is None:
            self.layerName = last_spatial_layer(model)

    def options(self) -> Dict[str, Any]:
        """The engine's method options for this method."""
        return {}

    def raw(self, images: np.ndarray, classes: np.ndarray, batch_size: int) -> Any:
        """The engine's result: one :func:`eli5_keras.explain` call, raw maps."""
        layer = {"layer": self.layerName} if self.uses_layer else {}
        return _explain(
            self.model, images, method=self.method, targets=classes, batch_size=batch_size,
            use_logits=False, relu=False, normalize=False, resize=False, **layer, **self.options(),
        )

    def finish(self, result: Any, images: np.ndarray, eps: float) -> np.ndarray:
        """AUCMEDI's post-processing of the engine's result: min-max with ``eps``."""
        return aucmedi_minmax(np.asarray(result.maps, np.float64), eps)

    def heatmaps(self, images: Any, class_indices: Any, eps: float = EPS, batch_size: int = 32) -> np.ndarray:
        """Heat maps ``(N, T, *s)`` of ``images`` ``(N, *S, C)`` for ``class_indices``
        (an int, ``(N,)`` or ``(N, T)``), each normalised as AUCMEDI does."""
        x = np.asarray(images, np.float32)
        eps = check.real("eps", eps, low=0.0)
        classes = class_matrix(class_indices, len(x))
        return self.finish(self.raw(x, classes, batch_size), x, eps)

    def compute_heatmap(self, image: Any, class_index: int, eps: float = EPS) -> np.ndarray:
        """AUCMEDI's ``compute_heatmap``: ``image`` a one-element batch ``(1, *S, C)``,
        the heat map of ``class_index`` with batch and channel axes removed
        (``(H, W)``, ``(D, H, W)``; at the layer's grid for the CAM methods)."""
        x = np.asarray(image, np.float32)
        if x.ndim < 3 or len(x) != 1:
            raise ValueError(
                f"image must be a one-element batch (1, *spatial, channels), as AUCMEDI's; got shape {x.shape}."
            )
        check.integer("class_index", class_index, 0)
        return self.heatmaps(x, [[class_index]], eps)[0, 0]


class GradCAM(XAIMethod):
    """AUCMEDI's Grad-CAM: ``L = sum_k mean_ij(dp_c/dA^k) A^k`` (Selvaraju et al. 2017)
    **without the ReLU**, at ``layerName`` (default: the last layer with a 4-D output),
    min-maxed, not resized: ``(h, w)``.

    Kept from AUCMEDI though it differs from the paper: no ReLU, so for a class with
    only negative evidence the min-max inverts the map; ``p_c`` is the softmax output.
    The paper's map: ``eli5_keras.explain(model, x, method="gradcam")``."""

    method = "gradcam"
    uses_layer = True


class GradCAMpp(XAIMethod):
    """Grad-CAM++ (Chattopadhay et al. 2018) with AUCMEDI's alpha normalisation
    ``alpha /= sum_ij alpha`` and no final ReLU, min-maxed, at the layer's grid.

    AUCMEDI differentiates the softmax output three times with nested tapes; the engine
    uses the authors' closed form ``alpha = g^2 / (2 g^2 + g^3 sum_ab A)`` on
    ``g = dp_c/dA`` (exact for the pre-softmax score of a piecewise-linear head).
    The numbers therefore differ from AUCMEDI's on a softmax output (docs/compat.md
    records by how much)."""

    method = "gradcam++"
    uses_layer = True

    def options(self):
        return {"normalize_alphas": True}


class SaliencyMap(XAIMethod):
    """AUCMEDI's saliency map: ``max_c dp_c/dx`` (the *signed* max over channels,
    not the paper's ``max_c |g|``), min-maxed: ``(H, W)``."""

    method = "saliency"

    def options(self):
        return {"reduce": "max"}


class GuidedBackpropagation(XAIMethod):
    """Guided backpropagation (Springenberg et al. 2015): the input gradient with
    ``dz = 1[dy > 0] 1[z > 0] dy`` at every ReLU, signed max over channels, min-maxed.

    AUCMEDI replaces only layers with ``activation == relu`` on a clone of the model;
    the engine applies the rule at every ReLU (``ReLU`` layers included) and never
    copies the model. The maps agree on models whose ReLUs are ``activation="relu"``."""

    method = "guided_backprop"

    def options(self):
        return {"reduce": "max"}


class IntegratedGradients(XAIMethod):
    """Integrated Gradients (Sundararajan et al. 2017) as AUCMEDI computes it:
    ``num_steps + 1`` points ``k / num_steps`` from the zero baseline, trapezoid mean of
    the gradients, ``x * mean``, signed max over channels, min-maxed: ``(H, W)``."""

    method = "integrated_gradients"

    def __init__(self, model: keras.Model, layerName: Optional[str] = None, num_steps: int = 50) -> None:
        super().__init__(model, layerName)
        self.num_steps = check.integer("num_steps", num_steps, 1)

    def options(self):
        return {"steps": self.num_steps, "rule": "trapezoid", "baseline": 0.0, "reduce": "max"}


class GuidedGradCAM(XAIMethod):
    """AUCMEDI's Guided Grad-CAM: the product of its min-maxed Guided Backpropagation
    map and its min-maxed Grad-CAM map (no ReLU) resized bilinearly onto the image,
    min-maxed again: ``(H, W)``.

    The paper multiplies the guided gradients by the ReLU'd Grad-CAM
    (``eli5_keras.explain(model, x, method="guided_gradcam")``); AUCMEDI's product of
    two normalised maps is kept here."""

    def __init__(self, model: keras.Model, layerName: Optional[str] = None) -> None:
        super().__init__(model, layerName)
        self.bp = GuidedBackpropagation(model, layerName)
        self.gc = GradCAM(model, layerName)
        self.layerName = self.gc.layerName

    def heatmaps(self, images, class_indices, eps=EPS, batch_size=32):
        x = np.asarray(images, np.float32)
        guided = self.bp.heatmaps(x, class_indices, eps, batch_size)
        cams = self.gc.heatmaps(x, class_indices, eps, batch_size)
        spatial = x.shape[1:-1]
        upsampled = np.stack([[resize_array(m, spatial) for m in row] for row in cams])
        return aucmedi_minmax(guided * upsampled, eps)


class OcclusionSensitivity(XAIMethod):
    """AUCMEDI's occlusion sensitivity: non-overlapping ``patch_size`` squares (cut at
    the border) filled with 127.5 over all channels; each pixel gets ``1 - p_c`` of the
    image with its patch occluded. Not normalised: ``(H, W)`` in ``[0, 1]`` for a
    softmax output.

    From the engine's occlusion drop ``p_c(x) - p_c(x_occ)``:
    ``1 - p_c(x_occ) = 1 - p_c(x) + drop``. AUCMEDI's loop walks the rows over the
    image's width (and the columns over its height), so on a non-square image part of
    the map stays 0 there; here every patch is scored."""

    method = "occlusion"

    def __init__(self, model: keras.Model, layerName: Optional[str] = None, patch_size: int = 16) -> None:
        super().__init__(model, layerName)
        self.patch_size = check.integer("patch_size", patch_size, 1)

    def options(self):
        return {"window": self.patch_size, "stride": self.patch_size, "baseline": GREY, "aggregate": "mean"}

    def finish(self, result, images, eps):
        scores = np.asarray(result.scores, np.float64)
        drops = np.asarray(result.maps, np.float64)
        return 1.0 - scores.reshape(scores.shape + (1,) * (drops.ndim - 2)) + drops


LIME_FEATURES = 5
"""Superpixels in AUCMEDI's LIME maps: lime's ``get_image_and_mask`` default ``num_features``."""


class LimePro(XAIMethod):
    """AUCMEDI's LIME "pro" map (Ribeiro et al. 2016): the ``lime`` package's
    ``LimeImageExplainer`` with its defaults (quickshift superpixels, ``kernel_width=0.25``,
    ridge ``alpha=1``), ``hide_color=0``, ``num_samples`` perturbations, the model's
    probabilities; then ``get_image_and_mask(class_index, positive_only=True)``: a binary
    mask of the ``5`` superpixels with the largest positive coefficients, min-maxed
    (so 1 on them, 0 elsewhere; all 0 when no coefficient is positive). ``(H, W)``.

    On the engine: ``explain(method="lime", segments="quickshift", hide_value=0,
    samples=num_samples, positive_only=True, top_features=5)``, the mask ``map > 0``. The
    samples are seeded here (lime's are not, in AUCMEDI), so the maps agree with AUCMEDI's
    in distribution. The signed coefficients themselves: :func:`eli5_keras.explain` with
    ``method="lime"``."""

    method = "lime"
    negative = False

    def __init__(self, model: keras.Model, layerName: Optional[str] = None, num_samples: int = 1000) -> None:
        super().__init__(model, layerName)
        self.num_samples = check.integer("num_samples", num_samples, 1)

    def options(self):
        return {"segments": "quickshift", "hide_value": 0.0, "samples": self.num_samples,
                "positive_only": True, "top_features": LIME_FEATURES, "counterfactual": self.negative}

    def finish(self, result, images, eps):
        return aucmedi_minmax((np.asarray(result.maps) > 0).astype(np.float64), eps)


class LimeCon(LimePro):
    """AUCMEDI's LIME "con" map: as :class:`LimePro` with
    ``get_image_and_mask(class_index, negative_only=True)``: the ``5`` superpixels with
    the most negative coefficients (on the engine: the "pro" view of the negated score,
    ``counterfactual=True``, whose coefficients are the negated ones)."""

    negative = True


xai_dict: Dict[str, Type[XAIMethod]] = {
    "gradcam": GradCAM,
    "GradCAM": GradCAM,
    "gc": GradCAM,
    "gradcam++": GradCAMpp,
    "GradCAM++": GradCAMpp,
    "GradCAMpp": GradCAMpp,
    "gc++": GradCAMpp,
    "GuidedGradCAM": GuidedGradCAM,
    "ggc": GuidedGradCAM,
    "saliency": SaliencyMap,
    "SaliencyMap": SaliencyMap,
    "sm": SaliencyMap,
    "guidedbackprop": GuidedBackpropagation,
    "GuidedBackpropagation": GuidedBackpropagation,
    "gb": GuidedBackpropagation,
    "IntegratedGradients": IntegratedGradients,
    "ig": IntegratedGradients,
    "OcclusionSensitivity": OcclusionSensitivity,
    "os": OcclusionSensitivity,
    "LimePro": LimePro,
    "lp": LimePro,
    "LimeCon": LimeCon,
    "lc": LimeCon,
}
"""AUCMEDI's name table (``aucmedi.xai.methods.xai_dict``)."""

__all__: Sequence[str] = (
    "GradCAM", "GradCAMpp", "SaliencyMap", "GuidedBackpropagation", "IntegratedGradients", "GuidedGradCAM",
    "OcclusionSensitivity", "LimePro", "LimeCon", "xai_dict", "XAIMethod",
)

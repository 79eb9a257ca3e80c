"""eli5-keras: explain why a Keras model made a prediction.

eli5's Keras API is kept, so ``import eli5_keras as eli5`` runs eli5 code::

    expl = eli5.explain_prediction(model, doc)          # Grad-CAM, eli5's numbers
    eli5.format_as_image(expl)                          # PIL overlay

and batched, compiled explanations go beyond it::

    result = eli5.explain(model, images, top_k=3)       # maps (N, 3, H, W)
"""
from __future__ import annotations

import os
from typing import Any

# TensorFlow prints INFO lines (CPU feature notices) to stderr when it loads; they would
# bury the command line's one-line messages. Only INFO is hidden, and only by default.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")

from . import methods
from .base import Explanation, TargetExplanation
from .compat.explain_prediction import explain_prediction, explain_prediction_keras
from .compat.gradcam import gradcam, gradcam_backend
from .compat.show import show_prediction
from .explain import Explainer, explain
from .result import ExplanationBatch

__version__ = "0.1.0"

_FORMATTERS = ("format_as_image", "heatmap_to_image", "expand_heatmap")


def __getattr__(name: str) -> Any:
    # The image formatter needs Pillow and matplotlib: import it only when used.
    if name in _FORMATTERS:
        from .formatters import image

        return getattr(image, name)
    raise AttributeError(f"module 'eli5_keras' has no attribute {name!r}")


__all__ = [
    "Explanation",
    "TargetExplanation",
    "Explainer",
    "ExplanationBatch",
    "explain",
    "explain_prediction",
    "explain_prediction_keras",
    "gradcam",
    "gradcam_backend",
    "show_prediction",
    "methods",
    *_FORMATTERS,
]

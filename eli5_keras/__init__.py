"""eli5-keras: explain why a Keras model made a prediction.

eli5's Keras API is kept, so ``import eli5_keras as eli5`` runs eli5 code::

    expl = eli5.explain_prediction(model, doc)          # Grad-CAM, eli5's numbers
    eli5.format_as_image(expl)                          # PIL overlay

and batched, compiled explanations go beyond it::

    result = eli5.explain(model, images, top_k=3)       # maps (N, 3, H, W)
    eli5.format_as_html(result[0])                      # HTML (Jupyter shows it by itself)
    eli5.report(model, images, methods=["gradcam"], path="report.html")
    print(eli5.evaluate(model, images, ["gradcam"], ["deletion", "insertion"]))  # metrics table

Text models (token ids) are explained token by token::

    expl = eli5.explain_prediction(text_model, ids, tokens=words, pad_value=0)
    eli5.format_as_html(expl)                           # highlighted document
"""
from __future__ import annotations

import importlib.util
from typing import Any

if importlib.util.find_spec("tensorflow") is None:
    # TensorFlow is no base requirement (it would lay a second build over a user's own):
    # say how to get one rather than fail somewhere inside Keras.
    raise ModuleNotFoundError(
        "TensorFlow is not installed (eli5-keras needs one build of it): "
        "pip install 'eli5-keras[cpu]' (CPU), pip install 'eli5-keras[gpu]' (Linux with an "
        "NVIDIA GPU), or install your own TensorFlow build (tensorflow, tensorflow-cpu, ...)",
        name="tensorflow",
    )

from . import methods
from .base import DocWeightedSpans, Explanation, TargetExplanation, WeightedSpans
from .compat.explain_prediction import explain_prediction, explain_prediction_keras
from .compat.gradcam import gradcam, gradcam_backend
from .compat.show import show_prediction
from .compat.text import explain_prediction_keras_text, text_explanations
from .formatters.text_html import format_text_as_html
from .evaluation import Evaluation, evaluate
from .explain import Explainer, explain
from .datasets import ExplanationStore, explain_dataset, open_results
from .reporting import Report, report
from .result import EmptyMapWarning, ExplanationBatch

__version__ = "0.1.0"

_FORMATTERS = {
    "format_as_image": "image",
    "heatmap_to_image": "image",
    "expand_heatmap": "image",
    "format_as_html": "html",
    "format_volume_as_gif": "volume",
}


def __getattr__(name: str) -> Any:
    # The formatters need Pillow, matplotlib and Jinja2: import them only when used.
    if name in _FORMATTERS:
        import importlib

        return getattr(importlib.import_module(f".formatters.{_FORMATTERS[name]}", __name__), name)
    raise AttributeError(f"module 'eli5_keras' has no attribute {name!r}")


__all__ = [
    "DocWeightedSpans",
    "Explanation",
    "TargetExplanation",
    "WeightedSpans",
    "Explainer",
    "ExplanationBatch",
    "EmptyMapWarning",
    "explain",
    "evaluate",
    "Evaluation",
    "explain_dataset",
    "open_results",
    "ExplanationStore",
    "explain_prediction",
    "explain_prediction_keras",
    "explain_prediction_keras_text",
    "format_text_as_html",
    "text_explanations",
    "gradcam",
    "gradcam_backend",
    "show_prediction",
    "report",
    "Report",
    "methods",
    *_FORMATTERS,
]

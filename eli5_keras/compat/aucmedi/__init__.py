"""AUCMEDI's XAI module (``aucmedi.xai``) on eli5-keras' engine.

Change ``from aucmedi.xai import xai_decoder`` into
``from eli5_keras.compat.aucmedi import xai_decoder`` and
``from aucmedi.xai.methods import GradCAM`` into
``from eli5_keras.compat.aucmedi.methods import GradCAM``. docs/compat.md lists what is
supported and every difference.
"""
from . import methods
from .decoder import xai_decoder
from .methods import (
    GradCAM, GradCAMpp, GuidedBackpropagation, GuidedGradCAM, IntegratedGradients, LimeCon, LimePro,
    OcclusionSensitivity, SaliencyMap, xai_dict,
)

__all__ = [
    "xai_decoder", "methods", "xai_dict", "GradCAM", "GradCAMpp", "SaliencyMap", "GuidedBackpropagation",
    "IntegratedGradients", "GuidedGradCAM", "OcclusionSensitivity", "LimePro", "LimeCon",
]

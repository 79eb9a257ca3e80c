"""The built-in demo: generated scenes with known object masks and a small trained model.

``eli5-keras demo`` explains these scenes with every method and scores each against the
ground truth (pointing game). ``python -m eli5_keras.demo.train`` re-creates the shipped
``model.keras``.
"""
from .scenes import CLASS_NAMES, make_scenes

__all__ = ["CLASS_NAMES", "make_scenes"]

"""The ``eli5-keras`` command line (``eli5-keras demo``, ``explain``, ``methods``)."""
from .main import main

__all__ = ["main"]

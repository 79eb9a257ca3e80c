"""keras-explainable's explaining methods: :mod:`.cams`, :mod:`.gradient` and :mod:`.meta`."""
from . import cams, gradient, meta

__all__ = ["cams", "gradient", "meta"]

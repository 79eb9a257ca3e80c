"""keras-explainable's explaining methods: :mod:`.cams` and :mod:`.gradient`."""
from . import cams, gradient

__all__ = ["cams", "gradient"]

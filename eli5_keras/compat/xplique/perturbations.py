"""Occlusion and RISE as Xplique computes them."""
from __future__ import annotations

from typing import Tuple, Union

from ... import validation as check
from .base import XpliqueMethod


class Occlusion(XpliqueMethod):
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


class Rise(XpliqueMethod):
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


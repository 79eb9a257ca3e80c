"""AUCMEDI's ``visualize_volume`` (``aucmedi.utils.visualizer``) for the pictures of
volumes ``xai_decoder`` writes, the format from the file's last suffix as AUCMEDI
picks it:

* ``.gif``: one frame per slice along the volume's axis 1 (AUCMEDI's
  ``iteration_axis=1``), the slice ``uint8`` (a one-channel volume outside [0, 255]
  rescaled first, as AUCMEDI), grey or RGB, written with Pillow. AUCMEDI renders each
  frame as a matplotlib figure (axes, a "Slice: i" title) through ImageMagick; here a
  frame is the slice's pixels, shown for :data:`FRAME_MS` ms.
* ``.nii`` / ``.nii.gz``: NIfTI-1 with nibabel (extra ``[nifti]``), the voxels and
  header SimpleITK writes for AUCMEDI: axes reversed (the array ``(D, H, W[, 3])`` is
  SimpleITK's ``z, y, x``), an RGB picture as a ``vector`` intent ``(W, H, D, 1, 3)``,
  the affine ``diag(-1, -1, 1, 1)`` (unit spacing, ITK's LPS frame), the array's dtype
  (float64 overlays, uint8 heat maps).
* ``.npy``: the array itself (``numpy.save``).

``.mha`` (MetaImage, which AUCMEDI writes with SimpleITK) is not written:
eli5-keras does not depend on SimpleITK; :func:`volume_format` says so before any work.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

SUFFIXES = ("gif", "nii", "gz", "npy")
FRAME_MS = 100
ITERATION_AXIS = 1
ITK_AFFINE = np.diag([-1.0, -1.0, 1.0, 1.0])
GRAYSCALE_SMOOTH = 1e-6
"""AUCMEDI's ``Standardize(mode="grayscale")`` epsilon."""


def grayscale(image: np.ndarray) -> np.ndarray:
    """AUCMEDI's ``Standardize(mode="grayscale")``: ``round(255 (x - min + e) / (max - min + e))``."""
    low, high = np.min(image), np.max(image)
    return np.around((image - low + GRAYSCALE_SMOOTH) / (high - low + GRAYSCALE_SMOOTH) * 255, decimals=0)


def volume_format(path: str) -> str:
    """The format AUCMEDI's visualizer picks for ``path`` (its last suffix): "gif",
    "nii" (``.nii`` or ``.nii.gz``) or "npy"; ValueError otherwise."""
    suffix = path.split(".")[-1].lower()
    if suffix == "mha":
        raise ValueError(
            f"volume picture {path!r}: .mha (MetaImage) is written with SimpleITK, which eli5-keras does not "
            "depend on; use an image_format of nii.gz, nii, gif or npy."
        )
    if suffix not in SUFFIXES or (suffix == "gz" and not path.lower().endswith(".nii.gz")):
        raise ValueError(
            f"volume picture {path!r}: volumes are written as .gif, .nii, .nii.gz or .npy (AUCMEDI's visualizer); "
            f"got the suffix {suffix!r}."
        )
    return "nii" if suffix == "gz" else suffix


def save_volume(array: np.ndarray, path: str) -> None:
    """Write ``array`` ``(D, H, W)`` or ``(D, H, W, 3)`` to ``path`` in the format of its suffix."""
    kind = volume_format(path)
    if kind == "npy":
        np.save(path, array)
    elif kind == "gif":
        save_gif(array, path)
    else:
        save_nifti(array, path)


def gif_frames(array: np.ndarray) -> list:
    """AUCMEDI's GIF slices: the volume ``uint8`` (rescaled when it has one channel
    outside [0, 255]), sliced along axis 1."""
    array = np.asarray(array)
    if array.shape[-1] == 1 and (array.min() < 0 or array.max() > 255):
        array = grayscale(array)
    elif array.shape[-1] != 1 and (array.min() < 0 or array.max() > 255):
        raise ValueError(
            f"GIF volumes need values in [0, 255] for several channels; got [{array.min()}, {array.max()}]."
        )
    array = np.uint8(array)
    return [np.take(array, i, axis=ITERATION_AXIS) for i in range(array.shape[ITERATION_AXIS])]


def save_gif(array: np.ndarray, path: str) -> None:
    frames = [Image.fromarray(frame) for frame in gif_frames(array)]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:], duration=FRAME_MS, loop=0)


def itk_layout(array: np.ndarray) -> np.ndarray:
    """The NIfTI data SimpleITK writes for ``array``: spatial axes reversed; an RGB
    ``(D, H, W, 3)`` picture as ``(W, H, D, 1, 3)``."""
    array = np.asarray(array)
    if array.ndim == 4:
        return np.transpose(array, (2, 1, 0, 3))[:, :, :, None, :]
    return np.transpose(array, (2, 1, 0))


def save_nifti(array: np.ndarray, path: str) -> None:
    nib = nibabel()
    image = nib.Nifti1Image(itk_layout(array), ITK_AFFINE)
    if np.ndim(array) == 4:
        image.header.set_intent("vector")
    image.set_qform(ITK_AFFINE, code=1)
    image.set_sform(ITK_AFFINE, code=1)
    image.header.set_xyzt_units("mm", "sec")
    nib.save(image, path)


def nibabel() -> Any:
    """The ``nibabel`` module (extra ``[nifti]``), imported when a NIfTI file is written."""
    try:
        import nibabel
    except ModuleNotFoundError:
        raise ImportError("NIfTI volumes (.nii, .nii.gz) are written with nibabel: "
                          "pip install 'eli5-keras[nifti]'.") from None
    return nibabel

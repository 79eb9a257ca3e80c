"""Inputs of ``eli5-keras explain``: image files, folders of them, ``.npy`` arrays and
NIfTI volumes (``.nii`` / ``.nii.gz``, via nibabel).

Files are found and checked up front (:func:`collect_files`), split into named examples
(:func:`plan_examples`: an image is one example; a ``.npy`` file is one example, or a
batch of them when it has the batch axis), and read one at a time while the run streams
(:class:`ExampleLoader`), so a huge folder never sits in memory at once. A NIfTI file
is one volume: its header is read when planning, its voxels (``.dataobj``, scaled as
the file says) only when loaded, and a channel axis is added for a model whose input
has one more axis than the volume.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import UsageError, one_line

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ARRAY_SUFFIX = ".npy"
NIFTI_SUFFIXES = (".nii", ".nii.gz")
SUPPORTED = IMAGE_SUFFIXES + (ARRAY_SUFFIX,) + NIFTI_SUFFIXES

_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
"""Channels of an image model's input -> the PIL mode images are converted to."""

Preprocess = Callable[[np.ndarray], np.ndarray]
"""Turns one image's pixels, float32 ``(H, W, C)`` in [0, 255], into the model's input."""


def suffix(path: Path) -> str:
    """The file's type suffix, lower case (``.nii.gz`` as one)."""
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def stem(path: Path) -> str:
    """The file's name without its type suffix (``scan.nii.gz`` -> ``scan``)."""
    return path.name[: len(path.name) - len(suffix(path))]


def is_nifti(path: Path) -> bool:
    return suffix(path) in NIFTI_SUFFIXES


def nibabel() -> Any:
    """The ``nibabel`` module, imported when a NIfTI file is read or written: an optional extra."""
    try:
        import nibabel
    except ModuleNotFoundError:
        raise UsageError("NIfTI volumes (.nii, .nii.gz) are read and written with nibabel: "
                         "pip install 'eli5-keras[nifti]'.") from None
    return nibabel


def open_nifti(path: Path) -> Any:
    """The NIfTI image at ``path`` (header read, voxels not yet)."""
    try:
        return nibabel().load(path)
    except UsageError:
        raise
    except Exception as error:  # nibabel's ImageFileError, OSError, zlib/gzip errors, ...
        raise UsageError(f"cannot read NIfTI volume {str(path)!r}: {one_line(error)}") from None


def _is_supported(path: Path) -> bool:
    return suffix(path) in SUPPORTED


def collect_files(paths: Sequence[str]) -> List[Path]:
    """The input files named on the command line, folders expanded (sorted, not recursive).

    Raises
    ------
    UsageError
        A path does not exist, a file has an unsupported type, or a folder holds no
        supported file.
    """
    files: List[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".") and _is_supported(p))
            if not found:
                raise UsageError(f"folder {text!r} holds no {'/'.join(SUPPORTED)} files.")
            files.extend(found)
        elif path.is_file():
            if not _is_supported(path):
                raise UsageError(f"input {text!r} is not a PNG/JPEG image, a .npy array or a NIfTI volume "
                                 "(.nii, .nii.gz).")
            files.append(path)
        else:
            raise UsageError(f"input {text!r} does not exist.")
    unique: Dict[Path, Path] = {}
    for path in files:
        unique.setdefault(path.resolve(), path)
    return list(unique.values())


@dataclass(frozen=True)
class Example:
    """One input to explain: ``name`` is the stem of its output files."""

    name: str
    path: Path
    row: Optional[int] = None
    """Index into the batch axis of a ``.npy`` file holding several examples."""


def is_image_input(input_shape: Tuple) -> bool:
    """``(None, H, W, C)`` with ``C`` in {1, 3, 4} (or unknown): an input images can feed."""
    return len(input_shape) == 4 and (input_shape[3] is None or input_shape[3] in _MODES)


def _fits(shape: Tuple[int, ...], expected: Tuple) -> bool:
    return len(shape) == len(expected) and all(e is None or e == g for e, g in zip(expected, shape))


def _array_rows(path: Path, input_shape: Tuple) -> Optional[int]:
    """None when the ``.npy`` file holds one example, else its number of examples."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError) as error:
        raise UsageError(f"cannot read array {str(path)!r}: {one_line(error)}") from None
    example_shape = tuple(input_shape[1:])
    if _fits(array.shape, example_shape):
        return None
    if array.ndim == len(input_shape) and _fits(array.shape[1:], example_shape):
        if array.shape[0] == 0:
            raise UsageError(f"array {str(path)!r} holds no examples (shape {array.shape}).")
        return int(array.shape[0])
    raise UsageError(
        f"array {str(path)!r} has shape {array.shape}, but the model expects one example of shape "
        f"{example_shape} or a batch {tuple(input_shape)} (None is any size)."
    )


def _volume_shape(shape: Tuple[int, ...], input_shape: Tuple) -> Optional[Tuple[int, ...]]:
    """A NIfTI volume's shape as the model's input (a channel axis added when the model
    has one axis more), or None when it does not fit."""
    expected = tuple(input_shape[1:])
    for candidate in (tuple(shape), tuple(shape) + (1,)):
        if _fits(candidate, expected):
            return candidate
    return None


def plan_examples(files: Sequence[Path], input_shape: Tuple) -> List[Example]:
    """Name every example of ``files`` for a model whose input has shape ``input_shape``.

    An image ``cat.png`` is the example ``cat``; an array ``scan.npy`` of one example's
    shape is ``scan``; an array with a leading batch axis of ``n`` is ``scan_0``, ...,
    ``scan_{n-1}`` (zero-padded).

    Raises
    ------
    UsageError
        Images for a model that does not take images, an array of the wrong shape, or
        two inputs that would write the same output names.
    """
    examples: List[Example] = []
    for path in files:
        if is_nifti(path):
            shape = tuple(open_nifti(path).shape)
            if _volume_shape(shape, input_shape) is None:
                raise UsageError(
                    f"NIfTI volume {str(path)!r} has shape {shape}, but the model expects one example of shape "
                    f"{tuple(input_shape[1:])} (a channel axis is added to a volume without one)."
                )
            examples.append(Example(stem(path), path))
        elif path.suffix.lower() == ARRAY_SUFFIX:
            rows = _array_rows(path, input_shape)
            if rows is None:
                examples.append(Example(path.stem, path))
            else:
                width = len(str(rows - 1))
                examples.extend(Example(f"{path.stem}_{i:0{width}d}", path, i) for i in range(rows))
        elif not is_image_input(input_shape):
            raise UsageError(
                f"input {str(path)!r} is an image, but the model's input has shape {tuple(input_shape)}, "
                "not (batch, height, width, 1|3|4 channels); pass .npy arrays instead."
            )
        else:
            examples.append(Example(path.stem, path))
    owners: Dict[str, Path] = {}
    for example in examples:
        other = owners.setdefault(example.name, example.path)
        if other != example.path:
            raise UsageError(
                f"inputs {str(other)!r} and {str(example.path)!r} would both write outputs named "
                f"{example.name!r}; rename one or explain them in separate runs."
            )
    return examples


class ExampleLoader:
    """Reads examples as the model wants them.

    Parameters
    ----------
    input_shape : tuple
        The model's input shape, batch axis first (``None`` for free sizes).
    preprocess : callable
        Applied to image pixels, float32 ``(H, W, C)`` in [0, 255]; ``.npy`` arrays are
        passed as they are.
    """

    def __init__(self, input_shape: Tuple, preprocess: Preprocess) -> None:
        self.input_shape = tuple(input_shape)
        self.preprocess = preprocess
        # The open (memory-mapped) .npy file, so a batch file is not reopened per row.
        self._cached_array: Tuple[Optional[Path], Optional[np.ndarray]] = (None, None)

    def load(self, example: Example) -> Tuple[np.ndarray, Optional[Image.Image]]:
        """``(model input without the batch axis, the image as shown or None)``.

        Raises
        ------
        UsageError
            The file cannot be read or decoded.
        """
        if example.path.suffix.lower() == ARRAY_SUFFIX:
            return self._load_array(example), None
        if is_nifti(example.path):
            return self._load_nifti(example.path), None
        image = self._load_image(example.path)
        pixels = np.asarray(image, dtype=np.float32)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        return np.asarray(self.preprocess(pixels.copy()), dtype=np.float32), image

    def _load_image(self, path: Path) -> Image.Image:
        _, height, width, channels = self.input_shape
        try:
            with Image.open(path) as opened:
                image = opened.convert(_MODES[channels or 3])
        except UnidentifiedImageError:
            raise UsageError(f"cannot read image {str(path)!r}: not an image format Pillow can decode.") from None
        except (OSError, ValueError) as error:
            raise UsageError(f"cannot read image {str(path)!r}: {one_line(error)}") from None
        if height is not None and width is not None and image.size != (width, height):
            image = image.resize((width, height), Image.BILINEAR)
        return image

    def _load_nifti(self, path: Path) -> np.ndarray:
        image = open_nifti(path)
        shape = _volume_shape(tuple(image.shape), self.input_shape)
        if shape is None:
            raise UsageError(f"NIfTI volume {str(path)!r} has shape {tuple(image.shape)}, but the model expects "
                             f"one example of shape {self.input_shape[1:]}.")
        try:
            voxels = np.asarray(image.dataobj, dtype=np.float32)
        except Exception as error:  # a truncated or corrupt file fails when its voxels are read
            raise UsageError(f"cannot read NIfTI volume {str(path)!r}: {one_line(error)}") from None
        return voxels.reshape(shape)

    def _load_array(self, example: Example) -> np.ndarray:
        path, array = self._cached_array
        if path != example.path:
            try:
                array = np.load(example.path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as error:
                raise UsageError(f"cannot read array {str(example.path)!r}: {one_line(error)}") from None
            if array.dtype.kind not in "biuf":
                raise UsageError(f"array {str(example.path)!r} holds {array.dtype} values, not numbers.")
            self._cached_array = (example.path, array)
        return np.array(array if example.row is None else array[example.row])

"""Output files of ``eli5-keras explain``, one set per input, each written atomically.

Names depend only on the input's name and the number of targets, so a resumed run
knows what is finished before it computes anything:

- ``png``: ``NAME.png`` (one target) or ``NAME_top1.png`` ... ``NAME_topK.png``: the map
  overlaid on the input; target, score, method, layer and whether the map is empty
  (``eli5-keras:empty``, ``true`` or ``false``) in the PNG's text chunks;
- ``npy``: ``NAME.npy``: the maps, float32 ``(T, *S)``;
- ``html``: ``NAME.html``: a self-contained page, ``format_as_html`` of the explanation
  (the overlays inline, no separate input picture) under each target's score;
- ``nii``: ``NAME.nii.gz`` (NIfTI inputs): the maps as a float32 volume ``(X, Y, Z)``, or
  ``(X, Y, Z, T)`` for several targets, with the input's affine and header, so they open
  over the scan in ITK-SNAP or 3D Slicer.

A file is written under a temporary name and renamed when complete, so an interrupted
run never leaves a half-written output under a final name.
"""
from __future__ import annotations

import abc
import gzip
import io
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Dict, Iterator, List, Optional, Type

import numpy as np
from markupsafe import Markup
from PIL import PngImagePlugin

from ..base import Explanation
from .errors import UsageError, os_reason

FORMATS = ("png", "html", "npy", "nii")
HTML_MIN_WIDTH = 256
"""Overlays narrower than this are shown enlarged (pixelated) in HTML pages."""


@contextmanager
def atomic_open(path: Path) -> Iterator[BinaryIO]:
    """Open ``path`` for binary writing; it appears under its name only once complete."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(partial, "wb") as handle:
            yield handle
        os.replace(partial, path)
    finally:
        if partial.exists():
            partial.unlink()


def writable_folder(out: str) -> Path:
    """The output folder ``--out``, created if needed, where a probe file could be
    created and removed; otherwise a usage error, before any work is done (a read-only
    filesystem, a path through a file, a folder the user may not write)."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {out!r} exists and is not a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix=".eli5-keras-probe-", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(f"cannot write to --out {out!r}: {os_reason(error)}.") from None
    return folder


def overlay_png(expl: Explanation, target: int) -> bytes:
    """The overlay of ``expl.targets[target]`` as PNG bytes, with its facts as text chunks."""
    from ..formatters.image import format_as_image

    info = PngImagePlugin.PngInfo()
    facts = expl.targets[target]
    text = dict(target=facts.target, score=f"{facts.score:.6g}", method=expl.method, layer=expl.layer,
                empty="true" if facts.empty else "false")
    for key, value in text.items():
        info.add_text(f"eli5-keras:{key}", str(value))
    buffer = io.BytesIO()
    format_as_image(expl, target=target).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


class OutputFormat(abc.ABC):
    """How one input's explanation becomes files in the output folder."""

    name: str

    @abc.abstractmethod
    def files(self, stem: str, num_targets: int) -> List[str]:
        """File names written for the input named ``stem`` with ``num_targets`` targets."""

    @abc.abstractmethod
    def write(self, folder: Path, stem: str, expl: Explanation, maps: np.ndarray, source: Optional[Path] = None) -> None:
        """Write the files of one input: ``expl`` its eli5 explanation (``image`` set for
        overlays), ``maps`` its float32 maps ``(T, *S)``, ``source`` the file it was read from."""

    def done(self, folder: Path, stem: str, num_targets: int) -> bool:
        """Every file of this input exists (``--resume`` skips it)."""
        return all((folder / name).is_file() for name in self.files(stem, num_targets))


class PngFormat(OutputFormat):
    name = "png"

    def files(self, stem: str, num_targets: int) -> List[str]:
        if num_targets == 1:
            return [f"{stem}.png"]
        return [f"{stem}_top{rank}.png" for rank in range(1, num_targets + 1)]

    def write(self, folder: Path, stem: str, expl: Explanation, maps: np.ndarray, source: Optional[Path] = None) -> None:
        for target, name in enumerate(self.files(stem, len(expl.targets))):
            with atomic_open(folder / name) as handle:
                handle.write(overlay_png(expl, target))


class NpyFormat(OutputFormat):
    name = "npy"

    def files(self, stem: str, num_targets: int) -> List[str]:
        return [f"{stem}.npy"]

    def write(self, folder: Path, stem: str, expl: Explanation, maps: np.ndarray, source: Optional[Path] = None) -> None:
        with atomic_open(folder / f"{stem}.npy") as handle:
            np.save(handle, np.asarray(maps, np.float32), allow_pickle=False)


class HtmlFormat(OutputFormat):
    name = "html"

    def files(self, stem: str, num_targets: int) -> List[str]:
        return [f"{stem}.html"]

    def write(self, folder: Path, stem: str, expl: Explanation, maps: np.ndarray, source: Optional[Path] = None) -> None:
        from ..formatters.html import format_as_html
        from ..formatters.templating import render_page

        # the overlays show the input, and their legends are left out as in the PNG outputs
        explanation = format_as_html(expl, include_styles=False, show_input=False, legend=False,
                                     display_width=max(expl.image.width, HTML_MIN_WIDTH))
        page = render_page("explanation_page.html", title=f"{stem}: {expl.method}", heading=stem,
                           targets=[dict(label=t.target, score=t.score) for t in expl.targets],
                           explanation=Markup(explanation))
        with atomic_open(folder / f"{stem}.html") as handle:
            handle.write(page.encode("utf-8"))


class NiftiFormat(OutputFormat):
    name = "nii"

    def files(self, stem: str, num_targets: int) -> List[str]:
        return [f"{stem}.nii.gz"]

    def write(self, folder: Path, stem: str, expl: Explanation, maps: np.ndarray, source: Optional[Path] = None) -> None:
        from .inputs import open_nifti

        scan = open_nifti(source)
        volume = tuple(scan.shape[:3])
        if tuple(maps.shape[1:4]) != volume:
            raise UsageError(f"maps of shape {tuple(maps.shape[1:])} do not lie on the voxels {volume} of "
                             f"{str(source)!r}; --format nii needs maps at the input's size.")
        data = maps[0, ..., 0] if maps.ndim == 5 else maps[0]
        if len(maps) > 1:  # one volume per target along the 4th axis
            data = np.moveaxis(maps[..., 0] if maps.ndim == 5 else maps, 0, -1)
        header = scan.header.copy()
        header.set_data_dtype(np.float32)
        image = type(scan)(np.asarray(data, np.float32), scan.affine, header)
        image.header.set_slope_inter(1.0, 0.0)
        with atomic_open(folder / f"{stem}.nii.gz") as handle:
            handle.write(gzip.compress(image.to_bytes(), compresslevel=6))


_BY_NAME: Dict[str, Type[OutputFormat]] = {
    cls.name: cls for cls in (PngFormat, HtmlFormat, NpyFormat, NiftiFormat)
}


def get_format(name: str) -> OutputFormat:
    """The output format called ``name`` (one of :data:`FORMATS`)."""
    return _BY_NAME[name]()

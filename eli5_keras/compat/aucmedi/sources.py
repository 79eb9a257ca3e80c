"""Where ``xai_decoder``'s images come from: the batches it explains and the images it
draws the heat maps over (AUCMEDI's ``preprocess_overlay``).

A plain source (a Keras ``PyDataset`` / ``Sequence`` or any iterable of batches ``x`` or
``(x, y[, w])``) holds only the images the model sees: they are explained and drawn
over as they are (``preprocess_overlay=True``); ``preprocess_overlay=False`` (the
original images) cannot apply and raises ValueError.

AUCMEDI's ``DataGenerator`` (any object with its ``preprocess_image``, ``sample_loader``,
``samples``, ``path_imagedir``, ``image_format``, ``grayscale`` and ``kwargs``) is read as
AUCMEDI's decoder reads it: image ``i`` is explained as ``preprocess_image(i,
run_aug=False)`` (in batches of its ``batch_size``) and drawn over
``preprocess_image(i, run_resize=False, run_aug=False, run_standardize=False)``
(``preprocess_overlay=True``: its subfunctions applied, not resized nor standardised)
or the image as loaded, ``sample_loader(samples[i], path_imagedir, image_format=...,
grayscale=..., **kwargs)`` (``preprocess_overlay=False``).
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Optional

import numpy as np

AUCMEDI_GENERATOR = ("preprocess_image", "sample_loader", "samples", "path_imagedir", "image_format", "grayscale",
                     "kwargs")


def is_aucmedi_generator(data_gen: Any) -> bool:
    """Whether ``data_gen`` has AUCMEDI ``DataGenerator``'s interface."""
    return all(hasattr(data_gen, name) for name in AUCMEDI_GENERATOR)


def batches(data_gen: Any) -> Iterator[np.ndarray]:
    """The input batches ``(B, *S, C)`` to explain, in order."""
    if is_aucmedi_generator(data_gen):
        count, size = len(data_gen.samples), max(1, int(getattr(data_gen, "batch_size", None) or 1))
        for start in range(0, count, size):
            yield np.stack([np.asarray(data_gen.preprocess_image(i, run_aug=False), np.float32)
                            for i in range(start, min(count, start + size))])
        return
    if hasattr(data_gen, "__getitem__") and hasattr(data_gen, "__len__") and not isinstance(data_gen, np.ndarray):
        source = (data_gen[i] for i in range(len(data_gen)))
    else:
        source = iter(data_gen)
    for batch in source:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        yield np.asarray(x, np.float32)


def overlay_images(data_gen: Any, preprocess_overlay: bool) -> Optional[Callable[[int], np.ndarray]]:
    """``image(i)``: the image ``i``'s heat map is resized to and drawn over, or None
    for the explained batch image itself. ValueError when ``preprocess_overlay=False``
    cannot apply (a plain source has no original images)."""
    if is_aucmedi_generator(data_gen):
        if preprocess_overlay:
            return lambda i: np.asarray(
                data_gen.preprocess_image(i, run_resize=False, run_aug=False, run_standardize=False))
        return lambda i: np.asarray(data_gen.sample_loader(
            data_gen.samples[i], data_gen.path_imagedir, image_format=data_gen.image_format,
            grayscale=data_gen.grayscale, **data_gen.kwargs))
    if not preprocess_overlay:
        raise ValueError(
            "preprocess_overlay=False draws the heat maps over the original images, which only a generator with "
            f"AUCMEDI DataGenerator's interface ({', '.join(AUCMEDI_GENERATOR)}) can load; data_gen of type "
            f"{type(data_gen).__name__} yields the model's input batches only: pass preprocess_overlay=True "
            "(overlays on those batches)."
        )
    return None

"""AUCMEDI's ``xai_decoder`` (``aucmedi.xai.decoder``) over any batch source, one
engine call per batch instead of one per image and class."""
from __future__ import annotations

import os
from typing import Any, List, Optional, Tuple, Union

import keras
import numpy as np

from ... import validation as check
from ...utils.resize import resize_array
from .methods import XAIMethod, xai_dict
from .overlay import save_overlay
from .sources import batches, overlay_images
from .volume import volume_format


def keras_model(model: Any) -> keras.Model:
    """The Keras model: ``model`` itself or AUCMEDI's ``NeuralNetwork.model``."""
    inner = model if isinstance(model, keras.Model) else getattr(model, "model", None)
    if not isinstance(inner, keras.Model):
        raise TypeError(
            f"model must be a keras.Model or an object with a .model keras.Model (AUCMEDI's NeuralNetwork); "
            f"got {type(model).__name__}."
        )
    return inner


def xai_method(method: Any, model: keras.Model, layerName: Optional[str]) -> Any:
    """A name of :data:`xai_dict` built on ``model``, or a method instance as given."""
    if isinstance(method, str):
        if method not in xai_dict:
            raise ValueError(f"method must be one of {sorted(xai_dict)} or a method instance; got {method!r}.")
        return xai_dict[method](model, layerName=layerName)
    if not hasattr(method, "compute_heatmap"):
        raise TypeError(f"method must be a name or an object with compute_heatmap(); got {type(method).__name__}.")
    return method


def batch_heatmaps(method: Any, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """``(B, T, *s)`` heat maps: one batched call for this package's methods, one
    ``compute_heatmap`` per image and class for any other AUCMEDI-style method."""
    if isinstance(method, XAIMethod):
        return method.heatmaps(x, classes, batch_size=max(1, len(x)))
    return np.stack([
        np.stack([np.asarray(method.compute_heatmap(x[i:i + 1], class_index=int(c))) for c in row])
        for i, row in enumerate(classes)
    ])


def file_name(data_gen: Any, index: int, volume: bool = False) -> str:
    """AUCMEDI's file name: ``samples[i] + "." + image_format`` when the generator
    has them (path separators turned into dots), else ``sample_<i>.png`` (``.gif`` for
    a volume)."""
    samples = getattr(data_gen, "samples", None)
    if samples is None:
        return f"sample_{index}.{'gif' if volume else 'png'}"
    image_format = getattr(data_gen, "image_format", None)
    name = str(samples[index]) + ("." + image_format if image_format else "")
    return name.replace(os.sep, ".")


def class_path(path: str, c: int, image_format: Optional[str] = None) -> str:
    """AUCMEDI's per-class file when ``preds`` is None: ``.class_<c>`` inserted before
    the ``image_format`` suffix (``scan.class_0.nii.gz``), else before the last suffix."""
    if image_format is None:
        cut = len(path.split(".")[-1]) + 1
    elif image_format == ".gz":
        cut = 7
    else:
        cut = len(image_format) + 1
    return f"{path[:-cut]}.class_{c}{path[-cut:]}"


def xai_decoder(
    data_gen: Any,
    model: Any,
    preds: Optional[Any] = None,
    method: Union[str, Any] = "gradcam",
    layerName: Optional[str] = None,
    overlay: bool = True,
    alpha: float = 0.25,
    preprocess_overlay: bool = True,
    out_path: Optional[str] = None,
) -> Optional[Tuple[List[np.ndarray], List[np.ndarray]]]:
    """Heat maps of every image of ``data_gen``, returned or drawn over the images.

    Parameters
    ----------
    data_gen : keras.utils.PyDataset, Sequence, iterable of batches or AUCMEDI DataGenerator
        Batches ``x`` or ``(x, y[, w])`` of images ``(B, H, W, C)`` (or volumes); an
        AUCMEDI ``DataGenerator`` is read as AUCMEDI reads it (:mod:`.sources`).
    model : keras.Model or AUCMEDI NeuralNetwork (``.model``)
    preds : array (N, classes), optional
        Predictions; each image is explained for ``argmax preds[i]``. None: every class.
    method : str or method instance, default "gradcam"
        A key of :data:`~eli5_keras.compat.aucmedi.methods.xai_dict` or a method object.
    layerName : str, optional
        The CAM methods' layer (default: the last layer with a 4-D output).
    overlay, alpha : bool, float
        Drawing of the saved pictures: ``jet`` heat map with opacity ``alpha`` over
        the image, or the heat map alone.
    preprocess_overlay : bool, default True
        The images drawn over (and returned): with an AUCMEDI ``DataGenerator``, its
        image with subfunctions applied, not resized nor standardised (True), or as
        loaded (False); with any other source, the batch images as yielded (True;
        False raises ValueError: such a source has no original images).
    out_path : str, optional
        Folder for the pictures (``<sample>.png``, ``<sample>.class_<c>.png`` without
        ``preds``; volumes as GIF, NIfTI or ``.npy`` by their suffix, ``sample_<i>.gif``
        by default, :mod:`.volume`); None returns the arrays instead.

    Returns
    -------
    (images, heatmaps) : two lists, one entry per image, when ``out_path`` is None:
    the image drawn over (``preprocess_overlay``) and its heat map resized (linear) to
    that image's spatial shape, ``(*S)`` with ``preds``, ``(classes, *S)`` without.

    Each batch is explained in one engine call for all its images (and classes);
    AUCMEDI calls ``compute_heatmap`` once per image and class.
    """
    net = keras_model(model)
    n_classes = int(net.outputs[0].shape[-1])
    alpha = check.real("alpha", alpha, 0.0, 1.0)
    preprocess_overlay = check.boolean("preprocess_overlay", preprocess_overlay)
    original = overlay_images(data_gen, preprocess_overlay)
    image_format = getattr(data_gen, "image_format", None)
    explainer = xai_method(method, net, layerName)
    chosen = None if preds is None else np.argmax(np.asarray(preds), axis=-1)
    if out_path is not None:
        os.makedirs(out_path, exist_ok=True)
    res_img: List[np.ndarray] = []
    res_xai: List[np.ndarray] = []
    seen = 0
    for x in batches(data_gen):
        b = len(x)
        if chosen is None:
            classes = np.tile(np.arange(n_classes, dtype=np.int32), (b, 1))
        else:
            if seen + b > len(chosen):
                raise ValueError(f"preds has {len(chosen)} rows but data_gen yields more images.")
            classes = chosen[seen:seen + b, None].astype(np.int32)
        volume = x.ndim == 5
        paths = [] if out_path is None else [
            os.path.join(out_path, file_name(data_gen, seen + i, volume)) for i in range(b)
        ]
        if volume:
            for path in paths:  # an unwritable format is refused before any work
                volume_format(path)
        maps = batch_heatmaps(explainer, x, classes)
        for i in range(b):
            image = x[i] if original is None else original(seen + i)
            resized = np.stack([resize_array(m, image.shape[:-1]) for m in maps[i]])
            heatmap = resized[0] if chosen is not None else resized
            if out_path is None:
                res_img.append(image)
                res_xai.append(heatmap)
            elif chosen is not None:
                save_overlay(image, heatmap, paths[i], overlay, alpha)
            else:
                for c in range(n_classes):
                    save_overlay(image, heatmap[c], class_path(paths[i], c, image_format), overlay, alpha)
        seen += b
    if out_path is None:
        return res_img, res_xai
    return None

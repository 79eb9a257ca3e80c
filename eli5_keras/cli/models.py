"""The MODEL argument of ``eli5-keras explain``: a file, a SavedModel, the demo, or a
``keras.applications`` name with its preprocessing and ImageNet class names.

Weights of ``keras.applications`` models are downloaded only when asked for with
``--weights imagenet``; offline, that fails fast with a message saying how to pass a
local file instead.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import numpy as np

from .errors import UsageError, one_line
from .inputs import Preprocess

if TYPE_CHECKING:  # Keras loads TensorFlow: imported where a model is built
    import keras

MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")
DEMO_NAME = "demo"

# name -> (constructor in keras.applications, module with preprocess_input/decode_predictions)
APPLICATIONS: Dict[str, Tuple[str, str]] = {
    "vgg16": ("VGG16", "vgg16"),
    "vgg19": ("VGG19", "vgg19"),
    "resnet50": ("ResNet50", "resnet"),
    "resnet101": ("ResNet101", "resnet"),
    "resnet152": ("ResNet152", "resnet"),
    "resnet50_v2": ("ResNet50V2", "resnet_v2"),
    "resnet101_v2": ("ResNet101V2", "resnet_v2"),
    "resnet152_v2": ("ResNet152V2", "resnet_v2"),
    "mobilenet": ("MobileNet", "mobilenet"),
    "mobilenet_v2": ("MobileNetV2", "mobilenet_v2"),
    "mobilenet_v3_small": ("MobileNetV3Small", "mobilenet_v3"),
    "mobilenet_v3_large": ("MobileNetV3Large", "mobilenet_v3"),
    "inception_v3": ("InceptionV3", "inception_v3"),
    "inception_resnet_v2": ("InceptionResNetV2", "inception_resnet_v2"),
    "xception": ("Xception", "xception"),
    "densenet121": ("DenseNet121", "densenet"),
    "densenet169": ("DenseNet169", "densenet"),
    "densenet201": ("DenseNet201", "densenet"),
    "nasnet_mobile": ("NASNetMobile", "nasnet"),
    "nasnet_large": ("NASNetLarge", "nasnet"),
    **{f"efficientnet_b{i}": (f"EfficientNetB{i}", "efficientnet") for i in range(8)},
    **{f"efficientnet_v2_b{i}": (f"EfficientNetV2B{i}", "efficientnet_v2") for i in range(4)},
    **{f"efficientnet_v2_{s}": (f"EfficientNetV2{s.upper()}", "efficientnet_v2") for s in "sml"},
    **{f"convnext_{s}": (f"ConvNeXt{s.capitalize()}", "convnext") for s in ("tiny", "small", "base", "large")},
    "convnext_xlarge": ("ConvNeXtXLarge", "convnext"),
}

IMAGENET_CLASSES = 1000

VARIABLE_SIZE_INPUT = {"mobilenet_v3_small": 224, "mobilenet_v3_large": 224}
"""Applications built for any image size unless told one: images are resized to their
ImageNet training size (the others fix their input size themselves)."""


@dataclass
class LoadedModel:
    """A model ready for the command line.

    Attributes
    ----------
    model : keras.Model
    preprocess : callable
        Image pixels, float32 ``(H, W, C)`` in [0, 255] -> the model's input.
    class_names : list of str, optional
        Names of the output classes, when known.
    note : str
        Appended to errors about layers (e.g. that a SavedModel is one opaque layer).
    path : str, optional
        The model's file, for engines whose workers load it themselves (``--engine ray``).
    """

    model: keras.Model
    preprocess: Preprocess
    class_names: Optional[List[str]] = None
    note: str = ""
    path: Optional[str] = None


def rescaler(factor: float) -> Preprocess:
    """Pixels times ``factor`` (``1/255`` maps images to [0, 1])."""

    def preprocess(pixels: np.ndarray) -> np.ndarray:
        return pixels * np.float32(factor)

    return preprocess


def load_model(spec: str, weights: Optional[str] = None, rescale: float = 1 / 255) -> LoadedModel:
    """Load what MODEL names.

    Parameters
    ----------
    spec : str
        A ``.keras``/``.h5`` file, a SavedModel folder, ``"demo"`` (the shipped demo
        model) or a name from :data:`APPLICATIONS`.
    weights : str, optional
        Only for ``keras.applications`` names: ``"imagenet"`` (download, or the Keras
        cache), ``"none"`` (random weights) or a path to a weights file.
    rescale : float
        Factor on image pixels for file models (``keras.applications`` models use their
        own ``preprocess_input``; the demo model takes pixels / 255).

    Raises
    ------
    UsageError
        Unknown name, missing or unloadable file, weights that cannot be had.
    """
    path = Path(spec)
    is_application = spec.lower() in APPLICATIONS and not path.exists()
    if weights is not None and not is_application:
        examples = ", ".join(sorted(APPLICATIONS)[:4])
        raise UsageError(f"--weights applies to keras.applications names ({examples}, ...), not to {spec!r}.")
    if is_application:
        return _application(spec.lower(), weights)
    if spec == DEMO_NAME and not path.exists():
        from ..demo.model import MODEL_PATH
        from ..demo.model import load_model as load_demo
        from ..demo.scenes import CLASS_NAMES

        return LoadedModel(load_demo(), rescaler(1 / 255), list(CLASS_NAMES), path=str(MODEL_PATH))
    if path.is_dir():
        return LoadedModel(_saved_model(path), rescaler(rescale), note=(
            " A SavedModel is one opaque layer: methods that read an inner layer (Grad-CAM) "
            "cannot see inside it; save the model as a .keras file to explain its layers."
        ))
    if path.is_file():
        if path.suffix.lower() not in MODEL_SUFFIXES:
            raise UsageError(f"model {spec!r} is not a {'/'.join(MODEL_SUFFIXES)} file or a SavedModel folder.")
        return LoadedModel(_model_file(path), rescaler(rescale), path=str(path))
    raise UsageError(
        f"model {spec!r} is not a file, a SavedModel folder, {DEMO_NAME!r} or a keras.applications name "
        f"({', '.join(sorted(APPLICATIONS))})."
    )


def _model_file(path: Path) -> keras.Model:
    import keras

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as error:  # noqa: BLE001 - any failure to load is the file's problem
        raise UsageError(f"cannot load model {str(path)!r}: {one_line(error)}") from None
    if not isinstance(model, keras.Model):
        raise UsageError(f"{str(path)!r} holds a {type(model).__name__}, not a Keras model.")
    return model


def _saved_model(path: Path) -> keras.Model:
    import keras
    import tensorflow as tf

    if not (path / "saved_model.pb").is_file():
        raise UsageError(f"folder {str(path)!r} is not a SavedModel (no saved_model.pb); pass a model file.")
    try:
        signature = tf.saved_model.load(str(path)).signatures["serving_default"]
        layer = keras.layers.TFSMLayer(str(path), call_endpoint="serving_default")
    except Exception as error:  # noqa: BLE001 - any failure to load is the folder's problem
        raise UsageError(f"cannot load SavedModel {str(path)!r}: {one_line(error)}") from None
    specs = list(signature.structured_input_signature[1].values())
    if len(specs) != 1:
        raise UsageError(
            f"SavedModel {str(path)!r} takes {len(specs)} inputs; the command line explains single-input models."
        )
    inputs = keras.Input(tuple(specs[0].shape[1:]), dtype=specs[0].dtype.name)
    outputs = layer(inputs)
    if isinstance(outputs, dict):
        if len(outputs) != 1:
            raise UsageError(f"SavedModel {str(path)!r} has outputs {sorted(outputs)}; the command line needs one.")
        outputs = next(iter(outputs.values()))
    return keras.Model(inputs, outputs, name=path.name)


def _application(name: str, weights: Optional[str]) -> LoadedModel:
    import keras

    constructor, module_name = APPLICATIONS[name]
    module = getattr(keras.applications, module_name)
    if weights is None:
        raise UsageError(
            f"{name} needs weights: --weights imagenet (downloaded once into ~/.keras/models), "
            "--weights FILE (a local weights file) or --weights none (random, for trying things out)."
        )
    if weights.lower() == "none":
        keras_weights = None
    elif weights.lower() == "imagenet":
        keras_weights = "imagenet"
    elif Path(weights).is_file():
        keras_weights = weights
    else:
        raise UsageError(f"--weights {weights!r} is not 'imagenet', 'none' or an existing weights file.")
    try:
        size = VARIABLE_SIZE_INPUT.get(name)
        shape = {} if size is None else dict(input_shape=(size, size, 3))
        model = getattr(keras.applications, constructor)(weights=keras_weights, **shape)
    except Exception as error:  # noqa: BLE001 - download and weight-file failures come in many types
        if keras_weights == "imagenet":
            raise UsageError(
                f"could not download the ImageNet weights of {name} ({one_line(error)}); where you are "
                "offline, download the weights file elsewhere and pass --weights FILE."
            ) from None
        raise UsageError(f"cannot load weights {weights!r} into {name}: {one_line(error)}") from None
    names = _imagenet_class_names(module) if keras_weights is not None else None
    return LoadedModel(model, module.preprocess_input, names)


def _imagenet_class_names(module) -> Optional[List[str]]:
    """ImageNet class names, in class order (downloads a small index once, when online)."""
    import sys

    # decode_predictions sorts by score: scores falling with the index give index order.
    scores = -np.arange(IMAGENET_CLASSES, dtype=np.float32)[None]
    try:
        decoded = module.decode_predictions(scores, top=IMAGENET_CLASSES)[0]
    except Exception as error:  # noqa: BLE001 - an unavailable class index only costs the names
        print(f"eli5-keras: warning: ImageNet class names unavailable ({one_line(error)}); "
              "showing class indices.", file=sys.stderr)
        return None
    return [label for _, label, _ in decoded]

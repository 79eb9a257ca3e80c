"""Models of Keras 2 (tf-keras, ``TF_USE_LEGACY_KERAS=1``) on the Keras 3 engine.

Keras 3 reads a Keras 2 ``.h5`` file itself (``keras.models.load_model("model.h5")``: the
legacy HDF5 loader translates Keras 2 layer configs), so files saved by Keras 2 need nothing
from us. A *live* ``tf_keras`` model is another class hierarchy, which our graph runner cannot
walk; :func:`keras_model` gives the engine a Keras 3 copy of it instead:

1. the model is written by tf-keras to a temporary ``.h5`` file (its own Keras 2 format) and
   read back by Keras 3 (``compile=False``); the user's model is only read;
2. the copy is kept per model object (weakly: it goes with the model), so repeated calls
   reuse its compiled graphs, and at every call its weights are refreshed from the model's
   (``copy.set_weights(model.get_weights())``: a model trained between two calls is explained
   with its new weights).

A model tf-keras cannot write as ``.h5`` (a subclassed model) or that Keras 3 cannot read
back (a custom layer without a Keras 3 twin) raises a one-line TypeError saying what to do.
"""
from __future__ import annotations

import os
import tempfile
import threading
import warnings
import weakref
from typing import Any

import keras

_COPIES: "weakref.WeakKeyDictionary[Any, keras.Model]" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()

CONVERSION = (
    "save it with Keras 2 (`model.save('model.h5')`) and load it with Keras 3 "
    "(`keras.models.load_model('model.h5', custom_objects=...)`, Keras 3 versions of any custom layers)"
)


def is_tf_keras_model(model: Any) -> bool:
    """Whether ``model`` is a Keras 2 model (``tf_keras``, or TensorFlow's bundled
    ``tensorflow.python.keras``), judged by its class's module, without importing tf-keras."""
    for cls in type(model).__mro__:
        module = getattr(cls, "__module__", "") or ""
        if cls.__name__ == "Model" and (module.startswith("tf_keras.") or module.startswith("tensorflow.python.keras.")):
            return True
    return False


def keras_model(model: Any, name: str = "model") -> keras.Model:
    """``model`` as a Keras 3 model: itself, or the refreshed copy of a tf-keras model.

    Raises
    ------
    TypeError
        ``model`` is neither a ``keras.Model`` nor a tf-keras model; a tf-keras model that
        cannot be converted (with the conversion to do).
    """
    if isinstance(model, keras.Model):
        return model
    if not is_tf_keras_model(model):
        raise TypeError(f"{name} must be a keras.Model; got {type(model).__name__}.")
    with _LOCK:
        copy = _COPIES.get(model)
        if copy is None:
            copy = _converted(model, name)
            _COPIES[model] = copy
        else:
            copy.set_weights(model.get_weights())
    return copy


def _converted(model: Any, name: str) -> keras.Model:
    """A Keras 3 model read from the ``.h5`` file tf-keras writes for ``model``."""
    with tempfile.TemporaryDirectory(prefix="eli5-keras-tf-keras-") as folder:
        path = os.path.join(folder, "model.h5")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tf-keras' "HDF5 is legacy" notice
                model.save(path, save_format="h5")
        except Exception as error:
            raise TypeError(
                f"{name} is a tf-keras (Keras 2) {type(model).__name__} that tf-keras cannot write as .h5 "
                f"({_first_line(error)}); rebuild it as a Keras 3 functional or Sequential model "
                "and load its weights (`model.save_weights('w.h5')`, then `load_weights`)."
            ) from None
        try:
            return keras.models.load_model(path, compile=False)
        except Exception as error:
            raise TypeError(
                f"{name} is a tf-keras (Keras 2) model that Keras 3 cannot read back ({_first_line(error)}): "
                f"{CONVERSION}."
            ) from None


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")

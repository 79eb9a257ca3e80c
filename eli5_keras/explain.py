"""Batched explanations: ``explain(model, inputs, method=..., targets=...)``.

Configuration apart from data: an :class:`Explainer` is built once per (model, layer,
method, options) and compiles one graph per number of targets ``T``; ``explain()``
looks it up in a per-model cache, so calling it again on the same shapes runs the
compiled graph without retracing. Work is chunked so that one chunk holds at most
``batch_size`` (input, target) pairs.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

import keras
import numpy as np
import tensorflow as tf

from . import methods as _methods
from .backend.cache import cached
from .backend.graph import model_inputs, model_outputs
from .backend.inputs import prepare_inputs, spatial_input_index
from .backend.layers import LayerSpec, output_shape, path_name, resolve_layer
from .backend.probe import LayerProbe, compiled
from .backend.targets import encode_targets
from .result import ExplanationBatch
from .utils.resize import minmax_normalize, resize_linear

class Explainer:
    """One method at one layer of one model, compiled once, applied to many batches.

    Parameters
    ----------
    model : keras.Model
        Functional, Sequential, nested (backbone as a layer), multi-input or
        variable-size model; a subclassed model when its ``call`` chains its layers.
    method : str
        A name from :func:`eli5_keras.methods.available`.
    layer : None, int, str, keras.layers.Layer
        Layer to explain at: index, name, instance or ``"outer/inner"`` path; None
        picks the last layer with a spatial output (descending into nested models).
    use_logits : bool, default True
        Differentiate the class score before a final softmax/sigmoid (the papers'
        definition); False differentiates the model's output as it is (eli5).
    relu : bool, default True
        Keep only positive evidence (Grad-CAM's ReLU). False for Captum parity.
    normalize : bool, default True
        Min-max normalise each map to [0, 1] (``(L - min) / (max - min + 1e-7)``)
        before resizing (pytorch-grad-cam's order).
    resize : bool, default True
        Resize maps onto the input's spatial shape (linear, half-pixel centres);
        False keeps the layer's grid.
    output_index : int, default 0
        Which model output holds the class scores.
    """

    def __init__(
        self,
        model: keras.Model,
        method: str = "gradcam",
        layer: LayerSpec = None,
        *,
        use_logits: bool = True,
        relu: bool = True,
        normalize: bool = True,
        resize: bool = True,
        output_index: int = 0,
    ) -> None:
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model; got {type(model).__name__}.")
        self.method = _methods.get(method)
        self.path = resolve_layer(model, layer)
        self.layer_name = path_name(self.path)
        shape = output_shape(self.path[-1])
        inputs = model_inputs(model)
        ranks = [len(x.shape) for x in inputs]
        if shape is not None and not (len(shape) >= 3 and len(shape) in ranks):
            raise ValueError(
                f"layer {self.layer_name!r} has output shape {shape}, which has no spatial axes matching "
                f"the model's inputs {[tuple(x.shape) for x in inputs]}: a CAM map needs a layer with "
                "output (batch, *spatial, channels), e.g. the last convolutional layer."
            )
        self.spatial_input = spatial_input_index(model, len(shape) if shape else max(ranks))
        self.options = dict(relu=bool(relu), normalize=bool(normalize), resize=bool(resize))
        self.probe = LayerProbe(model, self.path, use_logits=use_logits, output_index=output_index)
        self._output_shape = tuple(model_outputs(model)[output_index].shape)
        self.num_classes = self._output_shape[-1] if len(self._output_shape) == 2 else None
        self._input_specs = [
            tf.TensorSpec((None,) + tuple(x.shape[1:]), keras.backend.standardize_dtype(x.dtype))
            for x in inputs
        ]
        self._functions: Dict[int, Any] = {}

    @property
    def model(self) -> keras.Model:
        return self.probe.model

    def _graph(self, inputs: List[tf.Tensor], code: tf.Tensor):
        result = self.probe.run(inputs, code)
        maps = self.method.maps(result)
        if self.options["relu"]:
            maps = tf.nn.relu(maps)
        if self.options["normalize"]:
            maps = minmax_normalize(maps, first_axis=2)
        if self.options["resize"]:
            reference = inputs[self.spatial_input]
            size = [tf.shape(reference)[1 + i] for i in range(reference.shape.rank - 2)]
            maps = resize_linear(maps, size, first_axis=2)
        return maps, result.classes, result.scores

    def function(self, num_targets: int):
        """The compiled graph for ``num_targets`` targets per input (built on first use)."""
        if num_targets not in self._functions:
            self._functions[num_targets] = compiled(self._graph, self._input_specs, num_targets)
        return self._functions[num_targets]

    def explain(
        self,
        inputs: Any,
        targets: Any = None,
        *,
        top_k: Optional[int] = None,
        batch_size: int = 32,
    ) -> ExplanationBatch:
        """Explain ``inputs`` (N examples) for ``targets``.

        Parameters
        ----------
        inputs : array-like (N, *input_shape), or a list/dict of them for multi-input models
        targets : None, int, sequence (N,), or array (N, T)
            None: each input's top class. See :func:`eli5_keras.backend.targets.encode_targets`.
        top_k : int, optional
            Explain each input's ``top_k`` highest-scoring classes in one pass.
        batch_size : int
            At most this many (input, target) pairs are processed at once.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; got {batch_size!r}.")
        model = self.model
        arrays = prepare_inputs(model, inputs)
        n = len(arrays[0])
        if self.num_classes is None:
            raise ValueError(
                f"model {model.name!r} output {self.probe.output_index} has shape "
                f"{self._output_shape}; "
                "class targets need a (batch, classes) output."
            )
        code = encode_targets(targets, top_k, n, self.num_classes)
        self.probe.verify(arrays)
        fn = self.function(code.shape[1])
        chunk = max(1, int(batch_size) // code.shape[1])
        maps = classes = scores = None
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            m, c, s = fn([tf.constant(a[start:stop]) for a in arrays], tf.constant(code[start:stop]))
            if maps is None:
                maps = np.empty((n,) + tuple(m.shape[1:]), np.float32)
                classes = np.empty(code.shape, np.int64)
                scores = np.empty(code.shape, np.float32)
            maps[start:stop], classes[start:stop], scores[start:stop] = m.numpy(), c.numpy(), s.numpy()
        return ExplanationBatch(
            maps=maps,
            targets=classes,
            scores=scores,
            method=self.method.title,
            layer=self.layer_name,
            model_name=model.name,
            normalized=self.options["normalize"],
            probabilities=bool(self.probe.squashing),
            signed=not self.options["relu"],
            normalization=describe_normalization(**self.options),
            inputs=arrays[self.spatial_input],
        )


def describe_normalization(relu: bool, normalize: bool, resize: bool) -> str:
    """How the pipeline scaled the maps, in words (shown by the formatters)."""
    steps = ["ReLU (negative evidence dropped)"] if relu else []
    steps.append(
        "min-max per map: (L - min) / (max - min + 1e-7)" if normalize else "raw values, not normalised"
    )
    if resize:
        steps.append("linear resize onto the input")
    return ", then ".join(steps)


def ensure_built(model: keras.Model, inputs: Any) -> None:
    """A Sequential model defined without an input shape gets built on its first call
    (as ``model.predict`` would do); everything else is used as it is."""
    if model.built:
        return
    arr = np.asarray(inputs.numpy() if hasattr(inputs, "numpy") else inputs)
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32)
    model(tf.constant(arr[:1]), training=False)


def get_explainer(model: keras.Model, method: str = "gradcam", layer: LayerSpec = None, **options: Any) -> Explainer:
    """A cached :class:`Explainer` for (model, layer, method, options)."""
    method_name = _methods.get(method).name
    path = resolve_layer(model, layer)
    key = ("explainer", method_name, tuple(id(x) for x in path), tuple(sorted(options.items())))
    return cached(model, key, lambda: Explainer(model, method_name, list(path), **options))


def explain(
    model: keras.Model,
    inputs: Any,
    method: str = "gradcam",
    targets: Any = None,
    layer: LayerSpec = None,
    batch_size: int = 32,
    *,
    top_k: Optional[int] = None,
    use_logits: bool = True,
    relu: bool = True,
    normalize: bool = True,
    resize: bool = True,
    output_index: int = 0,
) -> ExplanationBatch:
    """Explain a batch of inputs: ``(N, *input_shape) -> maps (N, T, *S)``.

    Parameters
    ----------
    model : keras.Model
    inputs : array-like, shape (N, *input_shape) (or one example without the batch axis);
        a list or dict of arrays for a multi-input model. Integer images are cast.
    method : str, default "gradcam"
        See :func:`eli5_keras.methods.available`.
    targets : None, int, sequence of N ints, or (N, T) int array
        None: each input's top class; an int: that class for all inputs; a sequence:
        one class per input; a 2-D array: T classes per input, computed in one pass.
    layer : None, int, str or keras.layers.Layer
        Layer to explain at (``"backbone/layer"`` reaches into nested models); None
        picks the last spatial layer automatically.
    batch_size : int, default 32
        Maximum number of (input, target) pairs processed at once.
    top_k : int, optional
        Explain the ``top_k`` best classes of each input (instead of ``targets``).
    use_logits, relu, normalize, resize, output_index
        See :class:`Explainer`.

    Returns
    -------
    ExplanationBatch
        ``maps`` float32 ``(N, T, *S)``, ``targets`` ``(N, T)``, ``scores`` ``(N, T)``
        (the model's own outputs); ``result[i]`` is an eli5 :class:`Explanation`.

    Examples
    --------
    >>> result = explain(model, images, top_k=3)          # doctest: +SKIP
    >>> result.maps.shape                                  # doctest: +SKIP
    (16, 3, 224, 224)
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model; got {type(model).__name__}.")
    ensure_built(model, inputs)
    explainer = get_explainer(
        model,
        method,
        layer,
        use_logits=use_logits,
        relu=relu,
        normalize=normalize,
        resize=resize,
        output_index=output_index,
    )
    return explainer.explain(inputs, targets, top_k=top_k, batch_size=batch_size)

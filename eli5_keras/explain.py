"""Batched explanations: ``explain(model, inputs, method=..., targets=...)``.

Configuration apart from data: an :class:`Explainer` is built once per (model, layer,
method, options) and compiles one graph per kind of target (e.g. per number of
classes ``T``); ``explain()`` looks it up in a per-model cache, so calling it again on
the same shapes runs the compiled graph without retracing.

Memory is bounded by one ``batch_size``: a chunk of ``n`` inputs with ``T`` targets and
a method expanding each into ``E`` passes (steps, masks, channels, samples) holds at
most ``batch_size`` of them at once (``n * T * E <= batch_size``, or one input whose
expansion is processed in blocks of ``batch_size // T``).
"""
from __future__ import annotations

import dataclasses
import threading
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import keras
import numpy as np
import tensorflow as tf

from . import methods as _methods
from . import validation as check
from .backend.cache import ModelRef, cached, graph_function
from .backend.inputs import input_spatial_rank, is_token_input, prepare_inputs, spatial_input_index, spatial_size
from .backend.graph import LayerPath
from .backend.layers import LayerSpec, input_spatial_ranks, path_name, path_output_shape, resolve_layer
from .backend.legacy import keras_model
from .backend.probe import ModelProbe
from .backend.tokens import TokenGrid, token_grid as read_token_grid
from .backend.topology import model_inputs, model_outputs
from .methods.base import Context, Method
from .pipeline import PIPELINE_OPTIONS, Pipeline
from .result import EMPTY_MAP_HINT, EmptyMapWarning, ExplanationBatch
from .targets import NegatedTarget, Target, as_target
from .utils.resize import resize_linear

TargetNames = Union[Sequence[str], Mapping[int, str], None]


class Explainer:
    """One method at one layer of one model, compiled once, applied to many batches.

    Parameters
    ----------
    model : keras.Model
        Functional, Sequential, nested (backbone as a layer), multi-input or
        variable-size model; a subclassed model when its ``call`` chains its layers.
    method : str or Method
        A name from :func:`eli5_keras.methods.available`, or a configured instance.
    layer : None, int, str, keras.layers.Layer
        Layer to explain at (CAM methods): index, name, instance or ``"outer/inner"``
        path; None picks the last layer with a spatial output (descending into nested
        models), on a vision transformer the layer feeding the last
        ``MultiHeadAttention`` (the last block's first norm: later patch tokens get zero
        gradient under a class-token head). Methods on the input take no layer.
    use_logits : bool, default True
        Differentiate (or compare) scores before a final softmax/sigmoid (the papers'
        definition); False uses the model's output as it is (eli5's numbers).
    relu : bool, optional
        Keep only positive evidence. Default: True, except for signed methods
        (Integrated Gradients, gradient x input), whose sign is the information.
    normalize : bool, optional
        Min-max normalise each map to [0, 1] (``(L - min) / (max - min)``: every map
        that is not constant reaches exactly 1, however small its values; a constant
        map stays all zero and is flagged empty) before resizing (pytorch-grad-cam's
        order). Default: True, except for signed methods (raw values, so maps stay
        comparable and sums stay meaningful).
    resize : bool, default True
        Resize layer maps onto the input's spatial shape (linear, half-pixel
        centres); False keeps the layer's grid.
    input_index : int, optional
        For multi-input models, the input that methods on the input explain (default:
        the first input with spatial axes).
    counterfactual : bool, default False
        Explain the opposite score ``-S`` (:class:`~eli5_keras.targets.NegatedTarget`):
        what pushes the target's score down. Reported ``scores`` stay the model's.
    token_grid : tuple of int, optional
        A token-sequence layer ``(N, P + h*w, D)`` (vision transformers) is explained
        on its patch grid ``(h, w)``: the prefix tokens are dropped and the patch
        tokens (row-major) reshaped to ``(N, h, w, D)``, activations and gradients
        alike. Default: the output grid of the model's patch embedding (a
        convolution with ``kernel_size == strides`` on the input), else a square
        token count. Named ``token_grid`` because RISE's ``grid`` is a method option.
    prefix_tokens : int, optional
        Leading class / distillation / register tokens ``P`` to drop. Default:
        ``tokens - h*w``. Tokens that do not make ``P + h*w`` raise ValueError.
    reshape : callable, optional
        ``reshape(tokens (N, L, D)) -> (N, h, w, D)``, pytorch-grad-cam's
        ``reshape_transform``, instead of ``token_grid`` / ``prefix_tokens``; traceable
        (TensorFlow or ``keras.ops``), applied to the activations and to the
        gradients (targets folded into the batch axis).
    **method_options
        Options of the method (e.g. ``steps=`` for Integrated Gradients).
    """

    def __init__(
        self,
        model: keras.Model,
        method: Union[str, Method] = "gradcam",
        layer: LayerSpec = None,
        *,
        use_logits: bool = True,
        relu: Optional[bool] = None,
        normalize: Optional[bool] = None,
        resize: bool = True,
        input_index: Optional[int] = None,
        counterfactual: bool = False,
        token_grid: Optional[Sequence[int]] = None,
        prefix_tokens: Optional[int] = None,
        reshape: Optional[Any] = None,
        **method_options: Any,
    ) -> None:
        model = keras_model(model)
        self.method = _methods.get(method, **method_options)
        self._model = ModelRef(model)
        self.model_name = model.name
        inputs = model_inputs(model)
        self._input_specs = [
            tf.TensorSpec((None,) + tuple(x.shape[1:]), keras.backend.standardize_dtype(x.dtype)) for x in inputs
        ]
        self._input_shapes = [tuple(x.shape) for x in inputs]
        self._output_shapes = [tuple(o.shape) for o in model_outputs(model)]
        self.path = explained_path(model, self.method, layer)
        tokens = dict(token_grid=token_grid, prefix_tokens=prefix_tokens, reshape=reshape)
        self.tokens, self.layer_shape = layer_view(model, self.method, self.path, **tokens)
        self.pipeline = Pipeline.resolve(
            signed=self.method.signed,
            input_index=explained_input(model, self.path, input_index, self.layer_shape),
            use_logits=use_logits,
            relu=relu,
            normalize=normalize,
            resize=resize,
            counterfactual=counterfactual,
            **tokens,
        )
        self.input_index = self.pipeline.input_index
        self.use_logits = self.pipeline.use_logits
        self.layer_name = path_name(self.path) if self.path else None
        # One compiled graph per kind of target, built once: the lock keeps two threads
        # from tracing the same kind twice. Nothing per call is stored on the explainer.
        self._functions: Dict[Any, Tuple[ModelProbe, Context, Any]] = {}
        self._lock = threading.Lock()

    @property
    def options(self) -> Dict[str, bool]:
        """The post-processing options as a dict (``relu``, ``normalize``, ``resize``,
        ``counterfactual``); :attr:`pipeline` holds them all."""
        p = self.pipeline
        return dict(relu=p.relu, normalize=p.normalize, resize=p.resize, counterfactual=p.counterfactual)

    @property
    def model(self) -> keras.Model:
        return self._model()

    def _graph(self, context: Context, inputs: List[tf.Tensor], data: tf.Tensor, block: tf.Tensor, side=None):
        if side is None:
            out = self.method.compute(context, inputs, data, block)
        else:
            out = self.method.compute(context, inputs, data, block, side=side)
        maps, empty = self.pipeline.scale(out.maps)
        if self._resizes():
            spec = self._input_specs[self.input_index]
            maps = resize_linear(maps, spatial_size(spec, inputs[self.input_index]), first_axis=2)
        scores = -out.scores if self.pipeline.counterfactual else out.scores  # the model's own scores
        return maps, out.labels, scores, out.extras, empty

    def _resizes(self) -> bool:
        """Layer maps are resized onto the input (not maps a method makes at the input)."""
        return self.pipeline.resize and self.path is not None and not self.method.maps_at_input

    def function(self, target: Target, data: np.ndarray):
        """``(probe, context, compiled graph)`` for a kind of target (a bound
        :class:`~eli5_keras.targets.Target`) and its encoded ``data``, built on first use.

        The graph depends on the target only through ``target.key()``; the per-input
        choices (classes, masks) are its ``data`` argument. The probe keeps the bound
        target it was built with, which every later target of the same key equals
        in all but data, so no call changes it."""
        key = target.key()
        with self._lock:
            if key not in self._functions:
                self._functions[key] = self._build(target, data)
        return self._functions[key]

    def _build(self, target: Target, data: np.ndarray):
        views = {self.path: self.tokens} if self.tokens is not None else None
        probe = ModelProbe(self.model, target, use_logits=self.use_logits, views=views)
        token = is_token_input(self._input_specs[self.input_index])
        context = Context(probe, self.path, self.input_index, self.layer_shape, channels_last=not token)
        self.method.setup(context)
        data_spec = tf.TensorSpec((None,) + data.shape[1:2] + (None,) * (data.ndim - 2), data.dtype)
        signature = [list(self._input_specs), data_spec, tf.TensorSpec((), tf.int32)]
        side = list(self.method.side_signature(context))
        if side:  # per-chunk arrays computed before the graph (feature labels): Method.side_data
            signature.append(side)
            fn = graph_function(
                lambda inputs, data, block, side: self._graph(context, inputs, data, block, side), signature
            )
        else:
            fn = graph_function(lambda inputs, data, block: self._graph(context, inputs, data, block), signature)
        return probe, context, fn

    @property
    def trace_count(self) -> int:
        """How many graphs this explainer has traced: one per kind of target used
        (``Target.key()``, e.g. per number of classes ``T``) when nothing retraced."""
        with self._lock:
            functions = [fn for _, _, fn in self._functions.values()]
        return sum(fn.experimental_get_tracing_count() for fn in functions)

    def chunking(self, context: Context, n: int, num_targets: int, batch_size: int) -> Tuple[int, int]:
        """``(inputs per chunk, expanded items per block)`` so that at most
        ``batch_size`` (input, target, item) triples are in flight."""
        expansion = max(1, int(self.method.expansion(context)))
        per_item = num_targets if self.method.per_target_work else 1
        if expansion * per_item <= batch_size:
            return max(1, batch_size // (expansion * per_item)), expansion
        return 1, max(1, batch_size // per_item)

    def explain(
        self,
        inputs: Any,
        targets: Any = None,
        *,
        top_k: Optional[int] = None,
        output_index: int = 0,
        batch_size: int = 32,
        target_names: TargetNames = None,
        warn: bool = True,
    ) -> ExplanationBatch:
        """Explain ``inputs`` (N examples) for ``targets``; see :func:`explain`.

        ``warn=False`` leaves out the :class:`~eli5_keras.result.EmptyMapWarning`, for
        callers that explain a dataset batch by batch and say it once for the run
        (:func:`eli5_keras.explain_dataset`, :mod:`eli5_keras.ray`)."""
        result = self._explain(inputs, targets, top_k, output_index, batch_size, target_names)
        if warn:
            warn_empty(result)
        return result

    def _explain(
        self, inputs: Any, targets: Any, top_k: Optional[int], output_index: int, batch_size: int,
        target_names: TargetNames,
    ) -> ExplanationBatch:
        batch_size = check.integer("batch_size", batch_size, 1)
        model = self.model
        arrays = prepare_inputs(model, inputs)
        n = len(arrays[0])
        target = as_target(targets, top_k, output_index)
        if self.pipeline.counterfactual:
            target = NegatedTarget(target)
        target = target.bind(self._output_shapes, n)
        data = target.encode(n)
        probe, context, fn = self.function(target, data)
        probe.verify(arrays, self.path)
        chunk, block = self.chunking(context, n, data.shape[1], batch_size)
        maps = labels = scores = empty = None
        extras: Dict[str, np.ndarray] = {}
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            chunk_arrays = [a[start:stop] for a in arrays]
            args = [[tf.constant(a) for a in chunk_arrays], tf.constant(data[start:stop]), block]
            side = self.method.side_data(context, chunk_arrays, start, n)
            if side:
                args.append([tf.constant(a) for a in side])
            m, c, s, e, z = fn(*args)
            if maps is None:
                maps = np.empty((n,) + tuple(m.shape[1:]), np.float32)
                labels = np.empty((n, c.shape[1]), np.int64)
                scores = np.empty((n, s.shape[1]), np.float32)
                empty = np.empty((n, z.shape[1]), bool)
                extras = {k: np.empty((n,) + tuple(v.shape[1:]), np.float32) for k, v in e.items()}
            maps[start:stop], labels[start:stop], scores[start:stop] = m.numpy(), c.numpy(), s.numpy()
            empty[start:stop] = z.numpy()
            for k, v in e.items():
                extras[k][start:stop] = v.numpy()
        return ExplanationBatch(
            maps=maps,
            targets=labels,
            scores=scores,
            method=self.method.title,
            layer=self.layer_name,
            model_name=model.name,
            normalized=self.pipeline.normalize,
            probabilities=probe.probabilities[target.output_index],
            signed=self.pipeline.signed,
            normalization=self.pipeline.describe(self._resizes()),
            target_names=_names_list(target_names),
            extras=extras,
            inputs=arrays[self.input_index],
            empty=empty,
        )


def warn_empty(result: ExplanationBatch, shown: int = 8) -> None:
    """One :class:`~eli5_keras.result.EmptyMapWarning` naming the empty maps of
    ``result`` (the first ``shown`` of them), if there are any, attributed to the
    caller of the function that calls this one (the user's line)."""
    empty = result.empty_maps()
    if not empty:
        return
    named = ", ".join(f"input {i} target {label!r}" for i, label in empty[:shown])
    more = f" and {len(empty) - shown} more" if len(empty) > shown else ""
    warnings.warn(
        EmptyMapWarning(
            f"{result.method}: {len(empty)} of {result.empty.size} maps are empty (constant, so they show "
            f"nothing): {named}{more}. Usually {EMPTY_MAP_HINT}."
        ),
        stacklevel=3,
    )


def explained_path(model: keras.Model, method: Method, layer: LayerSpec) -> Optional[LayerPath]:
    """The layer path a method explains at (``layer`` resolved, None picks
    automatically), or None for a method on the input, which takes no ``layer``."""
    if method.uses_layer:
        return resolve_layer(model, layer, tokens=True)
    if layer is not None:
        raise ValueError(
            f"method {method.name!r} explains the input itself, so layer= does not apply; got layer={layer!r}."
        )
    return None


def layer_view(
    model: keras.Model, method: Method, path: Optional[LayerPath], **tokens: Any
) -> Tuple[Optional[TokenGrid], Optional[tuple]]:
    """How the explained layer is read: its :class:`~eli5_keras.backend.tokens.TokenGrid`
    (None for a layer that is not a token sequence) and the shape the method sees
    (``(N, h, w, D)`` for a token grid, the layer's output shape otherwise; None for a
    method on the input). ``tokens``: the ``token_grid``, ``prefix_tokens`` and
    ``reshape`` options."""
    if path is None:
        given = [k for k, v in tokens.items() if v is not None]
        if given:
            raise ValueError(
                f"method {method.name!r} explains the input itself, so {', '.join(given)} (options of a token "
                "layer explained by a CAM method) do not apply."
            )
        return None, None
    shape = path_output_shape(model, path)
    view = read_token_grid(model, path_name(path), shape, input_spatial_ranks(model), **tokens)
    return view, (view.shape(shape) if view is not None else shape)


def explained_input(
    model: keras.Model, path: Optional[LayerPath], input_index: Optional[int], shape: Optional[tuple] = None
) -> int:
    """The model input the maps are aligned with: the one whose spatial rank the
    explained layer has (``path``, read with ``shape``: a token layer's grid, default
    its output shape), else ``input_index`` (default: the first input with spatial axes)."""
    specs = model_inputs(model)
    spatial = [input_spatial_rank(s) for s in specs]
    shapes = [tuple(x.shape) for x in specs]
    if path is not None:
        shape = path_output_shape(model, path) if shape is None else shape
        if shape is None:  # a layer whose shape is unknown
            return int(np.argmax(spatial))
        if not (len(shape) >= 3 and len(shape) - 2 in spatial):
            raise ValueError(
                f"layer {path_name(path)!r} has output shape {shape}, which has no spatial axes matching "
                f"the model's inputs {shapes}: a CAM map needs a layer with output "
                "(batch, *spatial, channels), e.g. the last convolutional layer."
            )
        return spatial_input_index(model, len(shape))
    if input_index is None:
        candidates = [i for i, r in enumerate(spatial) if r >= 1]
        if not candidates:
            raise ValueError(
                f"model {model.name!r} has no input with spatial axes to explain; inputs are {shapes}."
            )
        return candidates[0]
    return check.index("input_index", input_index, len(spatial))


def _names_list(target_names: TargetNames) -> Optional[Any]:
    if target_names is None:
        return None
    if isinstance(target_names, Mapping):
        return dict(target_names)
    if isinstance(target_names, str) or not isinstance(target_names, Sequence):
        raise TypeError(f"target_names must be a list of names or a dict index -> name; got {target_names!r}.")
    return list(target_names)


def ensure_built(model: keras.Model, inputs: Any) -> None:
    """A Sequential model defined without an input shape gets built on its first call
    (as ``model.predict`` would do); everything else is used as it is."""
    if model.built:
        return
    arr = np.asarray(inputs.numpy() if hasattr(inputs, "numpy") else inputs)
    if np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float32)
    model(tf.constant(arr[:1]), training=False)


def get_explainer(
    model: keras.Model, method: Union[str, Method] = "gradcam", layer: LayerSpec = None, **options: Any
) -> Explainer:
    """A cached :class:`Explainer` for (model, method and its options, layer, pipeline).

    The key holds option *values* with defaults resolved (:class:`~eli5_keras.pipeline.Pipeline`
    and the method's own options): leaving out ``resize=True`` finds the same explainer."""
    given = {k: options.pop(k) for k in PIPELINE_OPTIONS if k in options}
    instance = _methods.get(method, **options)
    path = explained_path(model, instance, layer)
    input_index = given.pop("input_index", None)
    tokens = {k: given.get(k) for k in ("token_grid", "prefix_tokens", "reshape")}
    _, shape = layer_view(model, instance, path, **tokens)
    pipeline = Pipeline.resolve(
        signed=instance.signed, input_index=explained_input(model, path, input_index, shape), **given
    )
    key = ("explainer", instance.key(), tuple(id(x) for x in path or ()), pipeline)
    settings = {f.name: getattr(pipeline, f.name) for f in dataclasses.fields(pipeline)}
    return cached(model, key, lambda: Explainer(model, instance, list(path) if path else None, **settings))


def explain(
    model: keras.Model,
    inputs: Any,
    method: Union[str, Method] = "gradcam",
    targets: Any = None,
    layer: LayerSpec = None,
    batch_size: int = 32,
    *,
    top_k: Optional[int] = None,
    use_logits: bool = True,
    relu: Optional[bool] = None,
    normalize: Optional[bool] = None,
    resize: bool = True,
    output_index: int = 0,
    input_index: Optional[int] = None,
    target_names: TargetNames = None,
    counterfactual: bool = False,
    token_grid: Optional[Sequence[int]] = None,
    prefix_tokens: Optional[int] = None,
    reshape: Optional[Any] = None,
    **method_options: Any,
) -> ExplanationBatch:
    """Explain a batch of inputs: ``(N, *input_shape) -> maps (N, T, *S)``.

    Parameters
    ----------
    model : keras.Model
    inputs : array-like, shape (N, *input_shape) (or one example without the batch axis);
        a list or dict of arrays for a multi-input model. Integer images are cast.
    method : str or Method, default "gradcam"
        See :func:`eli5_keras.methods.available`; options go in ``**method_options``.
    targets : None, int, sequence of N ints, (N, T) int array, a Target, or a callable
        None: each input's top class; an int: that class for all inputs; a sequence:
        one class per input; a 2-D array: T classes per input, computed in one pass.
        A :mod:`eli5_keras.targets` object explains a regression unit, a segmentation
        region, one output of several; a callable ``fn(outputs) -> (N,)`` any score.
    layer : None, int, str or keras.layers.Layer
        Layer to explain at (``"backbone/layer"`` reaches into nested models); None
        picks the last spatial layer automatically. CAM methods only.
    batch_size : int, default 32
        Bound on the work in flight: (input, target, step/mask/channel/sample) items.
    top_k : int, optional
        Explain the ``top_k`` best classes of each input (instead of ``targets``).
    use_logits, relu, normalize, resize, input_index, counterfactual
        See :class:`Explainer`.
    token_grid, prefix_tokens, reshape
        A vision transformer's token layer on its patch grid; see :class:`Explainer`
        and docs/methods.md, "Vision transformers".
    output_index : int, default 0
        Which model output holds the class scores (class targets).
    target_names : list or dict, optional
        Class names, shown instead of indices by ``result[i]`` and the formatters.

    Returns
    -------
    ExplanationBatch
        ``maps`` float32 ``(N, T, *S)``, ``targets`` ``(N, T)``, ``scores`` ``(N, T)``
        (the model's own outputs), ``extras`` (e.g. ``completeness_gap``), ``empty``
        ``(N, T)`` bool (constant maps, which show nothing); ``result[i]`` is an eli5
        :class:`Explanation`.

    Warns
    -----
    EmptyMapWarning
        Once per call when some maps are empty (constant: all zero after the ReLU for
        a target with only negative evidence), naming their inputs and targets.

    Examples
    --------
    >>> result = explain(model, images, top_k=3)          # doctest: +SKIP
    >>> result.maps.shape                                  # doctest: +SKIP
    (16, 3, 224, 224)
    """
    model = keras_model(model)
    ensure_built(model, inputs)
    explainer = get_explainer(
        model,
        method,
        layer,
        use_logits=use_logits,
        relu=relu,
        normalize=normalize,
        resize=resize,
        input_index=input_index,
        counterfactual=counterfactual,
        token_grid=token_grid,
        prefix_tokens=prefix_tokens,
        reshape=reshape,
        **method_options,
    )
    result = explainer._explain(inputs, targets, top_k, output_index, batch_size, target_names)
    warn_empty(result)
    return result

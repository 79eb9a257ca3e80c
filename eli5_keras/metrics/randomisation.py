"""Randomisation sanity checks: a map that explains the model should change when the class
or the model's parameters change.

* :func:`random_logit` (Sixt, Granz and Landgraf, *When Explanations Lie: Why Many
  Modified BP Attributions Fail*, ICML 2020): the similarity between the map of each
  input's class ``y`` and the map of a class ``y'`` drawn uniformly among the others;
  low is better (the map depends on the class).
* :func:`model_parameter_randomisation` (Adebayo et al., *Sanity Checks for Saliency
  Maps*, NeurIPS 2018): the similarity between the map of the model and the map of a copy
  whose layers, from the top down, get freshly initialised weights; *cascading*
  (the top ``k`` weight-bearing layers re-initialised, ``k = 1..L``) or *independent*
  (only the ``k``-th from the top). Low is better (the map depends on the parameters).

Similarities (:mod:`.similarity`): Spearman rank correlation of the maps (``"spearman"``)
and of their absolute values (``"spearman_abs"``), and SSIM (``"ssim"``, Wang et al. 2004).

The randomised model is a copy (``keras.models.clone_model`` with the model's weights);
the model passed in is never changed. A layer is re-initialised with its own configured
initializers (``kernel_initializer``, ``bias_initializer``, ``gamma_initializer``, ...),
as the authors' ``tf.initialize_variables`` does; each initializer with a ``seed`` gets one
derived from ``seed``, the layer's place from the top and the variable's, so both orders
draw the same new weights for a layer. (Xplique instead draws U[0, 1) weights for the top
25 % of the layers; Quantus' TensorFlow path permutes the weights.)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import keras
import numpy as np

from .. import validation as check
from ..backend.legacy import keras_model
from ..backend.topology import model_outputs
from ..explain import explain
from .similarity import SIMILARITIES, similarity

DEFAULT_MEASURES = ("spearman_abs", "spearman", "ssim")
ORDERS = ("cascading", "independent")


def _measure(name: str, value: Any) -> str:
    return check.choice(name, value, tuple(SIMILARITIES))


def _maps_alike(measure: str, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Similarity of maps ``(N, T, *S)`` pairwise: ``(N,)``, or ``(N, T)`` when ``T > 1``."""
    n, t = first.shape[:2]
    values = similarity(measure, first.reshape((n * t,) + first.shape[2:]), second.reshape((n * t,) + second.shape[2:]))
    return values.reshape(n, t)[:, 0] if t == 1 else values.reshape(n, t)


def other_classes(classes: Any, num_classes: int, seed: int) -> np.ndarray:
    """For each class ``y`` of ``classes (N,)``, a class drawn uniformly from the
    ``num_classes - 1`` others: ``(y + u) mod C`` with ``u`` uniform in ``1..C-1``
    (``numpy.random.default_rng(seed)``)."""
    classes = np.asarray(classes, np.int64)
    shift = np.random.default_rng(seed).integers(1, num_classes, size=classes.shape)
    return (classes + shift) % num_classes


def random_logit(
    model: keras.Model,
    inputs: Any,
    method: Any = "gradcam",
    targets: Any = None,
    *,
    similarity: str = "ssim",
    seed: int = 42,
    batch_size: int = 32,
    output_index: int = 0,
    **explain_options: Any,
) -> np.ndarray:
    """Random-logit similarity of each input's maps: ``(N, *input_shape) -> (N,)``.

    Parameters
    ----------
    model, inputs, method, batch_size, output_index, **explain_options
        As for :func:`eli5_keras.explain` (the maps are compared as it returns them, with
        its normalisation).
    targets : None, int or sequence of N ints
        The explained class ``y`` of each input; None: the top class.
    similarity : {"ssim", "spearman", "spearman_abs"}, default "ssim"
        SSIM is Quantus' and Xplique's choice.
    seed : int, default 42
        Seed of the other classes (:func:`other_classes`).

    Returns
    -------
    numpy.ndarray float64 (N,): the similarity of the maps of ``y`` and ``y'``; lower
    is better.
    """
    measure = _measure("similarity", similarity)
    seed = check.integer("seed", seed, 0)
    if "top_k" in explain_options:
        raise ValueError("random_logit compares one class per input with another: pass targets, not top_k.")
    model = keras_model(model)
    outputs = model_outputs(model)
    output_index = check.index("output_index", output_index, len(outputs), " (the model's outputs)")
    num_classes = outputs[output_index].shape[-1]
    if num_classes is None or num_classes < 2:
        raise ValueError(
            f"random_logit needs a class output with at least 2 classes; output {output_index} has shape "
            f"{tuple(outputs[output_index].shape)}."
        )
    options = dict(explain_options, method=method, batch_size=batch_size, output_index=output_index)
    explained = explain(model, inputs, targets=targets, **options)
    if explained.targets.shape[1] != 1:
        raise ValueError(f"targets must give one class per input; got {explained.targets.shape[1]}.")
    others = other_classes(explained.targets[:, 0], int(num_classes), seed)
    other = explain(model, inputs, targets=others, **options)
    return _maps_alike(measure, explained.maps, other.maps)


@dataclass
class ParameterRandomisation:
    """Scores of :func:`model_parameter_randomisation`.

    Attributes
    ----------
    layers : list of str
        The re-initialised layers' names, from the top (output) down: step ``k``
        re-initialised ``layers[:k + 1]`` (cascading) or ``layers[k]`` (independent).
    order : {"cascading", "independent"}
    scores : dict of str to numpy.ndarray
        Per similarity measure, ``(L, N)`` (``(L, N, T)`` with ``T > 1`` targets): the
        similarity of each input's map on the original and on the randomised model.
    targets : numpy.ndarray
        The classes explained on every model (the original's, pinned).
    """

    layers: List[str]
    order: str
    scores: Dict[str, np.ndarray]
    targets: np.ndarray = field(repr=False)

    def mean(self) -> Dict[str, np.ndarray]:
        """Per measure, the mean over the inputs (and targets) at each step ``(L,)``,
        NaN left out."""
        with warnings.catch_warnings():  # a step with every score NaN is NaN, said by the value
            warnings.simplefilter("ignore", RuntimeWarning)
            return {k: np.nanmean(v.reshape(len(self.layers), -1), axis=1) for k, v in self.scores.items()}


def model_parameter_randomisation(
    model: keras.Model,
    inputs: Any,
    method: Any = "gradcam",
    targets: Any = None,
    *,
    order: str = "cascading",
    layers: Optional[Sequence[str]] = None,
    similarity: Any = DEFAULT_MEASURES,
    seed: int = 0,
    batch_size: int = 32,
    maps: Any = None,
    **explain_options: Any,
) -> ParameterRandomisation:
    """Model-parameter randomisation test (Adebayo et al. 2018) of a method.

    Parameters
    ----------
    model, inputs, method, targets, batch_size, **explain_options
        As for :func:`eli5_keras.explain`. The randomised copies explain the classes
        the original model's maps explain (``targets=None``: the original's top classes).
    order : {"cascading", "independent"}, default "cascading"
        Cascading: the top ``k`` layers re-initialised at step ``k`` (cumulative, the
        paper's main test); independent: only the ``k``-th from the top.
    layers : sequence of str, optional
        Names of the model's (top-level) layers to re-initialise; default every layer
        with weights. A nested model is one layer (all its weights re-initialised).
    similarity : str or sequence of str, default ("spearman_abs", "spearman", "ssim")
        Measures from :mod:`eli5_keras.metrics.similarity`.
    seed : int, default 0
        Seed of the new weights.
    maps : array-like, shape (N, T, *S), optional
        The model's own maps for ``targets`` ``(N, T)``, when already computed (as
        ``explain()`` returns them with these options, e.g. ``result.maps`` with
        ``targets=result.targets``): not explained again. Needs ``targets``.

    Returns
    -------
    ParameterRandomisation
        ``layers`` (top first), ``scores[measure]`` ``(L, N)``; lower is better.

    Raises
    ------
    TypeError, ValueError
        A bad argument, unknown layer names or layers without weights, a model
        ``keras.models.clone_model`` cannot copy (subclassed), a variable without an
        initializer attribute on its layer.
    """
    order = check.choice("order", order, ORDERS)
    measures = [similarity] if isinstance(similarity, str) else list(similarity)
    if not measures:
        raise ValueError(f"similarity must name at least one of {list(SIMILARITIES)}.")
    measures = [_measure("similarity", m) for m in measures]
    seed = check.integer("seed", seed, 0)
    model = keras_model(model)
    chosen = randomised_layers(model, layers)

    if maps is None:
        original = explain(model, inputs, method=method, targets=targets, batch_size=batch_size, **explain_options)
        original_maps, original_targets = original.maps, original.targets
        fixed = original.targets if targets is None else targets
    else:
        original_maps, original_targets = _given_maps(maps, targets)
        fixed = original_targets
    options = {k: v for k, v in explain_options.items() if k != "top_k"}
    names: List[str] = []
    scores: Dict[str, List[np.ndarray]] = {m: [] for m in measures}
    for name, copy in randomised_models(model, order, [model.layers[i].name for i in chosen], seed):
        randomised = explain(copy, inputs, method=method, targets=fixed, batch_size=batch_size, **options).maps
        if randomised.shape != original_maps.shape:
            raise ValueError(
                f"maps given must have the shape of the method's maps {randomised.shape}; got {original_maps.shape}."
            )
        names.append(name)
        for m in measures:
            scores[m].append(_maps_alike(m, original_maps, randomised))
    return ParameterRandomisation(names, order, {m: np.stack(v) for m, v in scores.items()}, original_targets)


def _given_maps(maps: Any, targets: Any) -> Tuple[np.ndarray, np.ndarray]:
    """``maps (N, T, *S)`` computed beforehand and their ``targets (N, T)``, checked."""
    array = np.asarray(maps.numpy() if hasattr(maps, "numpy") else maps)
    if targets is None:
        raise ValueError("maps given need their targets: pass targets (N, T), e.g. result.targets with result.maps.")
    classes = np.asarray(targets)
    if array.ndim < 3 or classes.shape != array.shape[:2]:
        raise ValueError(
            f"maps must have shape (N, T, *S) and targets (N, T) of the same N and T; got maps {array.shape} "
            f"and targets {classes.shape}."
        )
    return array, classes


def randomised_models(
    model: keras.Model, order: str = "cascading", layers: Any = None, seed: int = 0
) -> Iterator[Tuple[str, keras.Model]]:
    """The randomised copies of ``model``, one per layer from the top down:
    ``(layer name, copy)``; ``order``, ``layers`` and ``seed`` as in
    :func:`model_parameter_randomisation`. The copy is one model changed in
    place from step to step (so compiled explanations of it are reused): keep
    ``copy.get_weights()`` to hold on to a step. ``model`` itself is never changed."""
    order = check.choice("order", order, ORDERS)
    seed = check.integer("seed", seed, 0)
    chosen = randomised_layers(model, layers)
    copy = model_copy(model)
    weights = model.get_weights()
    for step, index in enumerate(chosen):
        if order == "independent":
            copy.set_weights(weights)
        reinitialise(copy.layers[index], seed, step)
        yield model.layers[index].name, copy


def randomised_layers(model: keras.Model, names: Optional[Sequence[str]]) -> List[int]:
    """Indices into ``model.layers`` of the layers to re-initialise, top (output) first:
    those named (each must have weights), or every layer with weights."""
    with_weights = [i for i, layer in enumerate(model.layers) if layer.weights]
    if names is None:
        if not with_weights:
            raise ValueError(f"model {model.name!r} has no layer with weights to randomise.")
        return with_weights[::-1]
    if isinstance(names, str):
        names = [names]
    by_name = {model.layers[i].name: i for i in with_weights}
    unknown = [n for n in names if n not in by_name]
    if unknown or not names:
        raise ValueError(
            f"layers must name layers with weights of model {model.name!r} ({list(by_name)}); got {list(names)}."
        )
    return sorted({by_name[n] for n in names}, reverse=True)


def model_copy(model: keras.Model) -> keras.Model:
    """A copy of ``model`` with its own variables holding the same weights."""
    try:
        copy = keras.models.clone_model(model)
    except Exception as error:  # noqa: BLE001 - said in one line with what to do
        raise ValueError(
            f"model {model.name!r} cannot be copied by keras.models.clone_model ({type(error).__name__}: {error}); "
            "the randomisation test needs a Sequential or functional model."
        ) from None
    copy.set_weights(model.get_weights())
    return copy


def reinitialise(layer: keras.layers.Layer, seed: int, step: int) -> None:
    """Give every variable of ``layer`` (every sublayer of a nested model) a fresh value
    from its own initializer, seeded from ``(seed, step, variable's place)``."""
    for place, (owner, variable) in enumerate(_owned_variables(layer)):
        initializer = _initializer(owner, variable)
        config = initializer.get_config()
        if "seed" in config:
            config["seed"] = int(np.random.default_rng([seed, step, place]).integers(2**31 - 1))
            initializer = type(initializer).from_config(config)
        variable.assign(initializer(shape=tuple(variable.shape), dtype=variable.dtype))


def _owned_variables(layer: keras.layers.Layer) -> list:
    """``(layer holding its initializers, variable)`` for each variable of ``layer``."""
    if isinstance(layer, keras.Model):
        return [pair for sub in layer.layers for pair in _owned_variables(sub)]
    owners = [layer] + ([layer.cell] if hasattr(layer, "cell") else [])
    return [(owners, variable) for variable in layer.weights]


def _initializer(owners: Sequence[Any], variable: Any) -> keras.initializers.Initializer:
    """The initializer attribute named after ``variable`` (``kernel`` ->
    ``kernel_initializer``, ``depthwise_kernel`` -> ``depthwise_initializer``; a
    depthwise convolution's ``kernel`` -> ``depthwise_initializer``)."""
    name = variable.name
    stem = name[: -len("_kernel")] if name.endswith("_kernel") else name
    candidates = [f"{name}_initializer", f"{stem}_initializer"] + (["depthwise_initializer"] if name == "kernel" else [])
    for owner in owners:
        for attribute in candidates:
            value = getattr(owner, attribute, None)
            if value is not None:
                return keras.initializers.get(value)
    raise ValueError(
        f"variable {variable.path!r} of layer {owners[0].name!r} has no initializer attribute "
        f"({' or '.join(candidates)}) to re-initialise it with."
    )

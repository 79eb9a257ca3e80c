"""Checks shared by many tests: batch sizes that must not change the maps, the
``batch_size`` bound on work in flight, and compiled graphs that must not retrace,
read through the public :meth:`eli5_keras.explain.Explainer.function`."""
import numpy as np
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.backend.graph import model_outputs
from eli5_keras.explain import get_explainer
from eli5_keras.targets import ClassTarget

from helpers.methods import fast_options

DEFAULT_OPTIONS = dict(use_logits=True, relu=None, normalize=None, resize=True, input_index=None)
"""``explain()``'s defaults, as ``get_explainer`` takes them: finds the explainer
``explain(model, x, method=...)`` used."""


def class_graph(explainer, num_targets, n=1):
    """``(probe, context, compiled graph)`` that ``explainer`` runs for class targets
    with ``T = num_targets`` (``top_k``, or ``T`` classes per input), through the public
    :meth:`~eli5_keras.explain.Explainer.function` with a bound :class:`ClassTarget`.
    A graph not built yet is built (and has traced nothing)."""
    shapes = [tuple(o.shape) for o in model_outputs(explainer.model)]
    target = ClassTarget(top_k=num_targets).bind(shapes, n)
    return explainer.function(target, target.encode(n))


def compiled_for(explainer, num_targets):
    """The explainer's compiled graph for class targets with ``T = num_targets``."""
    return class_graph(explainer, num_targets)[2]


def check_batch_size_and_tracing(model, x, other, method, **options):
    """``batch_size=1`` and ``64`` give the same maps and extras (top-2 targets), and a
    call on another batch of the same shapes runs the compiled graph without retracing.
    Returns the result with ``batch_size=1``."""
    small = eli5.explain(model, x, method=method, top_k=2, batch_size=1, **options)
    large = eli5.explain(model, x, method=method, top_k=2, batch_size=64, **options)
    np.testing.assert_allclose(small.maps, large.maps, rtol=1e-4, atol=1e-6 * max(1.0, np.abs(large.maps).max()))
    for key, value in large.extras.items():
        np.testing.assert_allclose(small.extras[key], value, rtol=1e-3, atol=1e-6)
    eli5.explain(model, other, method=method, top_k=2, batch_size=3, **options)
    explainer = get_explainer(model, method, None, **options, **DEFAULT_OPTIONS)
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1
    return small


class BatchMonitor:
    """A target function (``targets=monitor``) scoring output column ``column`` that
    records the largest batch the model was run on, inside the compiled graph."""

    def __init__(self, column=0):
        self.column = column
        self.largest = tf.Variable(0, dtype=tf.int32, trainable=False)

    def __call__(self, outputs):
        self.largest.assign(tf.maximum(self.largest, tf.shape(outputs)[0]))
        return outputs[:, self.column]

    def reset(self):
        self.largest.assign(0)
        return self


def check_in_flight_bound(model, x, method, batch_size, largest, column):
    """Explain ``x`` for output ``column`` with a :class:`BatchMonitor`: the largest batch
    the model saw is ``largest``, and the maps equal those of ``batch_size=64``."""
    monitor = BatchMonitor(column=column)
    result = eli5.explain(model, x, method=method, targets=monitor, batch_size=batch_size)
    assert int(monitor.largest.numpy()) == largest
    reference = eli5.explain(model, x, method=method, targets=column, batch_size=64)
    np.testing.assert_allclose(result.maps, reference.maps, atol=1e-5)


def check_every_target_kind(model, method, inputs, spatial, targets):
    """The all-methods sweep, for one model and method: batches of 1 and 3 inputs
    (``inputs(n)``) with ``batch_size=4`` and the fast options
    (:func:`helpers.methods.fast_options`), for the top class (``targets="top"``) or the
    top two (``"two"``): map shapes ``(n, T, *spatial)``, finite maps and scores, the
    model's scores of the top classes, and normalised maps within [0, 1]. Numbers are
    checked per method in their own tests."""
    options = fast_options(method)
    where = (method, model.name)
    for n in (1, 3):
        x = inputs(n)
        kwargs = dict(top_k=2) if targets == "two" else {}
        result = eli5.explain(model, x, method=method, batch_size=4, **kwargs, **options)
        t = 2 if targets == "two" else 1
        assert result.maps.shape == (n, t) + tuple(spatial), where
        assert np.all(np.isfinite(result.maps)), where
        assert result.targets.shape == result.scores.shape == (n, t)
        assert np.all(np.isfinite(result.scores))
        probs = model(x).numpy()
        np.testing.assert_allclose(result.scores, np.take_along_axis(probs, result.targets, 1), rtol=1e-4, atol=1e-6)
        order = np.argsort(-probs, axis=1)[:, :t]
        np.testing.assert_array_equal(result.targets, order)
        if result.normalized:
            assert result.maps.min() >= 0.0 and result.maps.max() <= 1.0 + 1e-6
        assert len(result[0].targets) == t

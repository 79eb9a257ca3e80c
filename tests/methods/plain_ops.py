"""Plain operations for hand-computed references of the multi-pass CAM tests, and
the shared check of the ``batch_size`` bound.

The references use only numpy, ``tf.image.resize`` and ``tf.Variable``, never
eli5_keras (which only :func:`check_in_flight_bound` calls, as the code under test).
"""
import numpy as np
import tensorflow as tf

import eli5_keras as eli5

EPS = 1e-7


def upsample(a, size):
    """Bilinear resize (half-pixel centres) of the spatial axes of ``a (N, *s, C)`` to
    ``size`` with ``tf.image.resize``: directly in 2-D, as an (L, 1) image in 1-D, and as
    two separable 2-D resizes in 3-D. Returns float64 numpy."""
    a = tf.convert_to_tensor(np.asarray(a, np.float32))
    size = tuple(int(s) for s in size)
    if len(size) == 1:
        out = tf.image.resize(a[:, :, None, :], (size[0], 1), "bilinear")[:, :, 0, :]
    elif len(size) == 2:
        out = tf.image.resize(a, size, "bilinear")
    else:
        n, d, h, w, c = a.shape
        hw = tf.image.resize(tf.reshape(a, (n * d, h, w, c)), size[1:], "bilinear")
        hw = tf.transpose(tf.reshape(hw, (n, d, size[1], size[2], c)), (0, 2, 1, 3, 4))
        dw = tf.image.resize(tf.reshape(hw, (n * size[1], d, size[2], c)), (size[0], size[2]), "bilinear")
        out = tf.transpose(tf.reshape(dw, (n, size[1], size[0], size[2], c)), (0, 2, 1, 3, 4))
    return out.numpy().astype(np.float64)


def upsample_maps(maps, size):
    """``(N, T, *s) -> (N, T, *size)`` with :func:`upsample`."""
    n, t = maps.shape[:2]
    flat = np.moveaxis(maps.reshape((n * t,) + maps.shape[2:]), 0, -1)[None]  # (1, *s, N*T)
    out = np.moveaxis(upsample(flat, size)[0], -1, 0)
    return out.reshape((n, t) + tuple(size))


def relu_minmax(maps):
    """The shared pipeline: ReLU, then per-map (L - min) / (max - min + 1e-7)."""
    maps = np.maximum(maps, 0.0)
    axes = tuple(range(2, maps.ndim))
    low = maps.min(axis=axes, keepdims=True)
    high = maps.max(axis=axes, keepdims=True)
    return (maps - low) / (high - low + EPS)


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

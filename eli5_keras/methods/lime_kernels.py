"""LIME's similarity kernels: the weight ``w_j`` of sample ``j`` (feature vector ``z_j``,
masked copy ``x_j`` of the input ``x``), the ``kernel=`` option of
:class:`~eli5_keras.methods.lime.Lime`.

==============  ==========================================================================
``kernel=``     ``w_j``
==============  ==========================================================================
``"lime"``      ``sqrt(exp(-d_j^2 / width^2))``, ``d_j = 1 - sqrt(|z_j|_1 / K)``: the cosine
                distance of ``z_j`` to ``1`` in the binary feature space (the ``lime``
                package's ``LimeImageExplainer``, Ribeiro et al. 2016)
``"euclidean"`` ``exp(-d_j^2 / width^2)``, ``d_j = ||x - x_j||_2`` over every position and
                channel of the input (input space; Xplique's ``Lime`` default)
``"cosine"``    ``exp(-d_j^2 / width^2)``, ``d_j = 1 - <x, x_j> / (||x|| ||x_j||)`` (input
                space; 0 similarity where a norm is 0)
``"uniform"``   ``1`` (every sample counts the same: Xplique's ``KernelShap``, whose samples
                are drawn from the Shapley kernel instead)
callable        ``kernel(x_i, z_i, copies_i) -> (b,)`` called per input inside the compiled
                graph on ``x_i (*S, C)``, ``z_i (b, K)`` int32 and ``copies_i (b, *S, C)``
                (Xplique's ``similarity_kernel`` signature); it must be traceable TensorFlow
==============  ==========================================================================

``"lime"`` and ``"uniform"`` read ``z`` only (:func:`feature_weights`); the others read
the masked copies as they are made (:func:`input_weights`, the ``weigh`` of
:func:`~eli5_keras.methods.surrogate.moments`), in float64.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Union

import tensorflow as tf

from .. import validation as check

KERNELS = ("lime", "euclidean", "cosine", "uniform")
FEATURE_KERNELS = ("lime", "uniform")

KernelSpec = Union[str, Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]]


def kernel_option(value: Any) -> KernelSpec:
    """One of :data:`KERNELS` or a callable; ValueError naming ``kernel`` otherwise."""
    if callable(value) and not isinstance(value, str):
        return value
    return check.choice("kernel", value, KERNELS)


def reads_copies(kernel: KernelSpec) -> bool:
    """Whether the kernel needs the masked copies (an input-space distance)."""
    return callable(kernel) or kernel not in FEATURE_KERNELS


def feature_weights(kernel: KernelSpec, width: float, z: tf.Tensor, counts: tf.Tensor) -> tf.Tensor:
    """``(n, b)`` float64 weights of ``z (n, b, K)`` for a kernel on features (``"lime"``,
    ``"uniform"``); ones for the kernels on copies (their weights come from
    :func:`input_weights`)."""
    if kernel == "lime":
        features = tf.cast(counts, tf.float64)[:, None]
        distance = 1.0 - tf.sqrt(tf.reduce_sum(tf.cast(z, tf.float64), axis=-1) / features)
        return tf.sqrt(tf.exp(-(distance**2) / width**2))
    return tf.ones(tf.shape(z)[:2], tf.float64)


def input_weights(kernel: KernelSpec, width: float) -> Optional[Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]]:
    """``weigh(x (n, ...), z (n, b, K), copies (n, b, ...)) -> (n, b)`` float64 for a
    kernel on copies, None for a kernel on features."""
    if not reads_copies(kernel):
        return None
    if callable(kernel):
        return _per_input(kernel)

    def weigh(x, z, copies):
        n, b = tf.shape(copies)[0], tf.shape(copies)[1]
        flat_x = tf.reshape(tf.cast(x, tf.float64), tf.stack([n, 1, -1]))
        flat_c = tf.reshape(tf.cast(copies, tf.float64), tf.stack([n, b, -1]))
        if kernel == "euclidean":
            squared = tf.reduce_sum((flat_x - flat_c) ** 2, axis=-1)
        else:
            norms = tf.norm(flat_x, axis=-1) * tf.norm(flat_c, axis=-1)
            squared = (1.0 - tf.math.divide_no_nan(tf.reduce_sum(flat_x * flat_c, axis=-1), norms)) ** 2
        return tf.exp(-squared / width**2)

    return weigh


def _per_input(kernel: Callable) -> Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]:
    def weigh(x, z, copies):
        def one(args):
            xi, zi, ci = args
            return tf.cast(tf.reshape(kernel(xi, tf.cast(zi, tf.int32), ci), [-1]), tf.float64)

        return tf.map_fn(one, (x, z, copies), fn_output_signature=tf.TensorSpec([None], tf.float64))

    return weigh

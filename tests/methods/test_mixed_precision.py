"""Every method on a ``mixed_float16`` model: float16 layer outputs are explained in
float32 (TensorFlow has no float16 ``eigh``/``qr``, and several methods multiply layer
values by float32 weights), and the maps equal those of the same weights in float32 up
to float16's rounding."""
import keras
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras import methods

from eli5_keras.methods.noise import VarGrad

from helpers.data import images
from helpers.methods import fast_options, maps_are_input_gradients, names

L = keras.layers


def options_of(method):
    """The sweep's fast options, but 8 samples for VarGrad: the variance of two samples
    is too rough to compare across precisions."""
    options = fast_options(method)
    if issubclass(methods.REGISTRY[method], VarGrad):
        options["samples"] = 8
    return options


def small_cnn(dtype):
    inputs = keras.Input((12, 12, 3))
    x = L.Conv2D(6, 3, padding="same", dtype=dtype)(inputs)
    x = L.BatchNormalization(dtype=dtype)(x)
    x = L.Activation("relu", dtype=dtype)(x)
    x = L.Conv2D(40, 3, padding="same", activation="relu", dtype=dtype)(x)
    x = L.GlobalAveragePooling2D(dtype=dtype)(x)
    # the output layer in float32, as Keras's mixed-precision guide asks
    return keras.Model(inputs, L.Dense(4, activation="softmax", dtype="float32")(x))


@pytest.fixture(scope="module")
def twins():
    keras.utils.set_random_seed(7)
    full = small_cnn("float32")
    bn = full.layers[2]
    rng = np.random.default_rng(7)
    bn.moving_mean.assign(rng.normal(0.0, 0.1, 6).astype(np.float32))
    bn.moving_variance.assign(rng.uniform(0.5, 2.0, 6).astype(np.float32))
    mixed = small_cnn("mixed_float16")
    mixed.set_weights(full.get_weights())
    return full, mixed


@pytest.mark.parametrize("method", names())
def test_mixed_float16_model_gives_the_float32_maps(method, twins):
    full, mixed = twins
    x = images(2, seed=50)
    options = options_of(method)
    ours = eli5.explain(mixed, x, method=method, top_k=2, **options)
    reference = eli5.explain(full, x, method=method, top_k=2, **options)
    assert ours.maps.dtype == np.float32 and np.isfinite(ours.maps).all()
    np.testing.assert_array_equal(ours.targets, reference.targets)
    np.testing.assert_allclose(ours.scores, reference.scores, rtol=1e-2)
    # Maps that are per-pixel gradients to the input, back through every float16 layer:
    # float16's rounding reaches single pixels (most in VarGrad, a variance of such
    # gradients), so they are compared by correlation; the others value by value.
    if not maps_are_input_gradients(method, **options):
        np.testing.assert_allclose(ours.maps, reference.maps, atol=0.01)
        return
    for got, expected in zip(ours.maps.reshape(4, -1), reference.maps.reshape(4, -1)):
        if np.ptp(expected) == 0:
            np.testing.assert_allclose(got, expected, atol=1e-3)
        else:
            assert np.corrcoef(got, expected)[0, 1] > 0.98, method

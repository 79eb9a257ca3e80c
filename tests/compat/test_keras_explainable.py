"""The keras-explainable facade against keras-explainable's formulas written plainly.

Its conventions restated here: the score is the logits layer's output as it is (the
last layer with a kernel, a linear Dense in its docs); maps are labels last
``(B, H', W', L)`` at the activation layer (the input of the global pooling layer), raw;
``explain`` applies ``postprocessing(maps, axis=(-3, -2))`` then a bilinear
``tf.image.resize`` onto the input; filters min-max with ``divide_no_nan``.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras.compat.keras_explainable as ke

from helpers.data import NUM_CLASSES, images
from helpers.models import conv_classifier

L = keras.layers
TOL = dict(rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def logits_model():
    """A linear Dense output, as keras-explainable's docs (classifier_activation=None)."""
    return conv_classifier(11, "logits_model", (12, 12, 3), lambda: [
        L.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
        L.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="c2"),
        L.GlobalAveragePooling2D(name="gap"), L.Dense(NUM_CLASSES, name="logits"),
    ])


def activations_and_jacobian(model, x, y):
    """A (B, H', W', K) at c2, logits gathered at y (B, L), and dl/dA (B, L, H', W', K)."""
    with tf.GradientTape() as tape:
        h = tf.convert_to_tensor(x)
        for name in ("c1", "c2"):
            h = model.get_layer(name)(h)
        A = out = h
        for name in ("gap", "logits"):
            out = model.get_layer(name)(out)
        logits = tf.gather(out, y, axis=-1, batch_dims=-1)
    return A.numpy(), logits.numpy(), tape.batch_jacobian(logits, A).numpy()


def labels_and_inputs():
    return images(3, seed=21), np.array([[0, 2], [4, 1], [3, 3]])


def test_gradcam_formula_and_seed_example(logits_model):
    x, y = labels_and_inputs()
    A, logits, J = activations_and_jacobian(logits_model, x, y)
    expected = np.einsum("bhwk,bck->bhwc", A, J.mean(axis=(2, 3)))
    # the seed's docs example, unchanged but for the import
    model = ke.inspection.expose(logits_model)
    scores, cams = ke.methods.cams.gradcam(model, x, y)
    assert cams.shape == (3, 6, 6, 2)
    np.testing.assert_allclose(np.asarray(scores), logits, **TOL)
    np.testing.assert_allclose(np.asarray(cams), expected, **TOL)
    scores, maps = ke.explain(ke.methods.cams.gradcam, model, x, y, postprocessing=ke.filters.absolute_normalize)
    a = np.abs(expected)
    a = a - a.min(axis=(1, 2), keepdims=True)
    a = a / a.max(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(maps, tf.image.resize(a, (12, 12)).numpy(), **TOL)
    np.testing.assert_allclose(scores, logits, **TOL)
    _, shortcut = ke.gradcam(model, x, y, postprocessing=ke.filters.absolute_normalize)
    np.testing.assert_allclose(shortcut, maps, **TOL)


def test_cam_formula(logits_model):
    x, y = labels_and_inputs()
    A, _, _ = activations_and_jacobian(logits_model, x, y)
    W = logits_model.get_layer("logits").kernel.numpy()
    expected = np.einsum("bhwk,kbc->bhwc", A, W[:, y])
    _, maps = ke.methods.cams.cam(ke.inspection.expose(logits_model), x, y)
    np.testing.assert_allclose(np.asarray(maps), expected, **TOL)


def test_gradcampp_formula(logits_model):
    x, y = labels_and_inputs()
    A, logits, J = activations_and_jacobian(logits_model, x, y)
    d2, d3 = J ** 2, J ** 3
    den = 2 * d2 + np.einsum("bk,bchwk->bchwk", A.sum(axis=(1, 2)), d3)
    alpha = np.divide(d2, den, out=np.zeros_like(d2), where=den != 0)
    dyda = np.exp(logits)[:, :, None, None, None] * J
    weights = (alpha * np.maximum(dyda, 0)).sum(axis=(2, 3))
    expected = np.einsum("bck,bhwk->bhwc", weights, A)
    _, maps = ke.methods.cams.gradcampp(ke.inspection.expose(logits_model), x, y)
    np.testing.assert_allclose(np.asarray(maps), expected, **TOL)


def test_gradients_formula_and_all_units(logits_model):
    x = images(2, seed=22)
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        logits = logits_model(xt)
    J = tape.batch_jacobian(logits, xt).numpy()  # (B, K, H, W, C)
    expected = np.transpose(np.abs(J).mean(-1), (0, 2, 3, 1))
    scores, maps = ke.methods.gradient.gradients(logits_model, x)
    assert maps.shape == (2, 12, 12, NUM_CLASSES)
    np.testing.assert_allclose(np.asarray(maps), expected, **TOL)
    np.testing.assert_allclose(np.asarray(scores), logits.numpy(), **TOL)
    _, resized = ke.explain(ke.methods.gradient.gradients, logits_model, x, resizing=False)
    np.testing.assert_allclose(resized, expected, **TOL)
    with pytest.raises(ValueError, match="gradient_filter"):
        ke.methods.gradient.gradients(logits_model, x, gradient_filter=tf.nn.relu)


def test_expose_records_layers_without_rebuilding(logits_model):
    exposed = ke.inspection.expose(logits_model)
    assert exposed.model is logits_model
    assert exposed.logits_layer is logits_model.get_layer("logits")
    assert exposed.activation_layer is logits_model.get_layer("c2")
    assert ke.inspection.expose(logits_model, arguments="c1").activation_layer is logits_model.get_layer("c1")
    assert ke.inspection.get_logits_layer(logits_model) is logits_model.get_layer("logits")
    x, y = labels_and_inputs()
    _, maps = ke.methods.cams.gradcam(ke.inspection.expose(logits_model, arguments="c1"), x, y)
    assert maps.shape == (3, 12, 12, 2)
    with pytest.raises(ValueError, match="logits layer"):
        ke.inspection.expose(logits_model, outputs="c2")


def test_layers_with_biases(logits_model):
    logits = ke.inspection.get_logits_layer(logits_model)
    layers, biases = ke.inspection.layers_with_biases(logits_model, exclude=[logits])
    assert [layer.name for layer in layers] == ["c1", "c2"]
    for layer, bias in zip(layers, biases):
        np.testing.assert_array_equal(np.asarray(bias), layer.bias.numpy())


def test_filters():
    x = np.array([[[[-2.0], [1.0]], [[3.0], [0.0]]]], np.float32)  # (1, 2, 2, 1)
    np.testing.assert_allclose(ke.filters.normalize(x).numpy().ravel(), [0, 0.6, 1, 0.4], atol=1e-6)
    np.testing.assert_allclose(ke.filters.positive_normalize(x).numpy().ravel(), [0, 1 / 3, 1, 0], atol=1e-6)
    np.testing.assert_allclose(ke.filters.absolute_normalize(x).numpy().ravel(), [2 / 3, 1 / 3, 1, 0], atol=1e-6)
    np.testing.assert_array_equal(ke.filters.normalize(np.ones((1, 2, 2, 1))).numpy(), np.zeros((1, 2, 2, 1)))
    np.testing.assert_array_equal(ke.filters.negative(x).numpy().ravel(), [-2, 0, 0, 0])


def test_unsupported_arguments_say_so(logits_model):
    x, y = labels_and_inputs()
    with pytest.raises(ValueError, match="spatial_axis"):
        ke.methods.cams.gradcam(logits_model, x, y, spatial_axis=(1, 2, 3))
    with pytest.raises(ValueError, match="indices"):
        ke.methods.cams.gradcam(logits_model, x, y[:, 0])


def engine_noise(shape, j, seed=0):
    """The engine's stateless noise for sample j: N(0, 1) drawn from (seed, j)."""
    return tf.random.stateless_normal(shape, seed=tf.constant([seed, j], tf.int64)).numpy()


def gradcam_maps(model, x, y):
    A, _, J = activations_and_jacobian(model, x, y)
    return np.einsum("bhwk,bck->bhwc", A, J.mean(axis=(2, 3)))


def test_smooth_counts_the_clean_input(logits_model):
    x, y = labels_and_inputs()
    x, y = x[:2], y[:2]
    r, noise = 3, 0.3
    copies = [x] + [x + noise * engine_noise(x.shape[1:], j, seed=2)[None] for j in range(r - 1)]
    expected = sum(gradcam_maps(logits_model, c, y) for c in copies) / r
    # keras-explainable's docs form, with the import changed (and a seed)
    smoothgrad = ke.methods.meta.smooth(ke.methods.cams.gradcam, repetitions=r, noise=noise, seed=2)
    scores, maps = smoothgrad(ke.inspection.expose(logits_model), x, y)
    assert smoothgrad.__name__ == "gradcam_smooth"
    np.testing.assert_allclose(np.asarray(maps), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(scores), activations_and_jacobian(logits_model, x, y)[1], **TOL)
    _, once = ke.methods.meta.smooth(ke.methods.cams.gradcam, repetitions=1)(logits_model, x, y)
    np.testing.assert_allclose(np.asarray(once), gradcam_maps(logits_model, x, y), **TOL)
    _, via_explain = ke.explain(smoothgrad, logits_model, x, y, resizing=False)
    np.testing.assert_allclose(via_explain, expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="meta.smooth"):
        ke.methods.meta.smooth(ke.methods.cams.gradcampp)


def input_gradients(model, x, y):
    """mean_c |d out[y] / dx| of each input for its one unit y (B, 1): (B, H, W, 1)."""
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = tf.gather(model(xt), y, axis=-1, batch_dims=1)
    return np.abs(tape.gradient(out, xt).numpy()).mean(-1, keepdims=True)


@pytest.mark.parametrize("hflip, scales", [(True, [0.5, 1.5, 2.0]), (False, [2.0])])
def test_tta_keras_explainable_count(variable_model, hflip, scales):
    x, y = images(2, seed=23), np.array([[1], [3]])
    total = np.zeros((2, 12, 12, 1), np.float32)
    for scale in [None] + scales:
        for flip in ([False, True] if hflip else [False]):
            z = tf.image.flip_left_right(x) if flip else tf.convert_to_tensor(x)
            if scale is not None:
                z = tf.image.resize(z, (int(12 * scale),) * 2, method="bilinear")
            m = input_gradients(variable_model, z.numpy(), y)
            if flip:
                m = tf.image.flip_left_right(m).numpy()
            total += tf.image.resize(m, (12, 12), method="bilinear").numpy()
    expected = total / (len(scales) * (2 if hflip else 1))
    augmented = ke.methods.meta.tta(ke.methods.gradient.gradients, scales=scales, hflip=hflip)
    _, maps = augmented(variable_model, x, y)
    assert augmented.__name__ == "gradients_tta"
    np.testing.assert_allclose(np.asarray(maps), expected, rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="resize_method"):
        ke.methods.meta.tta(ke.methods.gradient.gradients, resize_method="nearest")


def test_scorecam_normalised_masks_raw_logits(logits_model):
    x, y = labels_and_inputs()
    A, logits, _ = activations_and_jacobian(logits_model, x, y)
    expected = np.zeros((3, 12, 12, 2), np.float32)
    for k in range(A.shape[-1]):
        a = A[..., k:k + 1] - A[..., k:k + 1].min(axis=(1, 2), keepdims=True)
        top = a.max(axis=(1, 2), keepdims=True)
        a = np.divide(a, top, out=np.zeros_like(a), where=top != 0)
        mask = tf.image.resize(a, (12, 12)).numpy()  # (B, 12, 12, 1)
        s = np.take_along_axis(logits_model(x * mask).numpy(), y, axis=-1)  # (B, L)
        expected += s[:, None, None, :] * mask
    scores, maps = ke.methods.cams.scorecam(ke.inspection.expose(logits_model), x, y)
    assert maps.shape == (3, 12, 12, 2)
    np.testing.assert_allclose(np.asarray(scores), logits, **TOL)
    np.testing.assert_allclose(np.asarray(maps), expected, rtol=1e-4, atol=1e-5)


def run_layers(model, x, keep=()):
    """``model`` (a chain) run layer by layer on ``x``: its output and the outputs of the
    layers named in ``keep`` (after their fused activations), under the caller's tape."""
    h, kept = x, {}
    for layer in model.layers[1:]:
        h = layer(h)
        if layer.name in keep:
            kept[layer.name] = h
    return h, kept


def gap_gradcam(model, x, y):
    """keras-explainable's Grad-CAM written plainly at the layer feeding global pooling:
    ``sum_k mean_ij(dy_c/dA^k) A^k`` ``(B, h, w, L)`` for the units ``y`` ``(B, L)``."""
    name = model.get_layer(index=-2).input._keras_history[0].name
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        out, kept = run_layers(model, xt, keep=(name,))
        units = tf.gather(out, y, axis=-1, batch_dims=1)
    A = kept[name]
    J = tape.batch_jacobian(units, A).numpy()  # (B, L, h, w, K)
    return np.einsum("bhwk,bck->bhwc", A.numpy(), J.mean(axis=(2, 3)))


def test_tta_of_a_cam_resizes_each_map_onto_the_input(variable_model):
    """keras-explainable's tta source written out: each copy resized to int(s * size)
    (13 * 0.7 = 9.1 -> 9), its CAM (at the copy's layer grid: 7 x 7 and 5 x 5) flipped
    back and resized bilinearly onto the input, summed, divided by
    len(scales) * (2 if hflip else 1)."""
    size, scales, hflip = 13, [0.7], True
    x, y = images(2, seed=24, size=size), np.array([[1, 0], [3, 2]])
    total = np.zeros((2, size, size, 2), np.float32)
    for scale in [None] + scales:
        for flip in ([False, True] if hflip else [False]):
            z = tf.image.flip_left_right(x) if flip else tf.convert_to_tensor(x)
            if scale is not None:
                z = tf.image.resize(z, (int(size * scale),) * 2, method="bilinear")
            m = gap_gradcam(variable_model, z.numpy(), y)
            if flip:
                m = tf.image.flip_left_right(m).numpy()
            total += tf.image.resize(m, (size, size), method="bilinear").numpy()
    expected = total / (len(scales) * (2 if hflip else 1))
    augmented = ke.methods.meta.tta(ke.methods.cams.gradcam, scales=scales, hflip=hflip)
    scores, maps = augmented(ke.inspection.expose(variable_model), x, y)
    assert augmented.__name__ == "gradcam_tta" and maps.shape == (2, size, size, 2)
    np.testing.assert_allclose(np.asarray(maps), expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(np.asarray(scores), np.take_along_axis(variable_model(x).numpy(), y, -1), **TOL)


def test_tta_of_scorecam(variable_model):
    """cams.scorecam (maps at the copy's input size) through tta without flips: the
    written-out tta over the facade's own (formula-tested) method on the clean input and
    one half-size copy."""
    x, y = images(1, seed=25), np.array([[2]])
    model = ke.inspection.expose(variable_model)
    expected = 0.0
    for size in (12, 6):
        m = np.asarray(ke.methods.cams.scorecam(model, tf.image.resize(x, (size, size)).numpy(), y)[1])
        expected = expected + tf.image.resize(m, (12, 12)).numpy()
    _, maps = ke.methods.meta.tta(ke.methods.cams.scorecam, scales=[0.5], hflip=False)(model, x, y)
    np.testing.assert_allclose(np.asarray(maps), expected, rtol=1e-4, atol=1e-5)


@pytest.fixture(scope="module")
def biased_model():
    """Convolutions with fused ReLUs, a batch normalisation with moving statistics and
    nonzero biases (one bias entry 0), a linear Dense of logits."""
    model = conv_classifier(12, "biased_model", (12, 12, 3), lambda: [
        L.Conv2D(4, 3, padding="same", activation="relu", name="c1"), L.BatchNormalization(name="bn"),
        L.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="c2"),
        L.GlobalAveragePooling2D(name="gap"), L.Dense(NUM_CLASSES, name="logits"),
    ])
    rng = np.random.default_rng(12)
    model.get_layer("bn").set_weights(
        [rng.uniform(0.5, 1.5, 4), rng.normal(size=4), rng.normal(size=4) * 0.3, rng.uniform(0.5, 2.0, 4)]
    )
    for name, bias in (("c1", [0.2, -0.1, 0.0, 0.3]), ("c2", rng.normal(size=6) * 0.2)):
        layer = model.get_layer(name)
        layer.set_weights([layer.get_weights()[0], np.asarray(bias, np.float32)])
    return model


def full_gradients_reference(model, x, y, names):
    """keras-explainable's full_gradients written plainly: S = the sum of the gathered
    units, psi(t) = channel mean of |t| min-maxed per channel over (h, w) (0 where
    constant), psi(dS/dx * x) + sum_l resize(psi(dS/dz_l * b_l)), z_l the layer outputs
    after their activations, b_l the bias (batch normalisation folded by hand)."""

    def psi(t):
        t = np.abs(t)
        low, high = t.min(axis=(1, 2), keepdims=True), t.max(axis=(1, 2), keepdims=True)
        return np.divide(t - low, high - low, out=np.zeros_like(t), where=high > low).mean(-1, keepdims=True)

    def bias(layer):
        if isinstance(layer, L.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            return beta - mean * gamma / np.sqrt(var + 1e-7)
        return layer.bias.numpy()

    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out, kept = run_layers(model, xt, keep=names)
        units = tf.gather(out, y, axis=-1, batch_dims=1)
        total = tf.reduce_sum(units)
    grads = tape.gradient(total, [xt] + [kept[n] for n in names])
    maps = psi((grads[0] * xt).numpy())
    for name, g in zip(names, grads[1:]):
        maps = maps + tf.image.resize(psi(g.numpy() * bias(model.get_layer(name))), x.shape[1:3]).numpy()
    return units.numpy(), maps


def test_full_gradients_formula(biased_model):
    x, y = labels_and_inputs()
    units, expected = full_gradients_reference(biased_model, x, y, ("c1", "bn", "c2"))
    # keras-explainable's docs form, with the import changed
    logits = ke.inspection.get_logits_layer(biased_model)
    inters, biases = ke.inspection.layers_with_biases(biased_model, exclude=[logits])
    model = ke.inspection.expose(biased_model, inters, logits)
    scores, maps = ke.methods.gradient.full_gradients(model, x, y, biases=biases)
    assert maps.shape == (3, 12, 12, 1)
    np.testing.assert_allclose(np.asarray(scores), units, **TOL)
    np.testing.assert_allclose(np.asarray(maps), expected, **TOL)
    _, explained = ke.explain(ke.methods.gradient.full_gradients, model, x, y, biases=biases,
                              postprocessing=ke.filters.normalize)
    np.testing.assert_allclose(explained, ke.filters.normalize(expected).numpy(), **TOL)
    _, shortcut = ke.full_gradients(model, x, y)  # normalize, no resizing: its defaults
    np.testing.assert_allclose(shortcut, explained, **TOL)
    # the default exposure: the layer feeding global pooling only
    _, default = ke.methods.gradient.full_gradients(biased_model, x, y)
    np.testing.assert_allclose(np.asarray(default), full_gradients_reference(biased_model, x, y, ("c2",))[1], **TOL)


def test_full_gradients_smooth_and_checks(biased_model):
    x, y = labels_and_inputs()
    x, y = x[:2], y[:2]
    model = ke.inspection.expose(biased_model, ["c2"])
    copies = [x, x + 0.2 * engine_noise(x.shape[1:], 0, seed=4)[None]]
    expected = sum(full_gradients_reference(biased_model, c, y, ("c2",))[1] for c in copies) / 2
    smoothed = ke.methods.meta.smooth(ke.methods.gradient.full_gradients, repetitions=2, noise=0.2, seed=4)
    _, maps = smoothed(model, x, y, biases=[biased_model.get_layer("c2").bias])
    np.testing.assert_allclose(np.asarray(maps), expected, **TOL)
    with pytest.raises(ValueError, match="psi"):
        ke.methods.gradient.full_gradients(model, x, y, psi=ke.filters.normalize)
    with pytest.raises(ValueError, match="has none"):
        ke.methods.gradient.full_gradients(ke.inspection.expose(biased_model, ["gap"]), x, y)
    with pytest.raises(ValueError, match="zero"):
        ke.methods.gradient.full_gradients(model, x, y, biases=[np.zeros(6, np.float32)])
    with pytest.raises(ValueError, match="one activation layer"):
        ke.methods.cams.gradcam(ke.inspection.expose(biased_model, ["c1", "c2"]), x, y)

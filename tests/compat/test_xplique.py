"""The Xplique facade against Xplique 2.0's formulas written plainly (GradientTape + numpy).

Xplique's conventions restated here: score ``sum(f(x) * y)`` on the model's output as
it is (softmax included), one-hot ``y`` ``(N, K)``; gradient maps reduced over channels
with the mean (``reducer="mean"``) to ``(N, H, W, 1)``; Grad-CAM ``ReLU(sum_k mean_ij(g) A)``
resized with ``tf.image.resize(..., BICUBIC)``, not normalised; Integrated Gradients on
``linspace(0, 1, steps)`` with the trapezoid mean; Occlusion sums the drops of the
patches covering a pixel; Grad-CAM++ takes spatial means; SmoothGrad, SquareGrad and
VarGrad (unbiased) are per-channel statistics of gradients at absolute Gaussian noise,
reduced afterwards; RISE divides by the per-pixel mask sum.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from eli5_keras.compat import xplique as xq

from helpers.data import NUM_CLASSES, images
from helpers.models import conv_classifier

L = keras.layers
TOL = dict(rtol=1e-4, atol=1e-6)


@pytest.fixture(scope="module")
def relu_model():
    """Only ReLU nonlinearities (as separate layers), a softmax output."""
    return conv_classifier(7, "relu_model", (12, 12, 3), lambda: [
        L.Conv2D(4, 3, padding="same", name="c1"), L.ReLU(name="r1"),
        L.Conv2D(6, 3, strides=2, padding="same", name="c2"), L.ReLU(name="r2"),
        L.GlobalAveragePooling2D(name="gap"), L.Dense(NUM_CLASSES, activation="softmax", name="dense"),
    ])


def one_hot(classes):
    return np.eye(NUM_CLASSES, dtype=np.float32)[classes]


def run(model, x, stop=None, relu=None):
    """The Sequential's layers one by one; ``stop``: also return that layer's output;
    ``relu``: replaces every ReLU layer."""
    h, tapped = tf.convert_to_tensor(x), None
    for layer in model.layers[1:]:  # after the InputLayer
        h = relu(h) if relu is not None and isinstance(layer, L.ReLU) else layer(h)
        if layer.name == stop:
            tapped = h
    return h, tapped


def input_gradient(model, x, y, relu=None, score=None):
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out, _ = run(model, x, relu=relu)
        s = tf.reduce_sum(out * y, axis=-1) if score is None else score(out)
    return tape.gradient(s, x).numpy()


def test_gradcam_formula(relu_model):
    x, y = images(3), one_hot([0, 3, 1])
    with tf.GradientTape() as tape:
        out, A = run(relu_model, x, stop="c2")
        s = tf.reduce_sum(out * y, axis=-1)
    g = tape.gradient(s, A).numpy()
    A = A.numpy()
    cam = np.maximum((A * g.mean(axis=(1, 2), keepdims=True)).sum(-1), 0)
    expected = tf.image.resize(cam[..., None], (12, 12), method="bicubic").numpy()
    got = xq.GradCAM(relu_model).explain(x, y)  # default conv layer: the last with filters, c2
    assert isinstance(got, tf.Tensor) and got.shape == (3, 12, 12, 1)
    np.testing.assert_allclose(got.numpy(), expected, **TOL)
    named = xq.GradCAM(relu_model, conv_layer="c1").explain(x, y)
    with tf.GradientTape() as tape:
        out, A1 = run(relu_model, x, stop="c1")
        s = tf.reduce_sum(out * y, axis=-1)
    g1 = tape.gradient(s, A1).numpy()
    cam1 = np.maximum((A1.numpy() * g1.mean(axis=(1, 2), keepdims=True)).sum(-1), 0)
    expected1 = tf.image.resize(cam1[..., None], (12, 12), method="bicubic").numpy()
    np.testing.assert_allclose(named.numpy(), expected1, **TOL)


def test_saliency_gradient_input(relu_model):
    x, y = images(2, seed=1), one_hot([2, 4])
    g = input_gradient(relu_model, x, y)
    np.testing.assert_allclose(xq.Saliency(relu_model).explain(x, y).numpy(), np.abs(g).max(-1)[..., None], **TOL)
    gi = xq.GradientInput(relu_model).explain(x, y).numpy()
    np.testing.assert_allclose(gi, (x * g).mean(-1)[..., None], **TOL)
    summed = xq.GradientInput(relu_model, reducer="sum").explain(x, y).numpy()
    np.testing.assert_allclose(summed, (x * g).sum(-1)[..., None], **TOL)


@pytest.mark.parametrize("steps, baseline", [(50, 0.0), (7, 0.25)])
def test_integrated_gradients_formula(relu_model, steps, baseline):
    x, y = images(2, seed=2), one_hot([1, 1])
    x0 = np.full_like(x, baseline)
    grads = np.stack([input_gradient(relu_model, x0 + a * (x - x0), y) for a in np.linspace(0, 1, steps)])
    mean_grad = ((grads[:-1] + grads[1:]) / 2).mean(axis=0)
    expected = ((x - x0) * mean_grad).mean(-1)[..., None]
    got = xq.IntegratedGradients(relu_model, steps=steps, baseline_value=baseline).explain(x, y)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:.*nonlinearities other than ReLU")
def test_guided_backprop_and_deconvnet_formulas(relu_model):
    x, y = images(2, seed=3), one_hot([0, 2])

    @tf.custom_gradient
    def guided(z):
        return tf.nn.relu(z), lambda dy: tf.nn.relu(dy) * tf.cast(z > 0, dy.dtype)

    @tf.custom_gradient
    def deconv(z):
        return tf.nn.relu(z), lambda dy: tf.nn.relu(dy)

    for cls, rule in ((xq.GuidedBackprop, guided), (xq.DeconvNet, deconv)):
        expected = input_gradient(relu_model, x, y, relu=rule).mean(-1)[..., None]
        np.testing.assert_allclose(cls(relu_model).explain(x, y).numpy(), expected, **TOL)


@pytest.mark.parametrize("patch, stride, value", [(3, 3, 0.0), (4, 2, 0.5)])
def test_occlusion_formula(relu_model, patch, stride, value):
    x, y = images(2, seed=4), one_hot([3, 0])
    base = (relu_model(x).numpy() * y).sum(-1)
    expected = np.zeros(x.shape[:3], np.float32)
    for i in range(0, 12 - patch + 1, stride):
        for j in range(0, 12 - patch + 1, stride):
            occluded = x.copy()
            occluded[:, i:i + patch, j:j + patch, :] = value
            drop = base - (relu_model(occluded).numpy() * y).sum(-1)
            expected[:, i:i + patch, j:j + patch] += drop[:, None, None]
    got = xq.Occlusion(relu_model, patch_size=patch, patch_stride=stride, occlusion_value=value).explain(x, y)
    np.testing.assert_allclose(got.numpy(), expected[..., None], rtol=1e-4, atol=1e-6)


def test_weighting_targets_are_the_default_operator(relu_model):
    x = images(2, seed=5)
    w = np.random.default_rng(0).normal(size=(2, NUM_CLASSES)).astype(np.float32)
    np.testing.assert_allclose(
        xq.Saliency(relu_model).explain(x, w).numpy(),
        np.abs(input_gradient(relu_model, x, w)).max(-1)[..., None], **TOL,
    )


def test_callable_and_named_operators(relu_model):
    x, y = images(2, seed=6), one_hot([4, 1])

    def doubled(f, inputs, targets):
        return 2.0 * tf.reduce_sum(f(inputs) * targets, axis=-1)

    g = input_gradient(relu_model, x, y)
    got = xq.GradientInput(relu_model, operator=doubled).explain(x, y).numpy()
    np.testing.assert_allclose(got, 2 * (x * g).mean(-1)[..., None], **TOL)
    for name in ("classification", "regression"):
        np.testing.assert_allclose(
            xq.GradientInput(relu_model, operator=name).explain(x, y).numpy(), (x * g).mean(-1)[..., None], **TOL
        )
    with pytest.raises(ValueError, match="operator"):
        xq.Saliency(relu_model, operator="detection")


def test_output_layer_scores_that_layer(func_model):
    x, y = images(2, seed=7), one_hot([0, 1])
    logits = keras.Model(func_model.inputs, func_model.get_layer("f_logits").output)
    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        s = tf.reduce_sum(logits(xt) * y, axis=-1)
    g = tape.gradient(s, xt).numpy()
    got = xq.Saliency(func_model, output_layer="f_logits").explain(x, y).numpy()
    np.testing.assert_allclose(got, np.abs(g).max(-1)[..., None], **TOL)
    by_index = xq.Saliency(func_model, output_layer=-2).explain(x, y).numpy()
    np.testing.assert_allclose(by_index, got, **TOL)


def test_dataset_tensor_and_default_targets(relu_model):
    x = images(3, seed=8)
    top = one_hot(relu_model(x).numpy().argmax(-1))
    explainer = xq.Saliency(relu_model, batch_size=2)
    expected = explainer.explain(x, top).numpy()
    np.testing.assert_allclose(explainer.explain(x).numpy(), expected, **TOL)
    np.testing.assert_allclose(explainer(tf.constant(x), tf.constant(top)).numpy(), expected, **TOL)
    for ds in (tf.data.Dataset.from_tensor_slices((x, top)), tf.data.Dataset.from_tensor_slices((x, top)).batch(2)):
        np.testing.assert_allclose(explainer.explain(ds).numpy(), expected, **TOL)
    with pytest.raises(ValueError, match="targets"):
        explainer.explain(tf.data.Dataset.from_tensor_slices((x, top)), top)
    with pytest.raises(ValueError, match="targets"):
        explainer.explain(x, top[:, :3])
    with pytest.raises(ValueError, match="reducer"):
        xq.GradientInput(relu_model, reducer="max")


def test_xplique_readme_example_runs_unchanged(relu_model):
    # Xplique's README, with only the import changed.
    from eli5_keras.compat.xplique import GradCAM, Saliency, IntegratedGradients

    model = relu_model
    X, Y = images(2, seed=9), one_hot([0, 1])
    for explainer in (Saliency(model), GradCAM(model), IntegratedGradients(model, steps=10)):
        explanations = explainer.explain(X, Y)
        assert explanations.shape == (2, 12, 12, 1)


def test_gradcampp_xplique_means(relu_model):
    x, y = images(2, seed=10), one_hot([1, 4])
    with tf.GradientTape() as tape:
        out, A = run(relu_model, x, stop="c2")
        s = tf.reduce_sum(out * y, axis=-1)
    g = tape.gradient(s, A).numpy()
    A = A.numpy()
    den = 2 * g ** 2 + g ** 3 * A.mean(axis=(1, 2), keepdims=True)
    den = den + (den == 0) * 1e-4  # Xplique's guard
    weights = (g ** 2 / den * np.maximum(g, 0)).mean(axis=(1, 2), keepdims=True)
    cam = np.maximum((A * weights).sum(-1), 0)
    expected = tf.image.resize(cam[..., None], (12, 12), method="bicubic").numpy()
    got = xq.GradCAMPP(relu_model).explain(x, y)
    assert got.shape == (2, 12, 12, 1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-7)


def noisy_gradients(model, x, y, samples, noise, seed=0):
    """(samples, N, H, W, C): gradients at x + noise * eps_j, eps_j the stateless normal
    draw of (seed, j) with the shape of one input (plus its trailing axis of 1)."""
    grads = []
    for j in range(samples):
        eps = tf.random.stateless_normal(x.shape[1:] + (1,), seed=tf.constant([seed, j], tf.int64)).numpy()[..., 0]
        grads.append(input_gradient(model, x + noise * eps, y))
    return np.stack(grads)


def test_gradient_statistics_per_channel(relu_model):
    x, y = images(2, seed=11), one_hot([2, 0])
    g = noisy_gradients(relu_model, x, y, 6, 0.3, seed=4)
    mean, square = g.mean(0), (g ** 2).mean(0)
    var = 6 / 5 * (square - mean ** 2)
    common = dict(nb_samples=6, noise=0.3, seed=4)
    np.testing.assert_allclose(xq.SmoothGrad(relu_model, **common).explain(x, y).numpy(),
                               mean.mean(-1, keepdims=True), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(xq.SquareGrad(relu_model, reducer="max", **common).explain(x, y).numpy(),
                               square.max(-1, keepdims=True), rtol=1e-4, atol=1e-8)
    got = xq.VarGrad(relu_model, reducer=None, **common)(x, y).numpy()
    assert got.shape == (2, 12, 12, 3)
    np.testing.assert_allclose(got, var, rtol=2e-3, atol=1e-8)


@pytest.mark.filterwarnings("ignore::eli5_keras.result.EmptyMapWarning")
def test_gradient_statistics_without_noise(relu_model):
    # invariants: no noise -> SmoothGrad is the gradient, VarGrad 0, SquareGrad g^2
    x, y = images(2, seed=12), one_hot([3, 3])
    g = input_gradient(relu_model, x, y)
    np.testing.assert_allclose(xq.SmoothGrad(relu_model, nb_samples=3, noise=0.0, reducer="sum").explain(x, y).numpy(),
                               g.sum(-1, keepdims=True), **TOL)
    np.testing.assert_allclose(xq.VarGrad(relu_model, nb_samples=3, noise=0.0).explain(x, y).numpy(), 0.0, atol=1e-10)
    np.testing.assert_allclose(xq.SquareGrad(relu_model, nb_samples=2, noise=0.0, reducer="min").explain(x, y).numpy(),
                               (g ** 2).min(-1, keepdims=True), rtol=1e-4, atol=1e-10)
    with pytest.raises(ValueError, match="nb_samples"):
        xq.VarGrad(relu_model, nb_samples=1)
    with pytest.raises(ValueError, match="reducer"):
        xq.SmoothGrad(relu_model, reducer="median")


@pytest.mark.filterwarnings("ignore::eli5_keras.result.EmptyMapWarning")
def test_rise_mask_sum_formula(relu_model):
    x, y = images(2, seed=13), one_hot([0, 2])
    n, s, p1, value = 12, 4, 0.6, 0.25
    grids = tf.cast(tf.random.stateless_uniform([n, s, s], seed=tf.constant([5, 0], tf.int64)) < p1, tf.float32)
    cell = -(-12 // s)
    shifts = np.floor(tf.random.stateless_uniform([n, 2], seed=tf.constant([5, 1], tf.int64)).numpy() * cell)
    up = tf.image.resize(grids[..., None], ((s + 1) * cell,) * 2, method="bilinear").numpy()[..., 0]
    masks = np.stack([up[i, int(a):int(a) + 12, int(b):int(b) + 12] for i, (a, b) in enumerate(shifts)])
    num, den = np.zeros((2, 12, 12)), masks.sum(0)
    for m in masks:
        masked = x * m[None, ..., None] + (1 - m[None, ..., None]) * value
        num += (relu_model(masked).numpy() * y).sum(-1)[:, None, None] * m
    expected = (num / (den + 1e-7))[..., None]
    got = xq.Rise(relu_model, nb_samples=n, grid_size=s, preservation_probability=p1, mask_value=value,
                  seed=5, batch_size=5).explain(x, y)
    assert got.shape == (2, 12, 12, 1)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-4, atol=1e-6)
    # invariant: masks that keep everything give the score itself at every pixel
    kept = xq.Rise(relu_model, nb_samples=3, preservation_probability=1.0).explain(x, y).numpy()
    np.testing.assert_allclose(kept, np.broadcast_to((relu_model(x).numpy() * y).sum(-1)[:, None, None, None], kept.shape),
                               rtol=1e-5)


@pytest.mark.filterwarnings("ignore:.*nonlinearities other than ReLU")
def test_layer_call_left_bound_by_another_library():
    # Xplique's end_watch_layer leaves ``layer.call = layer.call.__wrapped__``: a method
    # stored on the instance, bound to the layer. The engine's layer copies must still
    # read their own (linear) activation, so the DeconvNet rule applies at that ReLU.
    model = conv_classifier(7, "bound_call_model", (12, 12, 3), lambda: [
        L.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
        L.GlobalAveragePooling2D(name="gap"), L.Dense(NUM_CLASSES, activation="softmax", name="dense"),
    ])
    conv = model.get_layer("c1")
    conv.call = conv.call  # what Xplique's GradCAM leaves behind
    x, y = images(2, seed=14), one_hot([1, 2])

    @tf.custom_gradient
    def deconv(z):
        return tf.nn.relu(z), lambda dy: tf.nn.relu(dy)

    xt = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        z = keras.ops.conv(xt, conv.kernel, padding="same") + conv.bias
        out = model.get_layer("dense")(model.get_layer("gap")(deconv(z)))
        s = tf.reduce_sum(out * y, axis=-1)
    expected = tape.gradient(s, xt).numpy().mean(-1)[..., None]
    np.testing.assert_allclose(xq.DeconvNet(model).explain(x, y).numpy(), expected, **TOL)


def test_gradient_statistics_leave_the_model_alone(relu_model):
    # the (H, W, C, 1) view calls the model on tensors: no symbolic node is added to it
    nodes = len(relu_model._inbound_nodes)
    weights = [w.copy() for w in relu_model.get_weights()]
    xq.SmoothGrad(relu_model, nb_samples=2).explain(images(1, seed=15), one_hot([1]))
    assert len(relu_model._inbound_nodes) == nodes
    for before, after in zip(weights, relu_model.get_weights()):
        np.testing.assert_array_equal(before, after)

"""The gradient CAM family at a layer (every GradientCAM in the registry: Grad-CAM,
Grad-CAM++, XGrad-CAM, LayerCAM, HiResCAM, Grad-CAM element-wise, Eigen-Grad-CAM),
Eigen-CAM (and CAM end to end).

Every expectation is the formula written plainly in numpy (float64), applied to random
``A``/``g`` or to ``A``/``g`` computed by hand with a GradientTape on layers called
one by one; nothing from eli5_keras computes an expected value.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras import methods
from eli5_keras.explain import get_explainer
from eli5_keras.methods.eigencam import first_component
from eli5_keras.methods.eigengradcam import EigenGradCAM
from eli5_keras.methods.gradcam_plus_plus import GradCAMPlusPlus
from eli5_keras.methods.xgradcam import XGradCAM

from helpers.checks import DEFAULT_OPTIONS, compiled_for
from helpers.data import images, signals, volumes
from helpers.methods import gradient_cams, one_pass_layer_methods, without_options
from helpers.reference import dense_logits, top_classes

L = keras.layers
RAW = dict(relu=False, normalize=False, resize=False)
PIPELINE = dict(use_logits=True, input_index=None, **RAW)
# from the registry: the GradientCAM subclasses (their cam() is checked against the
# formula), and with them the layer methods of one forward pass (Eigen-CAM, CAM)
GRADIENT_METHODS = gradient_cams()
ALL_METHODS = GRADIENT_METHODS + one_pass_layer_methods()


# --------------------------------------------------------------------------
# the formulas, plainly in numpy
# --------------------------------------------------------------------------


def spatial(g):
    """Spatial axes of a (N, T, *s, C) array."""
    return tuple(range(2, g.ndim - 1))


def channel_sum(a, w):
    """sum_k w[n, t, k] A[n, ..., k] -> (N, T, *s)."""
    return np.einsum("n...c,ntc->nt...", a, w)


def np_gradcam(a, g):
    return channel_sum(a, g.mean(axis=spatial(g)))


def np_gradcam_pp(a, g, normalize_alphas=True):
    axes = spatial(g)
    second = g**2
    third = g**3
    global_sum = a.sum(axis=tuple(range(1, a.ndim - 1)), keepdims=True)[:, None]
    den = 2 * second + third * global_sum
    alpha = second / np.where(den != 0, den, 1.0)
    if normalize_alphas:
        total = alpha.sum(axis=axes, keepdims=True)
        alpha = alpha / np.where(total != 0, total, 1.0)
    weights = (np.maximum(g, 0) * alpha).sum(axis=axes)
    return channel_sum(a, weights)


def np_xgradcam(a, g):
    axes = spatial(g)
    weights = (g * a[:, None]).sum(axis=axes) / (a[:, None].sum(axis=axes) + 1e-7)
    return channel_sum(a, weights)


def np_layercam(a, g):
    return (np.maximum(g, 0) * a[:, None]).sum(axis=-1)


def np_hirescam(a, g):
    return (g * a[:, None]).sum(axis=-1)


def np_gradcam_elementwise(a, g):
    return np.maximum(g * a[:, None], 0).sum(axis=-1)


def np_orient(p, xc):
    """The documented sign: positive correlation with the channel mean of the centred
    matrix; if that is exactly zero, flip when |min| > |max|."""
    corr = np.sum(p * xc.mean(axis=1))
    if corr != 0:
        return p * np.sign(corr)
    return -p if abs(p.min()) > abs(p.max()) else p


def np_projection(x, flip=False):
    """(Z, C) -> oriented projection on the first right singular vector of the centred
    x, from numpy's SVD; ``flip`` negates the singular vector first."""
    xc = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    v = -vt[0] if flip else vt[0]
    return np_orient(xc @ v, xc)


def np_eigencam(a, g):
    n, t = g.shape[:2]
    maps = np.stack([np_projection(x.reshape(-1, x.shape[-1])).reshape(x.shape[:-1]) for x in a])
    return np.broadcast_to(maps[:, None], (n, t) + maps.shape[1:])


def np_eigengradcam(a, g):
    prod = g * a[:, None]
    return np.stack(
        [
            np.stack([np_projection(m.reshape(-1, m.shape[-1])).reshape(m.shape[:-1]) for m in per_image])
            for per_image in prod
        ]
    )


REFERENCES = {
    "gradcam": np_gradcam,
    "gradcam++": np_gradcam_pp,
    "xgradcam": np_xgradcam,
    "layercam": np_layercam,
    "hirescam": np_hirescam,
    "gradcam_elementwise": np_gradcam_elementwise,
    "eigengradcam": np_eigengradcam,
    "eigencam": np_eigencam,
}
CLASSES = {name: methods.REGISTRY[name] for name in GRADIENT_METHODS}


def random_pair(shape, n=2, t=3, c=4, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n,) + shape + (c,))
    if positive:
        a = np.abs(a)
    g = rng.normal(size=(n, t) + shape + (c,))
    return a.astype(np.float32), g.astype(np.float32)


def close(actual, expected, rtol=1e-4):
    expected = np.asarray(expected, np.float64)
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


# --------------------------------------------------------------------------
# cam() / channel_weights() against the formulas on random A and g
# --------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
@pytest.mark.parametrize("name", list(CLASSES))
@pytest.mark.parametrize("positive", [False, True])
def test_cam_matches_the_formula(name, shape, positive):
    a, g = random_pair(shape, seed=len(shape), positive=positive)
    maps = CLASSES[name]().cam(tf.constant(a), tf.constant(g)).numpy()
    assert maps.shape == (2, 3) + shape
    close(maps, REFERENCES[name](a.astype(np.float64), g.astype(np.float64)))


@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
def test_gradcam_pp_without_alpha_normalisation(shape):
    a, g = random_pair(shape, seed=5, positive=True)
    maps = methods.get("gradcam++", normalize_alphas=False).cam(tf.constant(a), tf.constant(g)).numpy()
    expected = np_gradcam_pp(a.astype(np.float64), g.astype(np.float64), normalize_alphas=False)
    close(maps, expected)
    assert not np.allclose(expected, np_gradcam_pp(a.astype(np.float64), g.astype(np.float64)))


@pytest.mark.parametrize("shape", [(7,), (4, 3), (2, 3, 4)])
def test_channel_weights_shapes(shape):
    a, g = random_pair(shape, seed=6)
    for method in (GradCAMPlusPlus(), GradCAMPlusPlus(normalize_alphas=False), XGradCAM()):
        assert method.channel_weights(tf.constant(a), tf.constant(g)).shape == (2, 3, 4)


def test_xgradcam_weights_are_the_formula():
    a, g = random_pair((3, 5), seed=7, positive=True)
    weights = XGradCAM().channel_weights(tf.constant(a), tf.constant(g)).numpy()
    a64, g64 = a.astype(np.float64)[:, None], g.astype(np.float64)
    expected = (g64 * a64).sum(axis=(2, 3)) / (a64.sum(axis=(2, 3)) + 1e-7)
    close(weights, expected)


def test_gradcam_pp_weights_by_hand():
    # one image, one target, one channel, two positions: A = (1, 3), g = (2, -1)
    a = np.array([[[1.0], [3.0]]], np.float32)
    g = np.array([[[[2.0], [-1.0]]]], np.float32)
    # global sum 4; alpha = g^2 / (2 g^2 + g^3 * 4): 4 / (8 + 32) = 0.1, 1 / (2 - 4) = -0.5
    raw = GradCAMPlusPlus(normalize_alphas=False).channel_weights(tf.constant(a), tf.constant(g)).numpy()
    np.testing.assert_allclose(raw, [[[2.0 * 0.1]]], rtol=1e-6)
    # normalised: alpha / (0.1 - 0.5) = (-0.25, 1.25); only ReLU(g) = (2, 0) counts
    normalised = GradCAMPlusPlus().channel_weights(tf.constant(a), tf.constant(g)).numpy()
    np.testing.assert_allclose(normalised, [[[2.0 * -0.25]]], rtol=1e-6)


# --------------------------------------------------------------------------
# no NaN on degenerate inputs
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CLASSES))
def test_zero_gradients_and_constant_activations_give_finite_maps(name):
    a = np.ones((2, 4, 3, 3), np.float32)
    a[:, :, :, 1] = 0.0  # dead channel
    g = np.zeros((2, 2, 4, 3, 3), np.float32)
    g[:, 1] = 0.5  # second target: constant gradient
    maps = CLASSES[name]().cam(tf.constant(a), tf.constant(g)).numpy()
    assert np.isfinite(maps).all()
    np.testing.assert_array_equal(maps[:, 0], 0.0)
    close(maps, REFERENCES[name](a.astype(np.float64), g.astype(np.float64)))


def test_gradcam_pp_zero_denominator_is_guarded():
    # g * sum(A) = -2 makes 2 g^2 + g^3 sum(A) = 0: alpha = g^2 / 1 there.
    a = np.array([[[-1.0], [-1.0]]], np.float32)  # sum = -2
    g = np.array([[[[1.0], [0.0]]]], np.float32)
    for normalize_alphas in (True, False):
        w = GradCAMPlusPlus(normalize_alphas=normalize_alphas).channel_weights(tf.constant(a), tf.constant(g))
        np.testing.assert_allclose(w.numpy(), [[[1.0]]])


def test_xgradcam_zero_denominator_gives_zero_weight():
    a = np.zeros((1, 2, 2), np.float32)
    a[0, 0, 0] = -np.float32(1e-7)  # channel 0 sums to exactly -epsilon
    a[0, :, 1] = 1.0
    g = np.ones((1, 1, 2, 2), np.float32)
    weights = XGradCAM().channel_weights(tf.constant(a), tf.constant(g)).numpy()
    assert np.isfinite(weights).all()
    assert weights[0, 0, 0] == 0.0
    np.testing.assert_allclose(weights[0, 0, 1], 2.0 / (2.0 + 1e-7), rtol=1e-6)


@pytest.mark.parametrize("shape, channels", [((5,), 3), ((3, 3), 3), ((2, 2, 2), 3), ((6, 6), 40), ((8, 8), 40)])
def test_eigen_constant_activations_give_a_zero_map(shape, channels):
    # the last two take the subspace iteration (36 x 36 and 40 x 40 Gram matrices)
    a = np.full((2,) + shape + (channels,), 0.7, np.float32)
    g = np.full((2, 2) + shape + (channels,), -0.3, np.float32)
    maps = EigenGradCAM().cam(tf.constant(a), tf.constant(g)).numpy()
    assert np.isfinite(maps).all() and not maps.any()
    flat = tf.constant(a.reshape(2, -1, channels))
    projection = first_component(flat).numpy()
    assert np.isfinite(projection).all() and not projection.any()


def test_eigen_on_a_single_position():
    projection = first_component(tf.constant(np.ones((2, 1, 4), np.float32))).numpy()
    assert projection.shape == (2, 1) and not projection.any()


# --------------------------------------------------------------------------
# Eigen-CAM's sign
# --------------------------------------------------------------------------


def test_eigen_sign_does_not_depend_on_the_svd_sign():
    x = np.random.default_rng(0).normal(size=(20, 12, 5))
    ours = first_component(tf.constant(x.astype(np.float32))).numpy()
    centred = x - x.mean(axis=1, keepdims=True)
    for i in range(len(x)):
        plus, minus = np_projection(x[i]), np_projection(x[i], flip=True)
        np.testing.assert_array_equal(plus, minus)
        close(ours[i], plus)
        assert np.sum(ours[i] * centred[i].mean(axis=1)) > 0  # high where the layer is more active
    # the test is not vacuous: TF's own singular vectors come with both orientations here
    _, _, v = tf.linalg.svd(tf.constant(centred), full_matrices=False)
    raw = np.einsum("nzc,nc->nz", centred, v.numpy()[:, :, 0])
    assert len(set(np.sign(np.sum(raw * centred.mean(axis=2), axis=1)))) == 2


@pytest.mark.parametrize("shape", [(6, 40, 7), (6, 4, 30), (3, 7, 7)])
@pytest.mark.parametrize("static", [True, False])
def test_eigen_projection_matches_numpys_svd_from_either_gram_matrix(shape, static):
    # Z >= C uses the (C, C) Gram matrix, Z < C the (Z, Z) one; unknown shapes choose at run time.
    x = np.random.default_rng(1).gamma(2.0, size=shape).astype(np.float32)
    if static:
        ours = first_component(tf.constant(x)).numpy()
    else:
        spec = tf.TensorSpec((None, None, None), tf.float32)
        ours = tf.function(first_component, input_signature=[spec])(tf.constant(x)).numpy()
    for i in range(len(x)):
        close(ours[i], np_projection(x[i].astype(np.float64)), rtol=1e-4)


def layer_like(n, positions, channels, ratio=0.6, seed=2):
    """Activations whose principal components decay like a layer's: variance ratio**k on
    the k-th of ``channels`` rotated directions (the Gram matrices are >= 32 x 32, so
    first_component takes the subspace iteration, which converges on them)."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(channels, channels)))
    scales = np.sqrt(ratio ** np.arange(channels))
    return (rng.gamma(2.0, size=(n, positions, channels)) * scales) @ rotation + 3.0


@pytest.mark.parametrize("shape", [(3, 300, 64), (3, 40, 64)])
def test_eigen_projection_of_large_layers_matches_numpys_svd(shape):
    # (300, 64): the 64 x 64 channel Gram matrix; (40, 64): the 40 x 40 position one
    x = layer_like(*shape)
    ours = first_component(tf.constant(x.astype(np.float32))).numpy()
    for i in range(len(x)):
        close(ours[i], np_projection(x[i]), rtol=1e-4)


def test_eigen_constant_channels_contribute_nothing():
    x = layer_like(2, 300, 64)
    x[:, :, [3, 10, 40]] = [1e3, -7.0, 0.0]  # dead and saturated channels
    ours = first_component(tf.constant(x.astype(np.float32))).numpy()
    varying = np.delete(x, [3, 10, 40], axis=2)
    for i in range(len(x)):
        close(ours[i], np_projection(varying[i]), rtol=1e-4)


def test_eigen_sign_tie_break_is_the_larger_extreme():
    # channel 1 = -channel 0: the channel mean is 0 everywhere, so the correlation
    # is exactly 0 and the larger |extreme| decides (positive).
    x = np.array([[0.0, 0.0], [1.0, -1.0], [5.0, -5.0]])
    expected = np.sqrt(2.0) * np.array([-2.0, -1.0, 3.0])
    ours = first_component(tf.constant(x[None].astype(np.float32))).numpy()[0]
    close(ours, expected, rtol=1e-5)
    close(np_projection(x), expected)
    close(np_projection(x, flip=True), expected)


def homogeneous_model():
    """Bias-free ReLU convolutions, GAP and a bias-free Dense: scaling the input by s > 0
    scales every activation and logit by s. Its 8x8x40 layer takes the 40 x 40 channel
    Gram matrix (subspace iteration), its 4x4x40 layer the 16 x 16 position one."""
    keras.utils.set_random_seed(21)
    return keras.Sequential([
        keras.Input((8, 8, 3)),
        L.Conv2D(40, 3, padding="same", activation="relu", use_bias=False, name="wide"),
        L.Conv2D(40, 3, strides=2, padding="same", activation="relu", use_bias=False, name="narrow"),
        L.GlobalAveragePooling2D(),
        L.Dense(3, activation="softmax", use_bias=False),
    ])


@pytest.mark.parametrize("scale", [1e20, 1e-20])
@pytest.mark.parametrize("method", ["eigencam", "eigengradcam"])
def test_eigen_maps_do_not_depend_on_the_scale_of_the_input(method, scale):
    # Gram matrices of activations ~1e20 overflow float32 (eigh refused their infinities),
    # those of ~1e-20 underflow (a wrong map). Raw maps scale with the input.
    model = homogeneous_model()
    x = np.random.default_rng(22).uniform(size=(2, 8, 8, 3)).astype(np.float32)
    for layer in ("wide", "narrow"):
        raw = eli5.explain(model, x * np.float32(scale), method=method, layer=layer, top_k=2, **RAW).maps
        expected = eli5.explain(model, x, method=method, layer=layer, top_k=2, **RAW).maps
        assert raw.shape == expected.shape and np.isfinite(raw).all() and np.abs(expected).max() > 1e-3
        np.testing.assert_allclose(raw / np.float32(scale), expected, atol=1e-4 * np.abs(expected).max())


@pytest.mark.parametrize("method", ["eigencam", "eigengradcam"])
def test_eigen_maps_of_huge_inputs_are_the_maps_of_the_input(method):
    model = homogeneous_model()
    x = np.random.default_rng(23).uniform(size=(2, 8, 8, 3)).astype(np.float32)
    for layer in ("wide", "narrow"):
        expected = eli5.explain(model, x, method=method, layer=layer).maps
        huge = eli5.explain(model, x * np.float32(1e20), method=method, layer=layer).maps
        assert huge.shape == expected.shape == (2, 1, 8, 8) and expected.max() > 0.5
        np.testing.assert_allclose(huge, expected, atol=1e-4)


def test_eigencam_map_is_the_same_for_every_target(seq_model):
    result = eli5.explain(seq_model, images(2), method="eigencam", top_k=3, **RAW)
    assert result.maps.shape == (2, 3, 6, 6)
    np.testing.assert_array_equal(result.maps[:, 0], result.maps[:, 1])
    np.testing.assert_array_equal(result.maps[:, 0], result.maps[:, 2])
    assert len(set(result.targets[0].tolist())) == 3


def test_eigencam_needs_no_gradients(seq_model):
    # a score that does not depend on the layer: gradient methods refuse it, Eigen-CAM
    # (one forward pass, no tape) does not differentiate at all.
    x = images(2, seed=12)
    target = lambda outputs: tf.stop_gradient(outputs[:, 0])  # noqa: E731
    with pytest.raises(ValueError, match="does not depend on layer"):
        eli5.explain(seq_model, x, method="eigengradcam", targets=target, **RAW)
    result = eli5.explain(seq_model, x, method="eigencam", targets=target, **RAW)
    reference = eli5.explain(seq_model, x, method="eigencam", targets=0, **RAW)
    np.testing.assert_array_equal(result.maps, reference.maps)


# --------------------------------------------------------------------------
# Grad-CAM++ invariants on a GlobalAveragePooling -> Dense head
# --------------------------------------------------------------------------


def gap_dense_model(channels, kernel, seed):
    """Conv(relu) -> GAP -> Dense(kernel) -> softmax, with a given Dense kernel."""
    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 2))
    h = L.Conv2D(channels, 3, activation="relu", name="conv")(inp)  # 6x6
    h = L.GlobalAveragePooling2D()(h)
    out = L.Dense(kernel.shape[1], activation="softmax", name="dense")(h)
    model = keras.Model(inp, out)
    model.get_layer("dense").kernel.assign(kernel.astype(np.float32))
    return model


def conv_activations(model, x):
    return model.get_layer("conv")(tf.constant(x)).numpy().astype(np.float64)


def test_gradcam_pp_equals_gradcam_when_gradients_are_constant_and_positive():
    # dS/dA^k = W[k, c] / Z at every position; with W[:, c] >= 0, alpha = 1/Z after
    # normalisation and w_k = ReLU(W[k, c] / Z) = Grad-CAM's weight.
    kernel = np.random.default_rng(0).normal(size=(4, 3))
    kernel[:, 0] = np.abs(kernel[:, 0])
    model = gap_dense_model(4, kernel, seed=20)
    x = images(3, size=8, channels=2, seed=1)
    pp = eli5.explain(model, x, method="gradcam++", targets=0, **RAW).maps
    grad = eli5.explain(model, x, method="gradcam", targets=0, **RAW).maps
    close(pp, grad, rtol=1e-5)
    a = conv_activations(model, x)
    close(pp[:, 0], np.einsum("nijk,k->nij", a, kernel[:, 0] / 36.0), rtol=1e-5)


def test_gradcam_pp_drops_the_channels_of_negative_gradient():
    kernel = np.random.default_rng(1).normal(size=(4, 3))
    kernel[:2, 1], kernel[2:, 1] = [0.5, 1.5], [-1.0, -0.25]
    model = gap_dense_model(4, kernel, seed=21)
    x = images(2, size=8, channels=2, seed=2)
    pp = eli5.explain(model, x, method="gradcam++", targets=1, **RAW).maps[:, 0]
    a = conv_activations(model, x)
    close(pp, np.einsum("nijk,k->nij", a, np.maximum(kernel[:, 1], 0) / 36.0), rtol=1e-5)
    grad = eli5.explain(model, x, method="gradcam", targets=1, **RAW).maps[:, 0]
    assert not np.allclose(pp, grad, atol=1e-4)


def test_gradcam_pp_unnormalised_alphas_scale_gradcam_on_one_channel():
    # one channel, g = c = W / Z > 0: alpha = 1 / (2 + c sum(A)), w = Z c / (2 + c sum(A)),
    # i.e. Grad-CAM times the positive factor Z / (2 + c sum(A)) (per image).
    kernel = np.array([[0.8, -0.3]])
    model = gap_dense_model(1, kernel, seed=22)
    x = images(3, size=8, channels=2, seed=3)
    pp = eli5.explain(model, x, method="gradcam++", targets=0, normalize_alphas=False, **RAW).maps[:, 0]
    grad = eli5.explain(model, x, method="gradcam", targets=0, **RAW).maps[:, 0]
    a = conv_activations(model, x)
    c = 0.8 / 36.0
    factor = 36.0 / (2.0 + c * a.sum(axis=(1, 2, 3)))
    close(pp, grad * factor[:, None, None], rtol=1e-5)


# --------------------------------------------------------------------------
# end to end against A and g computed by hand
# --------------------------------------------------------------------------


def plain_layer_gradients(features, head, x, classes):
    """A (N, *s, C), g (N, T, *s, C) for the given classes, by GradientTape."""
    classes = np.asarray(classes)
    with tf.GradientTape(persistent=True) as tape:
        acts = features(tf.constant(x))
        tape.watch(acts)
        scores = head(acts)
        selected = [tf.reduce_sum(tf.gather(scores, classes[:, t], batch_dims=1)) for t in range(classes.shape[1])]
    grads = np.stack([tape.gradient(s, acts).numpy() for s in selected], axis=1)
    del tape
    return acts.numpy().astype(np.float64), grads.astype(np.float64), scores.numpy()


def pooled_head(dense):
    """Logits of GlobalAveragePooling -> Dense, by hand, for any rank."""
    return lambda a: dense_logits(dense, tf.reduce_mean(a, axis=list(range(1, len(a.shape) - 1))))


def chain(*layers):
    def features(x):
        for layer in layers:
            x = layer(x)
        return x

    return features


@pytest.fixture(scope="module")
def cases(seq_model, seq_parts, func_model, func_parts, nested_model, nested_parts, signal_model, volume_model):
    """name -> (model, layer, features, logits head, inputs, Dense layer after the pooling or None)."""
    sig = [signal_model.get_layer(n) for n in ("sig_conv1", "sig_conv2", "sig_dense")]
    vol = [volume_model.get_layer(n) for n in ("vol_conv1", "vol_conv2", "vol_dense")]
    return {
        "seq": (seq_model, None, seq_parts[0], seq_parts[1], images(3, seed=4), seq_model.get_layer("dense")),
        "func": (func_model, "f_conv2", func_parts[0], func_parts[1], images(3, seed=5), None),
        "nested": (
            nested_model, "backbone/b_conv2", nested_parts[0], nested_parts[1], images(2, seed=6),
            nested_model.get_layer("n_dense"),
        ),
        "signal": (signal_model, None, chain(*sig[:2]), pooled_head(sig[2]), signals(3, seed=7), sig[2]),
        "volume": (volume_model, None, chain(*vol[:2]), pooled_head(vol[2]), volumes(2, seed=8), vol[2]),
    }


def expected_maps(name, a, g, labels, dense):
    if name == "cam":
        kernel = dense.kernel.numpy().astype(np.float64)
        return channel_sum(a, np.transpose(kernel[:, labels], (1, 2, 0)))
    return REFERENCES[name](a, g)


# func_model's Flatten head does not fit CAM (its error is tested in test_cam.py)
END_TO_END = [
    (case, name)
    for case in ("seq", "func", "nested", "signal", "volume")
    for name in ALL_METHODS
    if not (case == "func" and name == "cam")
]


@pytest.mark.parametrize("case, name", END_TO_END)
def test_explain_matches_plain_tf(cases, case, name):
    model, layer, features, head, x, dense = cases[case]
    result = eli5.explain(model, x, method=name, layer=layer, top_k=2, **RAW)
    logits = head(features(tf.constant(x))).numpy()
    classes = top_classes(logits, 2)
    a, g, _ = plain_layer_gradients(features, head, x, classes)
    np.testing.assert_array_equal(result.targets, classes)
    probabilities = model(x, training=False).numpy()
    np.testing.assert_allclose(result.scores, np.take_along_axis(probabilities, classes, axis=1), rtol=1e-5)
    assert result.maps.shape == (len(x), 2) + a.shape[1:-1]
    assert np.isfinite(result.maps).all()
    close(result.maps, expected_maps(name, a, g, classes, dense), rtol=2e-4)


def test_gradcam_pp_is_not_gradcam_where_gradients_vary(cases):
    model, layer, features, head, x, _ = cases["func"]
    pp = eli5.explain(model, x, method="gradcam++", layer=layer, **RAW).maps
    grad = eli5.explain(model, x, method="gradcam", layer=layer, **RAW).maps
    assert not np.allclose(pp / np.abs(pp).max(), grad / np.abs(grad).max(), atol=1e-3)


# --------------------------------------------------------------------------
# batching and compilation
# --------------------------------------------------------------------------



@pytest.mark.parametrize("name", ALL_METHODS)
def test_batch_size_does_not_change_the_maps_and_no_retrace(seq_model, name):
    # the default pipeline (ReLU, min-max, resize onto the 12x12 input)
    x = images(5, seed=10)
    small = eli5.explain(seq_model, x, method=name, top_k=2, batch_size=1)
    large = eli5.explain(seq_model, x, method=name, top_k=2, batch_size=64)
    assert large.maps.shape == (5, 2, 12, 12)
    assert np.isfinite(large.maps).all() and large.maps.min() >= 0.0 and large.maps.max() <= 1.0
    np.testing.assert_allclose(small.maps, large.maps, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(small.targets, large.targets)
    np.testing.assert_allclose(small.scores, large.scores, rtol=1e-6)
    eli5.explain(seq_model, images(3, seed=11), method=name, top_k=2, batch_size=64)
    explainer = get_explainer(seq_model, name, None, **DEFAULT_OPTIONS)
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1


# --------------------------------------------------------------------------
# registry and options
# --------------------------------------------------------------------------


def test_registry_names_and_aliases():
    for name in ALL_METHODS:
        assert name in methods.available()
        assert methods.get(name).name == name
    assert isinstance(methods.get("gradcam_pp"), GradCAMPlusPlus)
    assert isinstance(methods.get("GradCAM-PP"), GradCAMPlusPlus)
    assert isinstance(methods.get("GradCAM++"), GradCAMPlusPlus)
    assert "gradcam_pp" not in methods.available()
    aliases = [alias for cls in methods.REGISTRY.values() for alias in cls.aliases]
    assert not set(aliases) & set(methods.available())


def test_alias_shares_the_explainer(seq_model):
    a = get_explainer(seq_model, "gradcam_pp", None, **PIPELINE)
    b = get_explainer(seq_model, "gradcam++", None, **PIPELINE)
    c = get_explainer(seq_model, "gradcam++", None, normalize_alphas=False, **PIPELINE)
    assert a is b and c is not a


def test_gradcam_pp_option_is_validated():
    with pytest.raises(TypeError, match="normalize_alphas must be True or False; got str: 'no'"):
        methods.get("gradcam++", normalize_alphas="no")
    assert methods.get("gradcam++").options() == {"normalize_alphas": True, "spatial_mean": False}
    with pytest.raises(TypeError, match="spatial_mean must be True or False"):
        methods.get("gradcam++", spatial_mean=1)


@pytest.mark.parametrize("name", without_options())
def test_methods_without_options_reject_them(name):
    with pytest.raises(TypeError, match=f"method '{name}'"):
        methods.get(name, steps=3)

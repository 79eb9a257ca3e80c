"""The Xplique facades ``SobolAttributionMethod`` and ``HsicAttributionMethod`` against
Xplique 2.0.2's ``GSABaseAttributionMethod.explain`` written out here: per image, the
design's masks ``(P, g, g, 1)`` upsampled with ``tf.image.resize(..., "nearest")``, the
input perturbed by them, the operator ``sum(f(x) * y)`` on the model's output (softmax
included), the estimator in numpy (Jansen on ``[A; B; C]``, ``f(B)`` unread; HSIC with
full Gram matrices), and the ``(g, g, 1)`` indices resized with
``tf.image.resize(..., "bicubic")``; also against the engine's grid-level indices
(``upsample=False``) resized the same way; Xplique's samplers, estimators and
perturbation functions; targets, operators, datasets and refused arguments."""
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.compat import xplique as xq

from helpers.data import NUM_CLASSES, images
from helpers.gsa import box_blur, plain_estimator, plain_hsic

TOL = dict(rtol=2e-3, atol=2e-6)


def one_hot(classes):
    return np.eye(NUM_CLASSES, dtype=np.float32)[classes]


def sobol_masks(grid, n):
    """Xplique's ``TFSobolSequenceRS``: ``[A; B; C_0; ...]`` from ``tf.math.sobol_sample(2d, N)``."""
    d = grid * grid
    ab = tf.math.sobol_sample(2 * d, n).numpy().astype(np.float64)
    a, b = ab[:, :d], ab[:, d:]
    c = []
    for i in range(d):
        ci = a.copy()
        ci[:, i] = b[:, i]
        c.append(ci)
    return np.concatenate([a, b] + c).reshape(-1, grid, grid)


def sobol_jansen(n, name="jansen"):
    return lambda s: plain_estimator(name, s[:n], s[2 * n:].reshape(-1, n))


def hsic_estimator(masks):
    design = masks.reshape(len(masks), -1)
    return lambda s: plain_hsic(s[None, None], design)[0, 0]


def xplique_explain(model, x, y, masks, estimator, perturbation="inpainting", score=None):
    """Xplique's explain loop, one image at a time."""
    size, grid = x.shape[1:3], masks.shape[1:]
    up = tf.image.resize(masks[..., None].astype(np.float32), size, method="nearest").numpy().astype(np.float64)
    out = []
    for inp, target in zip(x.astype(np.float64), y):
        if perturbation == "amplitude":
            copies = inp[None] * (up - 0.5)
        else:
            base = box_blur(inp[None])[0] if perturbation == "blurring" else np.zeros_like(inp)
            copies = inp[None] * up + (1.0 - up) * base[None]
        f = model(copies.astype(np.float32)).numpy().astype(np.float64)
        s = (f * target).sum(-1) if score is None else score(f, target)
        heat = estimator(s).reshape(grid + (1,)).astype(np.float32)
        out.append(tf.image.resize(heat, size, method="bicubic").numpy())
    return np.stack(out)


@pytest.mark.parametrize("perturbation", ["inpainting", "blurring", "amplitude"])
def test_sobol_is_xplique_written_out(seq_model, perturbation):
    x, y = images(2, seed=31), one_hot([1, 3])
    explainer = xq.SobolAttributionMethod(seq_model, grid_size=3, nb_design=8, perturbation_function=perturbation,
                                          batch_size=20)
    got = explainer.explain(x, y)
    assert isinstance(got, tf.Tensor) and got.shape == (2, 12, 12, 1)
    expected = xplique_explain(seq_model, x, y, sobol_masks(3, 8), sobol_jansen(8), perturbation)
    np.testing.assert_allclose(got.numpy(), expected, **TOL)
    # the engine's grid-level indices, resized as Xplique resizes
    coarse = eli5.explain(seq_model, x, method="sobol", grid=3, designs=8, perturbation=perturbation,
                          targets=[1, 3], upsample=False, relu=False, normalize=False).maps[:, 0]
    resized = tf.image.resize(coarse[..., None], (12, 12), method="bicubic").numpy()
    np.testing.assert_allclose(got.numpy(), resized, rtol=1e-5, atol=1e-8)


def test_hsic_is_xplique_written_out(seq_model):
    x, y = images(2, seed=32), one_hot([0, 4])
    got = xq.HsicAttributionMethod(seq_model, grid_size=3, nb_design=24, batch_size=10).explain(x, y)
    assert got.shape == (2, 12, 12, 1)
    masks = np.round(tf.math.sobol_sample(9, 24).numpy().astype(np.float64)).reshape(-1, 3, 3)
    np.testing.assert_allclose(got.numpy(), xplique_explain(seq_model, x, y, masks, hsic_estimator(masks)), **TOL)
    # seeded Latin hypercube: the engine's "lhs" design of that seed
    lhs = xq.HsicAttributionMethod(seq_model, grid_size=3, nb_design=24, sampler=xq.LatinHypercube(True, seed=4),
                                   perturbation_function=xq.blurring).explain(x, y)
    masks = xq.LatinHypercube(binary=True, seed=4)(9, 24).reshape(-1, 3, 3).astype(np.float64)
    assert set(np.unique(masks)) == {0.0, 1.0}
    expected = xplique_explain(seq_model, x, y, masks, hsic_estimator(masks), "blurring")
    np.testing.assert_allclose(lhs.numpy(), expected, **TOL)


def test_weights_operator_dataset_and_default_targets(seq_model):
    x = images(3, seed=33)
    w = np.random.default_rng(3).normal(size=(3, NUM_CLASSES)).astype(np.float32)
    masks = sobol_masks(2, 4)
    explainer = xq.SobolAttributionMethod(seq_model, grid_size=2, nb_design=4, estimator=xq.GlenEstimator())
    expected = xplique_explain(seq_model, x, w, masks, sobol_jansen(4, "glen"))
    np.testing.assert_allclose(explainer.explain(x, w).numpy(), expected, **TOL)

    def squared(f, inputs, targets):
        return tf.reduce_sum(f(inputs) * targets, axis=-1) ** 2

    got = xq.SobolAttributionMethod(seq_model, grid_size=2, nb_design=4, operator=squared,
                                    estimator=xq.GlenEstimator())(x, w)
    expected = xplique_explain(seq_model, x, w, masks, sobol_jansen(4, "glen"), score=lambda f, t: (f * t).sum(-1) ** 2)
    np.testing.assert_allclose(got.numpy(), expected, **TOL)
    top = one_hot(seq_model(x).numpy().argmax(-1))
    reference = explainer.explain(x, top).numpy()
    np.testing.assert_allclose(explainer.explain(x).numpy(), reference, rtol=1e-6)
    dataset = tf.data.Dataset.from_tensor_slices((x, top)).batch(2)
    np.testing.assert_allclose(explainer.explain(dataset, verbose=True).numpy(), reference, rtol=1e-6)


def test_samplers_and_estimators_compute_as_xplique_calls_them():
    design = xq.TFSobolSequenceRS()(4, 8)  # [A; B; C] (N (d + 2), d)
    np.testing.assert_array_equal(design, sobol_masks(2, 8).reshape(-1, 4))
    lhs = xq.LatinHypercubeRS(seed=1)(3, 16)
    assert lhs.shape == (16 * 5, 3) and all(len(set(np.floor(lhs[:16, k] * 16))) == 16 for k in range(3))
    np.testing.assert_array_equal(xq.TFSobolSequence()(5, 8), tf.math.sobol_sample(5, 8).numpy())
    np.testing.assert_array_equal(xq.TFSobolSequence(binary=True)(5, 8), np.round(tf.math.sobol_sample(5, 8).numpy()))
    rng = np.random.default_rng(4)
    outputs = rng.normal(size=8 * 6)  # N = 8, d = 4 cells of a 2 x 2 grid
    masks = np.zeros((8 * 6, 2, 2, 1), np.float32)
    for cls in (xq.JansenEstimator, xq.HommaEstimator, xq.JanonEstimator, xq.GlenEstimator, xq.SaltelliEstimator):
        name = cls.__name__[: -len("Estimator")].lower()
        got = cls()(masks, outputs, 8)
        assert got.shape == (2, 2, 1)
        np.testing.assert_allclose(got.numpy().reshape(-1), sobol_jansen(8, name)(outputs), rtol=2e-4, atol=2e-5)
    binary = xq.TFSobolSequence(binary=True)(4, 16).reshape(16, 2, 2, 1)
    scores = rng.normal(1.0, 0.3, size=16)
    got = xq.BinaryEstimator()(binary, scores, 16)
    np.testing.assert_allclose(got.numpy().reshape(-1), hsic_estimator(binary)(scores), rtol=1e-4, atol=1e-7)


def test_perturbation_functions():
    x = images(1, seed=34)[0]
    masks = np.random.default_rng(5).uniform(size=(3, 12, 12, 1)).astype(np.float32)
    np.testing.assert_allclose(xq.inpainting(x)(masks).numpy(), x[None] * masks, rtol=1e-6)
    blurred = x[None] * masks + (1 - masks) * box_blur(x[None])
    np.testing.assert_allclose(xq.blurring(x)(masks).numpy(), blurred, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xq.amplitude(x, sigma=1)(masks).numpy(), x[None] * (masks - 0.5), rtol=1e-6)
    with pytest.raises(ValueError, match="blurring's sigma must be 10 .*; got 5"):
        xq.blurring(x, sigma=5)


def xplique_object(name, **attributes):
    """An object of Xplique's class ``name`` (its module), without importing Xplique."""
    cls = type(name, (), {"__module__": "xplique.attributions.global_sensitivity_analysis.samplers"})
    obj = cls()
    obj.__dict__.update(attributes)
    return obj


def test_xplique_objects_are_read_by_name(seq_model):
    explainer = xq.HsicAttributionMethod(seq_model, sampler=xplique_object("LatinHypercube", binary=True),
                                         estimator=xplique_object("BinaryEstimator", output_kernel="rbf"))
    assert explainer.options()["sampler"] == "lhs" and explainer.options()["designs"] == 500
    sobol = xq.SobolAttributionMethod(seq_model, sampler=xplique_object("TFSobolSequenceRS"),
                                      estimator=xplique_object("SaltelliEstimator"))
    options = sobol.options()
    assert (options["sampler"], options["estimator"], options["grid"]) == ("sobol", "saltelli", 8)


@pytest.mark.parametrize("cls, options, error, match", [
    ("Sobol", dict(nb_design=24), ValueError, "nb_design must be a power of two .*; got 24"),
    ("Sobol", dict(grid_size=0), ValueError, "grid_size must be an int >= 1; got 0"),
    ("Sobol", dict(nb_channels=3), ValueError, "nb_channels must be 1 .*; got 3"),
    ("Sobol", dict(sampler=xplique_object("ScipySobolSequenceRS")), ValueError,
     r"sampler=ScipySobolSequenceRS\(...\) is not offered: scipy's unscrambled Sobol sequence starts at the point 0"),
    ("Sobol", dict(sampler=xplique_object("HaltonSequenceRS")), ValueError, "the engine has no Halton sampler"),
    ("Sobol", dict(sampler=xq.TFSobolSequence()), TypeError,
     r"sampler must be one of TFSobolSequenceRS\(\), LatinHypercubeRS\(\) .*; got TFSobolSequence"),
    ("Sobol", dict(estimator=xq.BinaryEstimator()), TypeError, "estimator must be one of JansenEstimator()"),
    ("Sobol", dict(perturbation_function="noise"), ValueError, "perturbation_function must be one of"),
    ("Sobol", dict(perturbation_function=lambda x: x), ValueError, "a custom perturbation is not implemented"),
    ("Hsic", dict(sampler=xq.TFSobolSequence()), ValueError, "sampler must be binary for BinaryEstimator"),
    ("Hsic", dict(estimator=xplique_object("RbfEstimator")), ValueError,
     "estimator=RbfEstimator.* is not offered: the engine's HSIC has the binary input kernel only"),
    ("Hsic", dict(estimator_batch_size=0), ValueError, "estimator_batch_size must be None or an int >= 1; got 0"),
    ("Hsic", dict(nb_design=1), ValueError, "nb_design must be an int >= 2; got 1"),
])
def test_refused_arguments(seq_model, cls, options, error, match):
    with pytest.raises(error, match=match):
        getattr(xq, f"{cls}AttributionMethod")(seq_model, **options)


def test_non_image_inputs_are_refused(signal_model):
    with pytest.raises(ValueError, match=r"inputs must be images \(N, H, W, C\); got shape \(1, 16, 2\)"):
        xq.SobolAttributionMethod(signal_model, grid_size=2, nb_design=2).explain(np.ones((1, 16, 2), np.float32),
                                                                                np.ones((1, 1), np.float32))

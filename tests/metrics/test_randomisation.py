"""Random logit and model-parameter randomisation against the tests written plainly:
maps explained on hand-made copies, compared with plain SSIM and Spearman; the copies'
weights; the user's model left as it was."""
import keras
import numpy as np
import pytest

import eli5_keras
from eli5_keras import metrics

from helpers.data import CHANNELS, SIZE
from helpers.metrics import plain_spearman, plain_ssim_2d
from helpers.models import binary_model, nested_model

L = keras.layers


def images(n=4, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, SIZE, SIZE, CHANNELS)).astype(np.float32)


def varied_model():
    """Conv, batch norm, depthwise and separable convolutions, dense: every kind of
    initializer attribute (kernel, depthwise, pointwise, gamma, beta, moving_*)."""
    keras.utils.set_random_seed(7)
    inp = keras.Input((SIZE, SIZE, CHANNELS))
    h = L.Conv2D(4, 3, name="conv")(inp)
    h = L.BatchNormalization(name="bn")(h)
    h = L.DepthwiseConv2D(3, name="depthwise")(h)
    h = L.SeparableConv2D(5, 3, name="separable")(h)
    h = L.GlobalAveragePooling2D(name="gap")(h)
    model = keras.Model(inp, L.Dense(3, activation="softmax", name="dense")(h), name="varied")
    # weights unlike fresh ones, so that every re-initialised variable changes
    model.set_weights([w + np.random.default_rng(i).uniform(0.5, 1.0, w.shape).astype(w.dtype)
                       for i, w in enumerate(model.get_weights())])
    return model


def weights_by_layer(model):
    return {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers if layer.weights}


def test_other_classes_are_uniform_over_the_rest():
    classes = np.repeat([0, 2], 6000)
    others = metrics.other_classes(classes, 4, seed=3)
    assert np.all(others != classes)
    for y in (0, 2):
        counts = np.bincount(others[classes == y], minlength=4)
        assert counts[y] == 0 and np.all(np.abs(counts[np.arange(4) != y] - 2000) < 150)
    np.testing.assert_array_equal(others, metrics.other_classes(classes, 4, seed=3))


@pytest.mark.parametrize("similarity", ["ssim", "spearman"])
def test_random_logit_compares_the_maps_of_the_class_and_another(seq_model, similarity):
    x = images()
    got = metrics.random_logit(seq_model, x, "gradcam", similarity=similarity, seed=5)
    top = eli5_keras.explain(seq_model, x, method="gradcam")
    others = metrics.other_classes(top.targets[:, 0], 5, 5)
    other = eli5_keras.explain(seq_model, x, method="gradcam", targets=others).maps[:, 0]
    plain = plain_ssim_2d if similarity == "ssim" else plain_spearman
    want = [plain(top.maps[i, 0].astype(np.float64), other[i].astype(np.float64)) for i in range(len(x))]
    assert got.shape == (4,)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_random_logit_explains_the_targets_given(seq_model):
    x = images(3)
    got = metrics.random_logit(seq_model, x, "saliency", targets=[4, 0, 2], similarity="spearman_abs", seed=1)
    first = eli5_keras.explain(seq_model, x, method="saliency", targets=[4, 0, 2]).maps[:, 0]
    other = eli5_keras.explain(seq_model, x, method="saliency",
                               targets=metrics.other_classes([4, 0, 2], 5, 1)).maps[:, 0]
    np.testing.assert_allclose(got, [plain_spearman(abs(first[i]), abs(other[i])) for i in range(3)], rtol=1e-6)


@pytest.mark.parametrize(
    "model, kwargs, message",
    [
        (binary_model, {}, "at least 2 classes"),
        (nested_model, {"top_k": 2}, "not top_k"),
        (nested_model, {"similarity": "cosine"}, "similarity must be one of"),
    ],
)
def test_random_logit_refuses(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        metrics.random_logit(model(), images(2), "saliency", **kwargs)


def test_copies_reinitialise_layers_top_down_cascading_or_independent():
    model = varied_model()
    before = weights_by_layer(model)
    order = ["dense", "separable", "depthwise", "bn", "conv"]
    cascading = [(name, weights_by_layer(copy)) for name, copy in metrics.randomised_models(model, seed=2)]
    independent = [(name, weights_by_layer(copy))
                   for name, copy in metrics.randomised_models(model, "independent", seed=2)]
    assert [n for n, _ in cascading] == [n for n, _ in independent] == order
    for k, ((_, cas), (_, ind)) in enumerate(zip(cascading, independent)):
        for j, layer in enumerate(order):
            changed_cas = any(not np.array_equal(a, b) for a, b in zip(cas[layer], before[layer]))
            changed_ind = any(not np.array_equal(a, b) for a, b in zip(ind[layer], before[layer]))
            assert changed_cas == (j <= k) and changed_ind == (j == k)
        for a, b in zip(cas[order[k]], ind[order[k]]):  # the same new weights either way
            np.testing.assert_array_equal(a, b)
    fresh = cascading[-1][1]
    # each variable from its layer's own initializer
    gamma, beta, mean, variance = fresh["bn"]
    np.testing.assert_array_equal(gamma, 1.0)
    np.testing.assert_array_equal(beta, 0.0)
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(variance, 1.0)
    for name in ("conv", "dense"):
        kernel, bias = fresh[name]
        fan_in, fan_out = np.prod(kernel.shape[:-1]), kernel.shape[-1] * np.prod(kernel.shape[:-2])
        if name == "dense":
            fan_out = kernel.shape[-1]
        assert np.abs(kernel).max() <= np.sqrt(6 / (fan_in + fan_out)) and np.all(bias == 0)
    assert weights_by_layer(model).keys() == before.keys()
    for name, values in weights_by_layer(model).items():
        for a, b in zip(values, before[name]):
            np.testing.assert_array_equal(a, b)


def test_a_nested_model_is_one_layer_all_of_its_weights_fresh():
    model = nested_model()
    before = model.get_layer("backbone").get_weights()
    steps = list(metrics.randomised_models(model, layers=["backbone"], seed=0))
    assert [name for name, _ in steps] == ["backbone"]
    after = steps[0][1].get_layer("backbone").get_weights()
    assert all(not np.array_equal(a, b) for a, b in zip(after[::2], before[::2]))  # kernels
    np.testing.assert_array_equal(np.concatenate([b.ravel() for b in after[1::2]]), 0.0)  # biases
    np.testing.assert_array_equal(model.get_layer("backbone").get_weights()[0], before[0])


@pytest.mark.parametrize("order", ["cascading", "independent"])
@pytest.mark.parametrize("method", ["gradcam", "saliency"])
def test_scores_are_the_similarities_of_maps_on_plain_copies(seq_model, order, method):
    x = images()
    weights = [w.copy() for w in seq_model.get_weights()]
    predictions = seq_model(x).numpy()
    got = metrics.model_parameter_randomisation(seq_model, x, method, order=order, seed=4)
    assert got.layers == ["dense", "conv2", "conv1"] and got.order == order
    original = eli5_keras.explain(seq_model, x, method=method)
    np.testing.assert_array_equal(got.targets, original.targets)
    for k, (name, copy) in enumerate(metrics.randomised_models(seq_model, order, seed=4)):
        plain = keras.models.clone_model(seq_model)  # a new model: nothing compiled for it yet
        plain.set_weights(copy.get_weights())
        maps = eli5_keras.explain(plain, x, method=method, targets=original.targets).maps[:, 0]
        first = original.maps[:, 0].astype(np.float64)
        for measure, plain_measure in [("spearman", plain_spearman), ("ssim", plain_ssim_2d),
                                       ("spearman_abs", lambda a, b: plain_spearman(abs(a), abs(b)))]:
            want = [plain_measure(first[i], maps[i].astype(np.float64)) for i in range(len(x))]
            np.testing.assert_allclose(got.scores[measure][k], want, rtol=1e-5, atol=1e-7)
    assert {k: v.shape for k, v in got.scores.items()} == {m: (3, 4) for m in ("spearman_abs", "spearman", "ssim")}
    np.testing.assert_allclose(got.mean()["ssim"], got.scores["ssim"].mean(axis=1))
    for a, b in zip(seq_model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(seq_model(x).numpy(), predictions)


def test_layers_chosen_and_top_k(seq_model):
    x = images(3)
    got = metrics.model_parameter_randomisation(seq_model, x, "saliency", layers=["conv1", "dense"], top_k=2,
                                                similarity="spearman")
    assert got.layers == ["dense", "conv1"] and got.scores["spearman"].shape == (2, 3, 2)
    assert list(got.scores) == ["spearman"]


def test_maps_given_are_not_explained_again(seq_model, monkeypatch):
    import eli5_keras.metrics.randomisation as module

    x = images(3)
    original = eli5_keras.explain(seq_model, x, method="saliency", top_k=2)
    want = metrics.model_parameter_randomisation(seq_model, x, "saliency", layers=["dense"], top_k=2)
    calls = []
    real = module.explain
    monkeypatch.setattr(module, "explain", lambda model, *a, **k: calls.append(model) or real(model, *a, **k))
    got = metrics.model_parameter_randomisation(seq_model, x, "saliency", original.targets, layers=["dense"],
                                                maps=original.maps)
    assert len(calls) == 1 and calls[0] is not seq_model  # only the randomised copy is explained
    np.testing.assert_array_equal(got.targets, original.targets)
    for measure in want.scores:
        np.testing.assert_allclose(got.scores[measure], want.scores[measure], rtol=1e-6)
    with pytest.raises(ValueError, match="maps given need their targets"):
        metrics.model_parameter_randomisation(seq_model, x, "saliency", maps=original.maps)
    with pytest.raises(ValueError, match=r"targets \(N, T\) of the same N and T; got maps \(3, 2"):
        metrics.model_parameter_randomisation(seq_model, x, "saliency", original.targets[:, :1], maps=original.maps)
    with pytest.raises(ValueError, match="maps given must have the shape of the method's maps"):
        metrics.model_parameter_randomisation(seq_model, x, "saliency", original.targets, layers=["dense"],
                                              maps=original.maps[..., :4])


class Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.conv = L.Conv2D(2, 3)
        self.pool = L.GlobalAveragePooling2D()
        self.dense = L.Dense(3)

    def call(self, x):
        return self.dense(self.pool(self.conv(x)))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(layers=["gap"]), ValueError, r"layers must name layers with weights .*'gap'"),
        (dict(layers=["nope"]), ValueError, "nope"),
        (dict(order="top_down"), ValueError, "order must be one of"),
        (dict(similarity=[]), ValueError, "at least one"),
        (dict(similarity=["hog"]), ValueError, "similarity must be one of"),
    ],
)
def test_randomisation_refuses(seq_model, kwargs, error, message):
    with pytest.raises(error, match=message):
        metrics.model_parameter_randomisation(seq_model, images(2), "saliency", **kwargs)


def test_a_subclassed_model_cannot_be_copied():
    model = Subclassed()
    model(images(1))
    with pytest.raises(ValueError, match="clone_model"):
        next(metrics.randomised_models(model))

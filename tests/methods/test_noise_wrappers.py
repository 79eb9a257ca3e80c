"""SmoothGrad, SquareGrad and VarGrad against their statistics in numpy over noisy
copies rebuilt in the test (stateless noise from (seed, j)), with gradients taken by a
tape and Grad-CAM computed from scratch."""
import numpy as np
import pytest
import tensorflow as tf

import eli5_keras as eli5
from eli5_keras.explain import get_explainer
from eli5_keras.methods import get
from eli5_keras.methods.gradcam import GradCAM
from eli5_keras.methods.noise import SmoothGrad, SquareGrad, VarGrad

from helpers.checks import check_in_flight_bound, compiled_for
from helpers.data import images, signals, volumes
from helpers.methods import InputGradient, ScaledGradient
from helpers.models import token_model
from helpers.reference import chain_logits, plain_gradcam, probabilities, tape_gradient_maps, top_classes

RAW = dict(relu=False, normalize=False)
PIPELINE = dict(use_logits=True, relu=False, normalize=False, resize=True, input_index=None)


def noisy_copies(x, samples, noise_level, seed):
    """(n, samples, ...): x + noise_level * (max - min of each input) * eps_j, eps_j from (seed, j)."""
    axes = tuple(range(1, x.ndim))
    sigma = noise_level * (x.max(axis=axes) - x.min(axis=axes))
    eps = np.stack(
        [tf.random.stateless_normal(x.shape[1:], seed=[seed, j]).numpy() for j in range(samples)]
    )
    return x[:, None] + sigma.reshape((-1, 1) + (1,) * (x.ndim - 1)) * eps[None], sigma


def statistic(maps, name):
    """maps (n, samples, T, ...) -> the wrapper's statistic over samples."""
    if name == "smoothgrad":
        return maps.mean(axis=1)
    if name == "squaregrad":
        return (maps**2).mean(axis=1)
    return maps.var(axis=1, ddof=1 if name == "vargrad-unbiased" else 0)


def method_options(name):
    if name == "vargrad-unbiased":
        return "vargrad", dict(unbiased=True)
    return name, {}



CASES = {
    "image": ("seq_model", lambda: images(2)),
    "signal": ("signal_model", lambda: signals(3)),
    "volume": ("volume_model", lambda: volumes(2)),
}
STATISTICS = ["smoothgrad", "squaregrad", "vargrad", "vargrad-unbiased"]


@pytest.mark.parametrize(
    "case, name",
    [("image", name) for name in STATISTICS]
    + [("signal", "smoothgrad"), ("signal", "vargrad-unbiased"), ("volume", "squaregrad"), ("volume", "vargrad")],
)
def test_statistics_of_input_gradients(case, name, request):
    fixture, make = CASES[case]
    model = request.getfixturevalue(fixture)
    x = make()
    method, extra = method_options(name)
    result = eli5.explain(
        model, x, method=method, base=InputGradient(), samples=5, noise_level=0.2, seed=3, top_k=2, **extra, **RAW
    )
    classes = top_classes(probabilities(model, x), 2)
    noisy, sigma = noisy_copies(x, 5, 0.2, 3)
    maps = np.stack(
        [tape_gradient_maps(chain_logits(model), noisy[:, j], classes) for j in range(5)], axis=1
    )
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.scores, np.take_along_axis(probabilities(model, x), classes, 1), rtol=1e-5)
    np.testing.assert_allclose(result.maps, statistic(maps, name), rtol=2e-4, atol=1e-6)
    np.testing.assert_allclose(result.extras["noise_sigma"], np.repeat(sigma[:, None], 2, axis=1), rtol=1e-6)
    logits = np.stack([np.take_along_axis(chain_logits(model)(noisy[:, j]).numpy(), classes, 1) for j in range(5)])
    np.testing.assert_allclose(result.extras["score"], logits.mean(axis=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["smoothgrad", "vargrad"])
def test_statistics_of_grad_cam(seq_model, seq_parts, name):
    features, logits, _ = seq_parts
    x = images(3, seed=1)
    result = eli5.explain(
        seq_model, x, method=name, base="gradcam", samples=4, noise_level=0.1, seed=1, top_k=2,
        resize=False, **RAW,
    )
    classes = top_classes(probabilities(seq_model, x), 2)
    noisy, _ = noisy_copies(x, 4, 0.1, 1)
    maps = np.stack(
        [plain_gradcam(features, logits, noisy[:, j].astype(np.float32), classes, False, False)[0]
         for j in range(4)],
        axis=1,
    )
    assert result.maps.shape == (3, 2, 6, 6)  # conv2's grid
    np.testing.assert_allclose(result.maps, statistic(maps, name), rtol=2e-4, atol=1e-6)
    assert result.method == ("SmoothGrad(Grad-CAM)" if name == "smoothgrad" else "VarGrad(Grad-CAM)")


def test_blocks_of_samples_and_of_the_base_expansion(seq_model):
    x = images(3, seed=2)
    options = dict(
        method="smoothgrad", base=ScaledGradient(3), samples=4, noise_level=0.15, seed=5, top_k=2, **RAW
    )
    results = [eli5.explain(seq_model, x, batch_size=b, **options).maps for b in (1, 2, 5, 64)]
    classes = top_classes(probabilities(seq_model, x), 2)
    noisy, _ = noisy_copies(x, 4, 0.15, 5)
    gradients = [
        [tape_gradient_maps(chain_logits(seq_model), noisy[:, j] * k / 3, classes) for k in (1, 2, 3)]
        for j in range(4)
    ]
    maps = np.stack([np.mean(steps, axis=0) for steps in gradients], axis=1)
    for got in results:
        np.testing.assert_allclose(got, maps.mean(axis=1), rtol=2e-4, atol=1e-6)
    explainer = get_explainer(
        seq_model, "smoothgrad", None, **PIPELINE, base=options["base"], samples=4, noise_level=0.15, seed=5
    )
    assert explainer.method.expansion(None) == 12
    assert compiled_for(explainer, 2).experimental_get_tracing_count() == 1


@pytest.mark.parametrize("batch_size, largest", [(6, 6), (5, 3), (30, 24)])
def test_passes_in_flight_are_bounded_by_batch_size(seq_model, batch_size, largest):
    # 4 samples x 3 steps per input: 2 noisy copies x 3 steps, 1 copy x 3 steps, or 2 inputs x 12
    method = SmoothGrad(base=ScaledGradient(3), samples=4)
    check_in_flight_bound(seq_model, images(3, seed=7), method, batch_size, largest, column=0)


def test_base_with_work_known_only_at_run_time(variable_model):
    # occlusion on a free-size input reports the "unknown" expansion; the wrapper stays int32-safe
    x = images(2, size=8, seed=11)
    options = dict(method="smoothgrad", base="occlusion", base_options=dict(window=4), samples=3, **RAW)
    one = eli5.explain(variable_model, x, batch_size=1, **options)
    many = eli5.explain(variable_model, x, batch_size=64, **options)
    assert one.maps.shape == (2, 1, 8, 8) and np.all(np.isfinite(one.maps))
    np.testing.assert_allclose(one.maps, many.maps, rtol=1e-5, atol=1e-6)


def test_maps_depend_on_the_input_and_seed_only(seq_model):
    x = images(5, seed=3)
    options = dict(method="vargrad", base="gradcam", samples=6, seed=9, **RAW)
    whole = eli5.explain(seq_model, x, batch_size=64, **options)
    one = eli5.explain(seq_model, x, batch_size=1, **options)
    part = eli5.explain(seq_model, x[3:], batch_size=64, **options)
    np.testing.assert_allclose(one.maps, whole.maps, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(part.maps, whole.maps[3:], rtol=1e-5, atol=1e-7)
    other = eli5.explain(seq_model, x, batch_size=64, **dict(options, seed=10))
    assert np.abs(other.maps - whole.maps).max() > 0.1 * np.abs(whole.maps).max()


def test_zero_noise_gives_the_base_and_a_zero_variance(seq_model):
    x = images(2, seed=4)
    base = eli5.explain(seq_model, x, method="gradcam", **RAW)
    smooth = eli5.explain(seq_model, x, method="smoothgrad", base="gradcam", noise_level=0.0, samples=1, **RAW)
    np.testing.assert_allclose(smooth.maps, base.maps, rtol=1e-5, atol=1e-6)
    var = eli5.explain(seq_model, x, method="vargrad", base="gradcam", noise_level=0.0, samples=3)
    assert not np.isnan(var.maps).any() and np.abs(var.maps).max() < 1e-6


def test_the_clean_top_class_is_explained_on_every_noisy_copy(seq_model):
    x = images(4, seed=5)
    options = dict(method="smoothgrad", base=InputGradient(), samples=3, noise_level=2.0, **RAW)
    top = eli5.explain(seq_model, x, **options)
    explicit = eli5.explain(seq_model, x, targets=top_classes(probabilities(seq_model, x))[:, 0], **options)
    np.testing.assert_array_equal(top.targets[:, 0], np.argmax(probabilities(seq_model, x), axis=1))
    np.testing.assert_allclose(top.maps, explicit.maps, rtol=1e-6)


def test_noise_only_on_the_explained_input(multi_input_model):
    x = images(2, seed=6)
    vec = np.random.default_rng(2).normal(size=(2, 4)).astype(np.float32)
    result = eli5.explain(
        multi_input_model, [x, vec], method="smoothgrad", base=InputGradient(), samples=3, use_logits=False, **RAW
    )
    noisy, _ = noisy_copies(x, 3, 0.15, 0)
    maps = np.stack(
        [
            tape_gradient_maps(lambda b: multi_input_model([b, tf.constant(vec)]), noisy[:, j], result.targets)
            for j in range(3)
        ],
        axis=1,
    )
    np.testing.assert_allclose(result.maps, maps.mean(axis=1), rtol=2e-4, atol=1e-6)


def test_layer_of_the_base(seq_model):
    result = eli5.explain(seq_model, images(1), method="smoothgrad", base="gradcam", layer="conv1", resize=False)
    assert result.maps.shape == (1, 1, 12, 12) and result.layer == "conv1"


def test_properties_follow_the_base():
    smooth = get("smoothgrad", base="gradcam")
    assert smooth.uses_layer and smooth.per_target_work and not smooth.signed
    assert smooth.title == "SmoothGrad(Grad-CAM)"
    signed = get("smoothgrad", base=InputGradient())
    assert not signed.uses_layer and signed.signed
    for cls in (SquareGrad, VarGrad):
        wrapped = cls(base=InputGradient())
        assert not wrapped.signed and not wrapped.uses_layer
    assert get("squaregrad", base="gradcam").title == "SquareGrad(Grad-CAM)"
    assert (smooth.samples, smooth.noise_level, smooth.seed) == (25, 0.15, 0)
    assert get("smoothgrad").base.name == "saliency" and get("vargrad").title == "VarGrad(Saliency)"


def test_cache_key_includes_the_base():
    assert get("smoothgrad", base="gradcam").key() == get("smoothgrad", base=GradCAM()).key()
    assert SmoothGrad(base=ScaledGradient(3)).key() == SmoothGrad(base=ScaledGradient(3)).key()
    assert SmoothGrad(base=ScaledGradient(3)).key() != SmoothGrad(base=ScaledGradient(4)).key()
    assert SmoothGrad(base="gradcam").key() != SmoothGrad(base="gradcam", samples=3).key()
    assert SmoothGrad(base="gradcam").key() != VarGrad(base="gradcam").key()
    hash(VarGrad(base=SmoothGrad(base="gradcam")).key())


def test_explainer_is_shared_by_equal_configurations(seq_model):
    a = get_explainer(seq_model, "smoothgrad", None, **PIPELINE, base=ScaledGradient(2), samples=3)
    b = get_explainer(seq_model, "smoothgrad", None, **PIPELINE, base=ScaledGradient(2), samples=3)
    c = get_explainer(seq_model, "smoothgrad", None, **PIPELINE, base=ScaledGradient(3), samples=3)
    assert a is b and a is not c


def test_token_input_is_refused():
    model = token_model()
    with pytest.raises(ValueError, match="smoothgrad adds Gaussian noise to the input, so it needs a float input"):
        eli5.explain(model, np.ones((1, 8), np.int32), method="smoothgrad", base=InputGradient())


@pytest.mark.parametrize(
    "name, options, error, match",
    [
        ("smoothgrad", dict(samples=0), ValueError, "samples must be an int >= 1; got 0"),
        ("smoothgrad", dict(noise_level=-0.1), ValueError, r"noise_level must be in \[0.0, inf\]"),
        ("smoothgrad", dict(noise_level="high"), TypeError, "noise_level must be a finite number"),
        ("squaregrad", dict(seed=1.5), TypeError, "seed must be an int"),
        ("vargrad", dict(unbiased="no"), TypeError, "unbiased must be True or False"),
        ("vargrad", dict(unbiased=True, samples=1), ValueError, "unbiased=True needs samples >= 2"),
        ("smoothgrad", dict(base=3), TypeError, "base must be a method name"),
        ("smoothgrad", dict(base="nope"), ValueError, "unknown method 'nope'"),
        ("smoothgrad", dict(base="gradcam", base_options={"steps": 3}), TypeError, "method 'gradcam' has no option\\(s\\) \\['steps'\\]"),
        ("smoothgrad", dict(base=GradCAM(), base_options={"x": 1}), TypeError, "given with a Method instance"),
        ("smoothgrad", dict(base="gradcam", base_options=[1]), TypeError, "base_options must be a dict"),
    ],
)
def test_bad_options(name, options, error, match):
    options.setdefault("base", "gradcam")
    with pytest.raises(error, match=match):
        get(name, **options)


def test_absolute_sigma_is_the_same_for_every_input(seq_model):
    # sigma= replaces noise_level * range: each input gets the same absolute noise, i.e.
    # the relative run with noise_level = sigma / (its own range), input by input
    x = images(2, seed=40)
    x[1] *= 3.0  # a different range
    absolute = eli5.explain(seq_model, x, method="smoothgrad", base=InputGradient(), samples=3, sigma=0.1,
                            seed=2, top_k=1, **RAW)
    np.testing.assert_allclose(absolute.extras["noise_sigma"], 0.1, rtol=1e-6)
    for i in range(2):
        level = 0.1 / float(x[i].max() - x[i].min())
        relative = eli5.explain(seq_model, x[i:i + 1], method="smoothgrad", base=InputGradient(), samples=3,
                                noise_level=level, seed=2, targets=absolute.targets[i:i + 1], **RAW)
        np.testing.assert_allclose(absolute.maps[i], relative.maps[0], rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match="sigma"):
        eli5.explain(seq_model, x, method="smoothgrad", sigma=-1.0)

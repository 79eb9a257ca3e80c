"""Integrated Gradients against a plain loop over the path, completeness, and a linear
model where IG is exact for every quadrature rule."""
import keras
import numpy as np
import pytest

import eli5_keras as eli5
from eli5_keras import methods
from eli5_keras.explain import get_explainer

from helpers.checks import DEFAULT_OPTIONS, BatchMonitor, check_batch_size_and_tracing
from helpers.data import images, signals, volumes
from helpers.reference import chain_logits, dense_logits, input_gradients, top_classes

L = keras.layers
RULES = ["trapezoid", "riemann_left", "riemann_right", "riemann_middle", "gausslegendre"]


def plain_rule(rule, steps):
    """Points and weights of each rule, written out."""
    if rule == "trapezoid":
        alphas = np.arange(steps + 1) / steps
        weights = np.array([0.5] + [1.0] * (steps - 1) + [0.5]) / steps
    elif rule == "riemann_left":
        alphas, weights = np.arange(0, steps) / steps, np.ones(steps) / steps
    elif rule == "riemann_right":
        alphas, weights = np.arange(1, steps + 1) / steps, np.ones(steps) / steps
    elif rule == "riemann_middle":
        alphas, weights = (np.arange(steps) + 0.5) / steps, np.ones(steps) / steps
    else:
        nodes, node_weights = np.polynomial.legendre.leggauss(steps)
        alphas, weights = 0.5 * nodes + 0.5, 0.5 * node_weights
    return alphas, weights


def plain_ig(logits_fn, x, baseline, classes, rule="trapezoid", steps=50):
    """IG by a Python loop over the path: (N, T, *S, C) attributions and the gap."""
    alphas, weights = plain_rule(rule, steps)
    total = 0.0
    for a, w in zip(alphas, weights):
        point = (baseline + a * (x - baseline)).astype(np.float32)
        grads, _ = input_gradients(logits_fn, point, classes)
        total = total + w * grads
    attributions = total * (x - baseline)[:, None]
    end = np.take_along_axis(logits_fn(x).numpy(), classes, 1)
    start = np.take_along_axis(logits_fn(np.broadcast_to(baseline, x.shape).astype(np.float32)).numpy(), classes, 1)
    gap = attributions.reshape(attributions.shape[:2] + (-1,)).sum(-1) - (end - start)
    return attributions, gap


def smooth_model():
    """tanh/softplus convolutions, no ReLU kinks, linear logits."""
    keras.utils.set_random_seed(30)
    inp = keras.Input((8, 8, 2))
    h = L.Conv2D(4, 3, padding="same", activation="tanh")(inp)
    h = L.Conv2D(4, 3, strides=2, padding="same", activation="softplus")(h)
    h = L.GlobalAveragePooling2D()(h)
    return keras.Model(inp, L.Dense(3)(h), name="smooth_model")


@pytest.fixture(scope="module")
def smooth():
    return smooth_model()


def smooth_inputs(n, seed=0):
    return 2.0 * images(n, size=8, channels=2, seed=seed)


def test_completeness_within_one_percent_at_256_steps(smooth):
    x = smooth_inputs(3, seed=1)
    result = eli5.explain(smooth, x, method="integrated_gradients", top_k=2, steps=256)
    logits = smooth(x).numpy()
    classes = top_classes(logits, 2)
    difference = np.take_along_axis(logits - smooth(np.zeros_like(x)).numpy(), classes, 1)
    gap = result.extras["completeness_gap"]
    assert gap.shape == (3, 2)
    np.testing.assert_allclose(result.maps.sum(axis=(2, 3)), difference + gap, rtol=1e-4, atol=1e-6)
    assert np.all(np.abs(gap) <= 0.01 * np.abs(difference))
    coarse = eli5.explain(smooth, x, method="integrated_gradients", top_k=2, steps=4).extras["completeness_gap"]
    assert np.abs(gap).max() < np.abs(coarse).max()


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_matches_a_plain_loop(smooth, rule):
    x = smooth_inputs(2, seed=2)
    baseline = np.full((8, 8, 2), -0.5, np.float32)
    classes = top_classes(smooth(x).numpy(), 2)
    expected, gap = plain_ig(smooth, x, baseline, classes, rule, steps=6)
    result = eli5.explain(
        smooth, x, method="integrated_gradients", top_k=2, steps=6, rule=rule, baseline=baseline
    )
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.maps, expected.sum(-1), rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(result.extras["completeness_gap"], gap, rtol=1e-3, atol=2e-5)


@pytest.mark.parametrize("rule", RULES)
def test_linear_model_gives_exactly_x_minus_baseline_times_w(rule):
    """A constant gradient: IG = (x - x') * w exactly when the rule's weights sum to 1."""
    keras.utils.set_random_seed(31)
    inp = keras.Input((5, 2))
    model = keras.Model(inp, L.Dense(3)(L.Flatten()(inp)), name="linear_model")
    x = signals(2, seed=3)[:, :5]
    baseline = np.array([0.25, -1.0], np.float32)  # per channel
    result = eli5.explain(model, x, method="integrated_gradients", targets=[[2, 0]] * 2, steps=3, rule=rule,
                          baseline=baseline)
    kernel = model.layers[-1].kernel.numpy().reshape(5, 2, 3)
    expected = np.stack([((x - baseline) * kernel[..., c]).sum(-1) for c in (2, 0)], axis=1)
    np.testing.assert_allclose(result.maps, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result.extras["completeness_gap"], 0.0, atol=1e-5)


def test_target_is_the_class_of_the_input_along_the_whole_path(smooth):
    """The top class changes along the path; the reference keeps the class of x."""
    x = smooth_inputs(4, seed=4)
    baseline = np.ones_like(x)
    classes = top_classes(smooth(x).numpy(), 1)
    path_classes = [top_classes(smooth(baseline + a * (x - baseline)).numpy(), 1) for a in (0.0, 0.25, 0.5)]
    assert all((c != classes).all() for c in path_classes)
    expected, _ = plain_ig(smooth, x, baseline, classes, steps=4)
    result = eli5.explain(smooth, x, method="integrated_gradients", steps=4, baseline=1.0)
    np.testing.assert_array_equal(result.targets, classes)
    np.testing.assert_allclose(result.maps, expected.sum(-1), rtol=2e-4, atol=2e-6)


@pytest.mark.parametrize("fixture", ["signal_model", "volume_model"])
def test_every_rank_against_the_loop(request, fixture):
    model = request.getfixturevalue(fixture)
    x = signals(2, seed=5) if fixture == "signal_model" else volumes(2, seed=5)
    logits_fn = chain_logits(model)
    classes = top_classes(logits_fn(x).numpy(), 2)
    expected, gap = plain_ig(logits_fn, x, np.zeros_like(x), classes, steps=5)
    result = eli5.explain(model, x, method="integrated_gradients", top_k=2, steps=5)
    assert result.maps.shape == (2, 2) + x.shape[1:-1]
    np.testing.assert_allclose(result.maps, expected.sum(-1), rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(result.extras["completeness_gap"], gap, rtol=1e-3, atol=2e-5)
    assert result.signed and not result.normalized


def test_multi_input_and_scalar_baseline(multi_input_model):
    conv, gap, concat, dense = (multi_input_model.get_layer(n) for n in ("m_conv", "m_gap", "m_concat", "m_dense"))
    x = images(2, seed=6)
    vec = np.random.default_rng(1).normal(size=(2, 4)).astype(np.float32)

    def logits_fn(v):
        return dense_logits(dense, concat([gap(conv(v)), vec]))

    expected, gap_expected = plain_ig(logits_fn, x, np.full_like(x, 0.5), np.array([[1], [3]]), steps=4)
    result = eli5.explain(multi_input_model, [x, vec], method="integrated_gradients", targets=[1, 3], steps=4,
                          baseline=0.5)
    np.testing.assert_allclose(result.maps, expected.sum(-1), rtol=2e-4, atol=2e-6)
    np.testing.assert_allclose(result.extras["completeness_gap"], gap_expected, rtol=1e-3, atol=2e-5)


def test_batch_size_does_not_change_results_and_nothing_retraces(seq_model):
    x = images(3, seed=7)
    small = check_batch_size_and_tracing(seq_model, x, images(2, seed=8), "integrated_gradients", steps=6)
    blocks = eli5.explain(seq_model, x, method="integrated_gradients", top_k=2, steps=6, batch_size=5)
    np.testing.assert_allclose(small.maps, blocks.maps, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("batch_size, largest", [(4, 4), (14, 14), (64, 21)])
def test_batch_size_bounds_the_points_in_flight(seq_model, batch_size, largest):
    """7 points per input (steps=6): blocks of 4 points of one input; 2 inputs x 7 points; all 3 x 7."""
    x = images(3, seed=12)
    monitor = BatchMonitor(column=2)
    result = eli5.explain(seq_model, x, method="integrated_gradients", steps=6, targets=monitor, batch_size=batch_size)
    assert int(monitor.largest.numpy()) == largest
    reference = eli5.explain(seq_model, x, method="integrated_gradients", steps=6, targets=2, batch_size=64)
    np.testing.assert_allclose(result.maps, reference.maps, rtol=1e-4, atol=1e-7)


def test_input_equal_to_baseline_gives_zeros(seq_model):
    x = np.full((2, 12, 12, 3), 0.3, np.float32)
    result = eli5.explain(seq_model, x, method="integrated_gradients", steps=3, baseline=0.3)
    np.testing.assert_array_equal(result.maps, 0.0)
    np.testing.assert_allclose(result.extras["completeness_gap"], 0.0, atol=1e-7)


def test_baselines_with_the_same_repr_get_their_own_explainer(smooth):
    first, second = np.zeros((8, 8, 2), np.float32), np.zeros((8, 8, 2), np.float32)
    second[4, 4, 1] = 1.0  # numpy's repr elides the middle of large arrays
    a = get_explainer(smooth, "integrated_gradients", None, baseline=first, **DEFAULT_OPTIONS)
    b = get_explainer(smooth, "integrated_gradients", None, baseline=second, **DEFAULT_OPTIONS)
    assert a is not b
    assert get_explainer(smooth, "integrated_gradients", None, baseline=first.copy(), **DEFAULT_OPTIONS) is a


@pytest.mark.parametrize(
    "options, error, message",
    [
        (dict(steps=0), ValueError, "steps must be an int >= 1; got 0"),
        (dict(steps=True), TypeError, "steps must be an int; got bool: True"),
        (dict(steps=2.5), TypeError, "steps must be an int; got float: 2.5"),
        (dict(rule="riemann"), ValueError, "rule must be one of 'trapezoid', .*'gausslegendre'; got 'riemann'"),
        (dict(baseline="black"), TypeError, "baseline must be None, a number or an array"),
        (dict(baseline=[0.0, np.nan]), ValueError, "baseline must be finite"),
    ],
)
def test_options_are_validated(options, error, message):
    with pytest.raises(error, match=message):
        methods.get("integrated_gradients", **options)


def test_baseline_shape_is_checked_against_the_input(smooth):
    with pytest.raises(ValueError, match=r"baseline has shape \(3,\).*\(8, 8, 2\)"):
        eli5.explain(smooth, smooth_inputs(1), method="integrated_gradients", baseline=np.zeros(3))


def test_free_axes_need_a_broadcastable_baseline(variable_model):
    with pytest.raises(ValueError, match="free axes"):
        eli5.explain(variable_model, images(1), method="integrated_gradients", baseline=np.zeros((12, 12, 3)))
    per_channel = np.array([0.1, 0.2, 0.3], np.float32)
    for size in (10, 14):
        result = eli5.explain(variable_model, images(1, size=size), method="integrated_gradients", steps=3,
                              baseline=per_channel)
        assert result.maps.shape == (1, 1, size, size) and np.all(np.isfinite(result.maps))

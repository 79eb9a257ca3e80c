"""Max- and avg-sensitivity against the Monte-Carlo estimate written plainly: the same
draws, one perturbed copy at a time, norms by numpy."""
import numpy as np
import pytest

import eli5_keras
from eli5_keras import evaluation, metrics

from helpers.data import CHANNELS, SIZE
from helpers.metrics import linear_model
from helpers.models import multi_input_model, token_model


def images(n=3, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, SIZE, SIZE, CHANNELS)).astype(np.float32)


def plain_ratios(model, x, method, samples, radius, seed, denominator, **options):
    clean = eli5_keras.explain(model, x, method=method, **options)
    rng = np.random.default_rng(seed)
    ratios = []
    for _ in range(samples):
        moved = x + rng.uniform(-radius, radius, x.shape).astype(np.float32)
        maps = eli5_keras.explain(model, moved, method=method, targets=clean.targets, **options).maps
        row = []
        for i in range(len(x)):
            change = np.sqrt(((maps[i, 0].astype(np.float64) - clean.maps[i, 0]) ** 2).sum())
            scale = {"map": np.sqrt((clean.maps[i, 0].astype(np.float64) ** 2).sum()),
                     "input": np.sqrt((x[i].astype(np.float64) ** 2).sum()), None: 1.0}[denominator]
            row.append(change / scale)
        ratios.append(row)
    return np.array(ratios)  # (samples, N)


@pytest.mark.parametrize("denominator", ["map", "input", None])
def test_max_and_mean_of_the_plain_ratios(seq_model, denominator):
    x = images()
    ratios = plain_ratios(seq_model, x, "gradcam", 4, 0.1, 7, denominator)
    largest, mean = metrics.sensitivity.sensitivities(seq_model, x, "gradcam", samples=4, radius=0.1, seed=7,
                                                      denominator=denominator, batch_size=5)
    np.testing.assert_allclose(largest, ratios.max(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(mean, ratios.mean(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(metrics.max_sensitivity(seq_model, x, "gradcam", samples=4, radius=0.1, seed=7,
                                                       denominator=denominator), largest, rtol=1e-6)
    np.testing.assert_allclose(metrics.avg_sensitivity(seq_model, x, "gradcam", samples=4, radius=0.1, seed=7,
                                                       denominator=denominator), mean, rtol=1e-6)


def test_a_linear_models_gradient_does_not_move():
    model, _ = linear_model((6, 5, 2))
    x = np.random.default_rng(1).normal(size=(3, 6, 5, 2)).astype(np.float32)
    got = metrics.max_sensitivity(model, x, "saliency", targets=0, samples=3, normalize=False)
    np.testing.assert_allclose(got, 0.0, atol=1e-6)
    assert np.all(metrics.max_sensitivity(model, x, "gradient_input", targets=0, samples=3, normalize=False) > 0)


def test_only_the_explained_input_moves():
    model = multi_input_model()
    rng = np.random.default_rng(2)
    inputs = [rng.uniform(size=(2,) + tuple(s.shape[1:])).astype(np.float32) for s in model.inputs]
    got = metrics.avg_sensitivity(model, inputs, "saliency", samples=2, radius=0.05, seed=3)
    clean = eli5_keras.explain(model, inputs, method="saliency")
    draws = np.random.default_rng(3)
    ratios = []
    for _ in range(2):
        moved = [inputs[0] + draws.uniform(-0.05, 0.05, inputs[0].shape).astype(np.float32), inputs[1]]
        maps = eli5_keras.explain(model, moved, method="saliency", targets=clean.targets).maps
        ratios.append(np.linalg.norm((maps - clean.maps).reshape(2, -1), axis=1)
                      / np.linalg.norm(clean.maps.reshape(2, -1), axis=1))
    np.testing.assert_allclose(got, np.mean(ratios, axis=0), rtol=1e-5)


def test_in_evaluate(seq_model):
    x = images(2)
    ev = eli5_keras.evaluate(seq_model, x, "saliency", ["max_sensitivity", "avg_sensitivity"],
                             metric_options={"max_sensitivity": {"samples": 3}, "avg_sensitivity": {"samples": 3}})
    largest, mean = metrics.sensitivity.sensitivities(seq_model, x, "saliency", samples=3)
    np.testing.assert_allclose(ev.scores["saliency"]["max_sensitivity"], largest, rtol=1e-6)
    np.testing.assert_allclose(ev.scores["saliency"]["avg_sensitivity"], mean, rtol=1e-6)
    assert not evaluation.METRICS["max_sensitivity"].higher_is_better


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(radius=0.0), ValueError, "radius"),
        (dict(samples=0), ValueError, "samples"),
        (dict(denominator="l1"), ValueError, "denominator must be one of"),
        (dict(seed=-1), ValueError, "seed"),
    ],
)
def test_refuses(seq_model, kwargs, error, message):
    with pytest.raises(error, match=message):
        metrics.max_sensitivity(seq_model, images(1), "saliency", **kwargs)


def test_refuses_token_inputs():
    model = token_model()
    with pytest.raises(ValueError, match="float input"):
        metrics.max_sensitivity(model, np.zeros((2, 8), np.int32), "saliency", samples=1)

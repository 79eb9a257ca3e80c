"""ROAD and its noisy linear imputation against the system written plainly (one equation
per removed pixel, solved densely) and the score change computed by hand."""
import numpy as np
import pytest

from eli5_keras import metrics
from eli5_keras.metrics.imputation import noisy_linear_imputation

from helpers.metrics import linear_model
from helpers.models import signal_model


def plain_imputation(image, removed):
    """The authors' equations for one image (H, W, C), solved with a dense solver."""
    h, w, c = image.shape
    cells = [tuple(p) for p in np.argwhere(removed)]
    place = {p: k for k, p in enumerate(cells)}
    a = np.zeros((len(cells), len(cells)))
    b = np.zeros((len(cells), c))
    for k, (i, j) in enumerate(cells):
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                if (di, dj) == (0, 0) or not (0 <= i + di < h and 0 <= j + dj < w):
                    continue
                weight = 1 / 12 if di and dj else 1 / 6
                a[k, k] += weight
                if (i + di, j + dj) in place:
                    a[k, place[(i + di, j + dj)]] -= weight
                else:
                    b[k] += weight * image[i + di, j + dj]
    out = image.astype(np.float64).copy()
    out[removed] = np.linalg.solve(a, b)
    return out


def test_imputation_solves_the_authors_system():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 9, 2))
    removed = rng.uniform(size=(3, 7, 9)) < np.array([0.2, 0.6, 0.95])[:, None, None]
    got = noisy_linear_imputation(x, removed, 0.0, np.random.default_rng(1))
    for i in range(3):
        np.testing.assert_allclose(got[i], plain_imputation(x[i], removed[i]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got[~removed], x[~removed])


def test_imputation_noise_is_added_where_removed():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 6, 5, 3))
    removed = rng.uniform(size=(2, 6, 5)) < 0.5
    clean = noisy_linear_imputation(x, removed, 0.0, np.random.default_rng(3))
    noisy = noisy_linear_imputation(x, removed, 0.25, np.random.default_rng(3))
    draws = 0.25 * np.random.default_rng(3).standard_normal(x.shape)
    np.testing.assert_allclose(noisy, np.where(removed[..., None], clean + draws, x), atol=1e-9)
    with pytest.raises(ValueError, match=r"images \[1\] have every position removed"):
        noisy_linear_imputation(x, np.stack([removed[0], np.ones((6, 5), bool)]), 0.0, np.random.default_rng(0))


@pytest.mark.parametrize("order", ["morf", "lerf"])
def test_road_is_the_mean_score_change_on_imputed_copies(order):
    model, w = linear_model((6, 5, 2))
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 6, 5, 2)).astype(np.float32)
    maps = rng.normal(size=(3, 6, 5)).astype(np.float32)
    got = metrics.road(model, x, maps, targets=0, order=order, percentages=(20, 50), noise=0.1, seed=5)
    draws = np.random.default_rng(5)
    want = np.zeros(3)
    for p in (20, 50):
        count = p * 30 // 100
        removed = np.zeros((3, 30), bool)
        for i in range(3):
            ranked = sorted(range(30), key=lambda k: (-maps[i].ravel()[k] if order == "morf" else maps[i].ravel()[k], k))
            removed[i, ranked[:count]] = True
        imputed = noisy_linear_imputation(x, removed.reshape(3, 6, 5), 0.1, draws).astype(np.float32)
        for i in range(3):
            want[i] += ((w * imputed[i]).sum(dtype=np.float64) - (w * x[i]).sum(dtype=np.float64)) / 2
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_road_per_target_and_in_evaluate(seq_model):
    import eli5_keras

    x = np.random.default_rng(6).uniform(size=(2, 12, 12, 3)).astype(np.float32)
    result = eli5_keras.explain(seq_model, x, method="gradcam", top_k=2)
    both = metrics.road(seq_model, x, result.maps, result.targets, percentages=(30,), seed=1)
    assert both.shape == (2, 2)
    first = metrics.road(seq_model, x, result.maps[:, 0], result.targets[:, 0], percentages=(30,), seed=1)
    np.testing.assert_allclose(both[:, 0], first, rtol=1e-6)
    ev = eli5_keras.evaluate(seq_model, x, maps={"cam": result}, metrics=["road_morf", "road_lerf"],
                             metric_options={"road_morf": {"percentages": (30,), "seed": 1},
                                             "road_lerf": {"percentages": (30,)}})
    np.testing.assert_allclose(ev.scores["cam"]["road_morf"], both, rtol=1e-6)
    np.testing.assert_allclose(ev.scores["cam"]["road_lerf"],
                               metrics.road(seq_model, x, result.maps, result.targets, order="lerf",
                                            percentages=(30,)), rtol=1e-6)
    assert ev.higher_is_better == {"road_morf": False, "road_lerf": True}


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(percentages=(10, 100)), r"percentages must be in \(0, 100\)"),
        (dict(order="random"), "order must be one of"),
        (dict(noise=-1.0), "noise"),
    ],
)
def test_road_refuses(seq_model, kwargs, message):
    x = np.zeros((1, 12, 12, 3), np.float32)
    with pytest.raises(ValueError, match=message):
        metrics.road(seq_model, x, np.zeros((1, 12, 12)), **kwargs)


def test_road_needs_an_image_and_targets_for_several_maps(seq_model):
    model = signal_model()
    signal = np.zeros((1,) + tuple(model.inputs[0].shape[1:]), np.float32)
    with pytest.raises(ValueError, match=r"image input \(N, H, W, C\)"):
        metrics.road(model, signal, np.zeros(signal.shape[:-1]))
    with pytest.raises(ValueError, match=r"pass targets \(N, T\)"):
        metrics.road(seq_model, np.zeros((1, 12, 12, 3), np.float32), np.zeros((1, 2, 12, 12)))

"""Deletion and insertion (RISE's causal metrics) against their curves written plainly
(numpy, one input and one step at a time) on linear models, and their invariants."""
import keras
import numpy as np
import pytest

from eli5_keras import metrics
from eli5_keras.metrics.baselines import blur

from helpers.checks import BatchMonitor
from helpers.metrics import grid_cells, linear_model, plain_auc, plain_causal_curve
from helpers.models import token_model

SHAPES = [(16, 2), (5, 4, 2), (3, 4, 3, 1)]


def inputs_for(shape, n=3, seed=1):
    return np.random.default_rng(seed).normal(size=(n,) + shape).astype(np.float32)


def linear_score(w, column=0):
    sign = 1.0 if column == 0 else -1.0
    return lambda copy: sign * float((w * copy).sum(dtype=np.float64))


def softmax_score(w, column=0):
    def score(copy):
        z = float((w * copy).sum(dtype=np.float64))
        logits = np.array([z, -z])
        return float(np.exp(logits[column]) / np.exp(logits).sum())

    return score


def expected(score, x, maps, steps, baseline, insert, cells=None):
    return [plain_auc(plain_causal_curve(score, x[i], maps[i], steps, baseline[i], insert, cells))
            for i in range(len(x))]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("insert", [False, True])
def test_matches_the_plain_curve_on_every_rank(shape, insert):
    model, w = linear_model(shape)
    x = inputs_for(shape)
    maps = np.random.default_rng(2).normal(size=x.shape[:-1]).astype(np.float32)
    metric = metrics.insertion if insert else metrics.deletion
    got = metric(model, x, maps, targets=0, steps=7, baseline=0.0)
    assert got.shape == (3,) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected(linear_score(w), x, maps, 7, np.zeros_like(x), insert), rtol=1e-4, atol=1e-5)


def test_probability_by_default_logit_on_request():
    model, w = linear_model((5, 4, 2), activation="softmax")
    x = 0.3 * inputs_for((5, 4, 2))
    maps = np.random.default_rng(3).normal(size=x.shape[:-1])
    zeros = np.zeros_like(x)
    probability = metrics.deletion(model, x, maps, targets=[0, 1, 0], steps=5)
    logit = metrics.deletion(model, x, maps, targets=[0, 1, 0], steps=5, use_logits=True)
    for i, column in enumerate([0, 1, 0]):
        want_p = expected(softmax_score(w, column), x[i : i + 1], maps[i : i + 1], 5, zeros, False)
        want_z = expected(linear_score(w, column), x[i : i + 1], maps[i : i + 1], 5, zeros, False)
        assert probability[i] == pytest.approx(want_p[0], rel=1e-4, abs=1e-6)
        assert logit[i] == pytest.approx(want_z[0], rel=1e-4, abs=1e-5)
    assert np.all((probability >= 0) & (probability <= 1))


def test_top_class_is_pinned_to_the_clean_input():
    model, w = linear_model((5, 4, 2), activation="softmax")
    x = inputs_for((5, 4, 2))
    maps = (w * x).sum(-1)
    top = np.argmax(model(x).numpy(), axis=1)
    np.testing.assert_allclose(metrics.deletion(model, x, maps, steps=6), metrics.deletion(model, x, maps, targets=top, steps=6))


def test_grid_cells_ranked_by_their_mean():
    shape = (5, 7, 2)
    model, w = linear_model(shape)
    x = inputs_for(shape)
    maps = np.random.default_rng(4).normal(size=x.shape[:-1])
    cells = grid_cells((5, 7), (2, 3))
    zeros = np.zeros_like(x)
    got = metrics.deletion(model, x, maps, targets=0, steps=4, grid=(2, 3))
    np.testing.assert_allclose(got, expected(linear_score(w), x, maps, 4, zeros, False, cells), rtol=1e-4, atol=1e-5)
    every_cell = metrics.insertion(model, x, maps, targets=0, steps=100, grid=2, baseline=0.0)
    want = expected(linear_score(w), x, maps, 4, zeros, True, grid_cells((5, 7), (2, 2)))
    np.testing.assert_allclose(every_cell, want, rtol=1e-4, atol=1e-5)


def test_the_exact_map_beats_random_maps():
    """On ``score = sum(w * x)`` removing the largest ``w * x`` first is the steepest descent."""
    model, w = linear_model((6, 6, 1))
    x = np.abs(inputs_for((6, 6, 1), n=2))
    exact = (w * x)[..., 0]
    rng = np.random.default_rng(5)
    exact_del = metrics.deletion(model, x, exact, targets=0, steps=12)
    exact_ins = metrics.insertion(model, x, exact, targets=0, steps=12, baseline=0.0)
    for _ in range(5):
        random_map = rng.normal(size=exact.shape)
        assert np.all(exact_del <= metrics.deletion(model, x, random_map, targets=0, steps=12) + 1e-6)
        assert np.all(exact_ins >= metrics.insertion(model, x, random_map, targets=0, steps=12, baseline=0.0) - 1e-6)


def test_constant_maps_keep_the_order_of_positions():
    model, w = linear_model((4, 5, 2))
    x = inputs_for((4, 5, 2))
    in_order = -np.arange(20, dtype=np.float32).reshape(4, 5)
    for value in (0.0, 3.5):
        constant = np.full((3, 4, 5), value)
        np.testing.assert_allclose(
            metrics.insertion(model, x, constant, targets=0, steps=9),
            metrics.insertion(model, x, np.broadcast_to(in_order, (3, 4, 5)), targets=0, steps=9),
        )


def test_auc_of_a_score_the_input_does_not_change_is_that_score():
    inp = keras.Input((4, 4, 1))
    out = keras.layers.Dense(3, activation="softmax")(keras.layers.Lambda(lambda t: 0.0 * t[:, 0, 0, :] + 1.0)(inp))
    model = keras.Model(inp, out)
    x = inputs_for((4, 4, 1))
    p = model(x).numpy()[np.arange(3), [0, 2, 1]]
    maps = x[..., 0]
    np.testing.assert_allclose(metrics.deletion(model, x, maps, targets=[0, 2, 1], steps=5), p, rtol=1e-6)
    np.testing.assert_allclose(metrics.insertion(model, x, maps, targets=[0, 2, 1], steps=5), p, rtol=1e-6)


def test_baselines_mean_blur_and_arrays():
    shape = (6, 5, 2)
    model, w = linear_model(shape)
    x = inputs_for(shape)
    maps = np.random.default_rng(6).normal(size=x.shape[:-1])
    mean = np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape)
    score = linear_score(w)
    np.testing.assert_allclose(
        metrics.deletion(model, x, maps, targets=0, steps=6, baseline="mean"),
        expected(score, x, maps, 6, mean, False), rtol=1e-4, atol=1e-5,
    )
    np.testing.assert_allclose(
        metrics.insertion(model, x, maps, targets=0, steps=6),
        expected(score, x, maps, 6, plain_blur(x), True), rtol=1e-4, atol=1e-5,
    )
    per_channel = np.array([0.5, -1.0], np.float32)
    np.testing.assert_allclose(
        metrics.deletion(model, x, maps, targets=0, steps=6, baseline=per_channel),
        expected(score, x, maps, 6, np.broadcast_to(per_channel, x.shape), False), rtol=1e-4, atol=1e-5,
    )


def reflect(i, n):
    """SciPy's "reflect" index (half-sample symmetric) of position i on n samples."""
    while not 0 <= i < n:
        i = -i - 1 if i < 0 else 2 * n - i - 1
    return i


def plain_gkern(klen=11, nsig=5.0):
    """The RISE authors' ``gkern``: SciPy's ``gaussian_filter`` (truncate 4, reflect) of
    a unit impulse, filtered along rows then columns, written as loops."""
    radius = int(4.0 * nsig + 0.5)
    weights = np.exp(-0.5 * (np.arange(-radius, radius + 1) / nsig) ** 2)
    weights /= weights.sum()
    image = np.zeros((klen, klen))
    image[klen // 2, klen // 2] = 1.0
    for axis in (0, 1):
        out = np.zeros_like(image)
        for i in range(klen):
            for j in range(klen):
                for o in range(-radius, radius + 1):
                    src = (reflect(i + o, klen), j) if axis == 0 else (i, reflect(j + o, klen))
                    out[i, j] += weights[o + radius] * image[src]
        image = out
    return image


def plain_blur(x):
    """``conv2d(x, gkern per channel, padding=5)`` on ``(N, H, W, C)`` as loops."""
    kernel = plain_gkern()
    half = 5
    out = np.zeros(x.shape)
    n, h, wd, c = x.shape
    padded = np.zeros((n, h + 2 * half, wd + 2 * half, c))
    padded[:, half : half + h, half : half + wd] = x
    for i in range(h):
        for j in range(wd):
            out[:, i, j] = np.einsum("nijc,ij->nc", padded[:, i : i + 11, j : j + 11], kernel)
    return out


def test_blur_is_the_rise_authors_kernel_on_every_rank():
    x = inputs_for((9, 7, 2))
    np.testing.assert_allclose(blur(x, 2), plain_blur(x), rtol=1e-5, atol=1e-6)
    kernel = plain_gkern()
    factor = kernel[:, 5] / np.sqrt(kernel[5, 5])  # gkern is the outer product of this
    np.testing.assert_allclose(np.outer(factor, factor), kernel, rtol=1e-10)
    signal = inputs_for((13, 1))[..., 0]
    padded = np.pad(signal, ((0, 0), (5, 5)))
    plain = np.stack([padded[:, i : i + 11] @ factor for i in range(13)], axis=1)
    np.testing.assert_allclose(blur(signal[..., None], 1)[..., 0], plain, rtol=1e-5, atol=1e-6)
    volume = inputs_for((4, 5, 6, 1))[..., 0]
    cube = np.einsum("i,j,k->ijk", factor, factor, factor)
    padded = np.pad(volume, ((0, 0), (5, 5), (5, 5), (5, 5)))
    plain = np.zeros_like(volume)
    for i, j, k in np.ndindex(4, 5, 6):
        plain[:, i, j, k] = np.einsum("nijk,ijk->n", padded[:, i : i + 11, j : j + 11, k : k + 11], cube)
    np.testing.assert_allclose(blur(volume[..., None], 3)[..., 0], plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_batch_size_does_not_change_the_scores(batch_size):
    model, w = linear_model((5, 4, 2), activation="softmax")
    x = inputs_for((5, 4, 2), n=4)
    maps = np.random.default_rng(7).normal(size=(4, 2, 5, 4))
    reference = metrics.deletion(model, x, maps, targets=np.array([[0, 1]] * 4), steps=6, batch_size=64)
    got = metrics.deletion(model, x, maps, targets=np.array([[0, 1]] * 4), steps=6, batch_size=batch_size)
    np.testing.assert_allclose(got, reference, rtol=1e-6, atol=1e-7)
    assert got.shape == (4, 2)
    for t in (0, 1):
        alone = metrics.deletion(model, x, maps[:, t], targets=t, steps=6)
        np.testing.assert_allclose(got[:, t], alone, rtol=1e-6, atol=1e-7)


def test_at_most_batch_size_copies_in_flight():
    model, _ = linear_model((5, 4, 2))
    x = inputs_for((5, 4, 2), n=3)
    maps = x[..., 0]
    monitor = BatchMonitor(column=0)
    metrics.insertion(model, x, maps, targets=monitor, steps=9, batch_size=4)
    assert int(monitor.largest.numpy()) == 4  # one input at a time, blocks of 4 of its 9 copies
    monitor.reset()
    metrics.insertion(model, x, maps, targets=monitor, steps=9, batch_size=25)
    # two inputs of 9 copies per chunk: 10 curve points, the clean end is the pinning pass's score
    assert int(monitor.largest.numpy()) == 18


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(maps=np.zeros((3, 4, 4))), ValueError, r"maps must have shape .*N = 3 .*\(5, 4\)"),
        (dict(maps=np.zeros((3, 2, 5, 4))), ValueError, "2 map.* targets give 1"),
        (dict(maps=np.full((3, 5, 4), np.nan)), ValueError, "maps hold NaN"),
        (dict(steps=0), ValueError, "steps must be an int >= 1"),
        (dict(baseline="black"), ValueError, "baseline must be a number, an array, 'mean' or 'blur'"),
        (dict(baseline=np.zeros((2, 2))), ValueError, r"baseline has shape \(2, 2\)"),
        (dict(grid=(2, 5)), ValueError, "grid must have at most"),
        (dict(grid=(2, 2, 2)), ValueError, "grid has 3 entries"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(use_logits=1), TypeError, "use_logits"),
        (dict(step=5), TypeError, "'step'"),
    ],
)
def test_errors_name_the_argument(kwargs, error, message):
    model, _ = linear_model((5, 4, 2))
    x = inputs_for((5, 4, 2))
    args = dict(maps=x[..., 0])
    args.update(kwargs)
    maps = args.pop("maps")
    with pytest.raises(error, match=message):
        metrics.deletion(model, x, maps, targets=0, **args)


def test_token_inputs_are_refused():
    model = token_model()
    with pytest.raises(ValueError, match="needs a float input"):
        metrics.deletion(model, np.zeros((2, 8), np.int32), np.zeros((2, 8)))


def test_multi_input_models_perturb_the_spatial_input_only():
    from helpers.models import multi_input_model

    model = multi_input_model()
    images, vectors = inputs_for((12, 12, 3), n=2), inputs_for((4,), n=2)
    maps = images[..., 0]
    got = metrics.deletion(model, [images, vectors], maps, steps=4, batch_size=3)
    top = np.argmax(model([images, vectors]).numpy(), axis=1)

    def score(i):
        return lambda copy: float(model([copy[None], vectors[i : i + 1]]).numpy()[0, top[i]])

    want = [plain_auc(plain_causal_curve(score(i), images[i], maps[i], 4, np.zeros_like(images[i]), False))
            for i in range(2)]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)

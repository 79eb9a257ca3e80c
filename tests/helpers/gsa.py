"""Plain numpy references for the global-sensitivity methods (Sobol, HSIC): the grid
masks, the perturbations, the scores of a design, the estimators written out (the
total Sobol indices; Xplique's HSIC with full Gram matrices), and a toy additive model
whose per-cell coefficients are known."""
import keras
import numpy as np

from helpers.reference import gather, probabilities, upsample_maps


def nearest_cells(size, cells):
    """Cell of each of ``size`` samples: ``floor((i + 0.5) cells / size)``."""
    return np.minimum(np.floor((np.arange(size) + 0.5) * cells / size).astype(int), cells - 1)


def grid_masks(design, grid, sizes):
    """``(P, d)`` design points -> ``(P, *sizes)`` masks, each cell's value on its samples."""
    masks = design.reshape((-1,) + tuple(grid)).astype(np.float64)
    for axis, (size, cells) in enumerate(zip(sizes, grid)):
        masks = np.take(masks, nearest_cells(size, cells), axis=1 + axis)
    return masks


def box_blur(x, size=10):
    """OpenCV's ``blur`` on every spatial axis of ``x (n, *S, C)``: window ``[i - 5, i + 4]``,
    border mirrored without the edge (numpy's ``reflect``)."""
    x = np.asarray(x, np.float64)
    for axis in range(1, x.ndim - 1):
        before = size // 2
        pad = [(0, 0)] * x.ndim
        pad[axis] = (before, size - 1 - before)
        padded = np.pad(x, pad, mode="reflect")
        length = x.shape[axis]
        x = sum(np.take(padded, np.arange(k, k + length), axis=axis) for k in range(size)) / size
    return x


def perturbed(x, mask, perturbation):
    """One copy of ``x (n, *S, C)`` perturbed by ``mask (*S)``."""
    keep = mask[None, ..., None]
    if perturbation == "amplitude":
        return x * (keep - 0.5)
    base = box_blur(x) if perturbation == "blurring" else np.zeros_like(x)
    return x * keep + (1.0 - keep) * base


def design_scores(model, x, classes, masks, perturbation="inpainting"):
    """Probabilities ``(n, T, P)`` of the classes on the copies perturbed by ``masks (P, *S)``."""
    out = [gather(probabilities(model, perturbed(x, m, perturbation).astype(np.float32)), classes) for m in masks]
    return np.stack(out, axis=-1).astype(np.float64)


def on_input(indices, grid, sizes):
    """Cell indices ``(n, T, d)`` as maps ``(n, T, *sizes)``: reshaped, resized linearly."""
    maps = indices.reshape(indices.shape[:2] + tuple(grid))
    return maps if tuple(grid) == tuple(sizes) else upsample_maps(maps, sizes)


def reference_maps(model, x, targets, options, make_design, indices):
    """The maps a GSA method's ``options`` define, from numpy: ``make_design(sampler, d,
    designs, seed)`` (the method's design), the class probabilities on each perturbed copy
    (:func:`design_scores`), ``indices(scores (n, T, P), design) -> (n, T, d)``, resized
    onto the input (:func:`on_input`)."""
    sizes = x.shape[1:-1]
    grid = options["grid"] if isinstance(options["grid"], tuple) else (options["grid"],) * len(sizes)
    design = make_design(options.get("sampler", "sobol"), int(np.prod(grid)), options["designs"],
                         options.get("seed", 0))
    masks = grid_masks(design, grid, sizes)
    scores = design_scores(model, x, targets, masks, options.get("perturbation", "inpainting"))
    return on_input(indices(scores, design.astype(np.float64)), grid, sizes)


def reference_segment_maps(model, x, targets, labels, options, make_design, indices):
    """As :func:`reference_maps` with features: per input, labels ``(*S)`` renumbered
    ``0..K-1`` (``np.unique``), its own design of ``K`` coordinates, masks
    ``design[:, label]``, and each feature's index painted onto its positions."""
    maps = []
    for i in range(len(x)):
        _, label = np.unique(labels[i], return_inverse=True)
        label = label.reshape(labels[i].shape)
        design = make_design(options.get("sampler", "sobol"), int(label.max()) + 1, options["designs"],
                             options.get("seed", 0))
        scores = design_scores(model, x[i : i + 1], targets[i : i + 1], design[:, label],
                               options.get("perturbation", "inpainting"))
        maps.append(indices(scores, design.astype(np.float64))[0][:, label])
    return np.stack(maps)


def additive_model(coefficients, bias=0.3):
    """``f(x) = bias + sum_p coefficients[p] x[p]`` on inputs ``(*coefficients.shape, 1)``:
    on ``x = 1`` masked by ``m`` (inpainting), ``f = bias + sum_p coefficients[p] m[p]``."""
    shape = coefficients.shape + (1,)
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.layers[-1].set_weights([coefficients.reshape(-1, 1).astype(np.float32), np.array([bias], np.float32)])
    return model


def var(v):
    return max(np.var(v, ddof=1), 1e-12)


def plain_estimator(name, a, c):
    """The estimators for one score series: a (N,), c (d, N) -> (d,), written out plainly."""
    n = a.size
    if name == "jansen":
        return np.array([np.sum((a - ci) ** 2) / (2 * n * var(a)) for ci in c])
    if name == "homma":
        return np.array([(var(a) - np.mean(a * ci) + np.mean(a) ** 2) / var(a) for ci in c])
    if name == "janon":
        out = []
        for ci in c:
            mu = (a.mean() + ci.mean()) / 2
            v = max((np.sum(a**2) + np.sum(ci**2)) / (2 * (n - 1)) - mu**2, 1e-12)
            out.append(1 - (np.mean(a * ci) - mu**2) / v)
        return np.array(out)
    if name == "glen":
        return np.array([1 - np.cov(a, ci, ddof=1)[0, 1] / np.sqrt(var(a) * var(ci)) for ci in c])
    assert name == "saltelli"
    return np.array([1 - (np.mean(a * ci) - a.mean() ** 2) / var(a) for ci in c])


def plain_sobol(scores, designs, estimator="jansen"):
    """Indices (n, T, d) from scores (n, T, N (d + 1)) of [A; C_0; ...; C_{d-1}]."""
    n, t, p = scores.shape
    out = np.zeros((n, t, p // designs - 1))
    for i in range(n):
        for j in range(t):
            a, c = scores[i, j, :designs], scores[i, j, designs:].reshape(-1, designs)
            out[i, j] = plain_estimator(estimator, a, c)
    return out


def plain_hsic(scores, design):
    """Xplique's BinaryEstimator, per score series: scores (n, T, N), design (N, d) -> (n, T, d)."""
    count, d = design.shape
    h = np.eye(count) - np.ones((count, count)) / count
    out = np.zeros(scores.shape[:2] + (d,))
    for idx in np.ndindex(*scores.shape[:2]):
        y = scores[idx]
        width = np.median(y)
        lc = h @ np.exp(-((y[:, None] - y[None, :]) ** 2) / (2 * width**2)) @ h
        for i in range(d):
            k = 1 + (0.5 - (design[:, i][:, None] - design[:, i][None, :]) ** 2)
            out[idx + (i,)] = np.sum((h @ k @ h) * lc.T) / count
    return out

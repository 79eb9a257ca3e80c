"""Toy models whose metric values are known, and the metrics' maths written plainly
(numpy, one input at a time, explicit loops) for the tests in ``tests/metrics/``."""
import keras
import numpy as np

L = keras.layers


def linear_model(shape, seed=0, name="linear", activation=None):
    """``(N, *shape) -> (N, 2)``: class 0's logit is ``sum(w * x)``, class 1's
    ``sum(-w * x)``, no bias; no activation (the outputs are the logits) or
    ``activation`` (e.g. "softmax"). Returns ``(model, w)``."""
    w = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    inp = keras.Input(shape)
    out = L.Dense(2, use_bias=False, activation=activation)(L.Flatten()(inp))
    model = keras.Model(inp, out, name=name)
    model.layers[-1].set_weights([np.stack([w.ravel(), -w.ravel()], axis=1)])
    return model, w


def plain_auc(curve):
    """RISE's ``auc``: trapezoid on [0, 1] with even spacing."""
    curve = np.asarray(curve, np.float64)
    return (curve.sum() - curve[0] / 2 - curve[-1] / 2) / (len(curve) - 1)


def grid_cells(spatial, grid):
    """Cell id of every position ``(*S)``: position i of an axis of length D is in cell
    floor(i * g / D); ids in C order of the cells."""
    ids = np.zeros(spatial, int)
    for position in np.ndindex(*spatial):
        cell = 0
        for i, d, g in zip(position, spatial, grid):
            cell = cell * g + i * g // d
        ids[position] = cell
    return ids


def plain_causal_curve(score, x, relevance, steps, baseline, insert, cells=None):
    """One input ``x (*S, C)``: features are the positions of ``relevance (*S)`` (or the
    cells ``cells (*S)`` names, ranked by the mean relevance over the cell), most
    relevant first (ties: first in C order); step k changes floor(k F / steps) features."""
    spatial = relevance.shape
    cells = np.arange(relevance.size).reshape(spatial) if cells is None else cells
    count = cells.max() + 1
    mean = [relevance[cells == c].mean() for c in range(count)]
    order = sorted(range(count), key=lambda c: (-mean[c], c))
    curve = []
    for k in range(steps + 1):
        chosen = order[: k * count // steps]
        changed = np.isin(cells, chosen)[..., None]
        if insert:
            copy = np.where(changed, x, baseline)
        else:
            copy = np.where(changed, baseline, x)
        curve.append(score(copy))
    return np.array(curve)


def plain_ranks(values):
    """1-based ranks, ties averaged, by counting."""
    values = list(values)
    return np.array([sum(v < x for v in values) + (sum(v == x for v in values) + 1) / 2 for x in values])


def plain_spearman(a, b):
    ra, rb = plain_ranks(a.ravel()), plain_ranks(b.ravel())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    return (ra * rb).sum() / np.sqrt((ra * ra).sum() * (rb * rb).sum())


def plain_ssim_2d(a, b, size=11, sigma=1.5):
    """Wang et al. (2004) on one pair of 2-D maps: Gaussian window, valid positions only."""
    g = np.exp(-0.5 * ((np.arange(size) - (size - 1) / 2) / sigma) ** 2)
    w = np.outer(g, g) / np.outer(g, g).sum()
    span = max(a.max(), b.max()) - min(a.min(), b.min()) or 1.0
    c1, c2 = (0.01 * span) ** 2, (0.03 * span) ** 2
    values = []
    for i in range(a.shape[0] - size + 1):
        for j in range(a.shape[1] - size + 1):
            pa, pb = a[i : i + size, j : j + size], b[i : i + size, j : j + size]
            ma, mb = (w * pa).sum(), (w * pb).sum()
            va, vb = (w * (pa - ma) ** 2).sum(), (w * (pb - mb) ** 2).sum()
            cov = (w * (pa - ma) * (pb - mb)).sum()
            values.append((2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return np.mean(values)

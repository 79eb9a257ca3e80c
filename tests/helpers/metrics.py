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

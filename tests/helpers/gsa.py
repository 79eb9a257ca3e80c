"""Plain numpy references for the global-sensitivity methods (Sobol, HSIC): the grid
masks, the perturbations, the scores of a design, and a toy additive model whose
per-cell coefficients are known."""
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


def design_scores(model, x, classes, design, grid, perturbation="inpainting"):
    """Probabilities ``(n, T, P)`` of the classes on each design point's perturbed copy."""
    masks = grid_masks(design, grid, x.shape[1:-1])
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
    scores = design_scores(model, x, targets, design, grid, options.get("perturbation", "inpainting"))
    return on_input(indices(scores, design.astype(np.float64)), grid, sizes)


def additive_model(coefficients, bias=0.3):
    """``f(x) = bias + sum_p coefficients[p] x[p]`` on inputs ``(*coefficients.shape, 1)``:
    on ``x = 1`` masked by ``m`` (inpainting), ``f = bias + sum_p coefficients[p] m[p]``."""
    shape = coefficients.shape + (1,)
    model = keras.Sequential([keras.Input(shape), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.layers[-1].set_weights([coefficients.reshape(-1, 1).astype(np.float32), np.array([bias], np.float32)])
    return model

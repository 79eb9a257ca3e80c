"""Sobol and HSIC attribution against Xplique 2.0.2 itself: same model, same design,
largest difference of the indices, and the speed of both on the same number of design
points.

Xplique is not a dependency (the test suite never imports it); run this from an
environment that has it beside this checkout, e.g.::

    . /work/refvenv/bin/activate
    PYTHONPATH=. python benchmarks/parity_gsa.py --images 4 --repeats 3

Parity: Xplique's ``(8, 8)`` indices per image are recomputed with its own objects
(``explainer.masks``, ``perturbation_function``, ``inference_function``,
``estimator``; i.e. the body of its ``explain`` without the final bicubic resize),
resized onto the input with eli5-keras' linear resize (``utils.resize.resize_array``;
Xplique resizes bicubically) and compared with ``explain(..., relu=False,
normalize=False)``: largest absolute difference, and relative to the largest index.
The designs are compared too (Xplique's ``A`` and ``C`` rows against
``gsa_design.sobol_design``; HSIC's binary points against ``binary_design``).

Speed: ``explainer.explain(x, one_hot)`` against ``eli5_keras.explain`` (after one
warm-up each, medians of ``--repeats``), both at the same ``batch_size``. Xplique scores
``N (d + 2)`` points for Sobol, eli5-keras ``N (d + 1)`` (``f(B)`` is never read).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from xplique.attributions import HsicAttributionMethod, SobolAttributionMethod  # noqa: E402
from xplique.commons import batch_tensor  # noqa: E402

import eli5_keras  # noqa: E402
from bench_gradcam import small_cnn, timed  # noqa: E402
from eli5_keras.methods.gsa_design import binary_design, sobol_design  # noqa: E402
from eli5_keras.utils.resize import resize_array  # noqa: E402


def xplique_indices(explainer, x, one_hot):
    """Xplique's per-image grid indices ``(n, g, g)``: its ``explain`` loop, no resize."""
    out = []
    for inp, target in zip(tf.constant(x), tf.constant(one_hot)):
        perturbator = explainer.perturbation_function(inp)
        outputs = tf.concat([
            explainer.inference_function(explainer.model, *explainer._batch_perturbations(
                masks, perturbator, target, x.shape[1:3]))
            for masks in batch_tensor(explainer.masks, explainer.batch_size)
        ], axis=0)
        out.append(explainer.estimator(explainer.masks, outputs, explainer.nb_design).numpy()[..., 0])
    return np.stack(out)


def compare(name, explainer, ours_options, design_check, model, x, batch_size, repeats):
    ours = eli5_keras.explain(model, x, method=name, batch_size=batch_size, relu=False, normalize=False,
                              **ours_options)
    one_hot = keras.utils.to_categorical(ours.targets[:, 0], model.output.shape[-1]).astype(np.float32)
    theirs = xplique_indices(explainer, x, one_hot)
    theirs_on_input = np.stack([resize_array(t, x.shape[1:3]) for t in theirs])
    diff = np.abs(ours.maps[:, 0] - theirs_on_input).max()
    scale = np.abs(theirs).max()
    t_ours = timed(lambda: eli5_keras.explain(model, x, method=name, batch_size=batch_size, **ours_options), repeats)
    t_theirs = timed(lambda: explainer.explain(x, one_hot), repeats)
    n = len(x)
    print(f"| {name} | {ours_options} | {design_check} | {diff:.2e} | {diff / scale:.2e} | "
          f"{1e3 * t_ours / n:.1f} | {1e3 * t_theirs / n:.1f} | {t_theirs / t_ours:.1f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=256, help="both libraries' batch size (Xplique's default)")
    parser.add_argument("--sobol-designs", type=int, default=32)
    parser.add_argument("--hsic-designs", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    model = small_cnn()
    x = np.random.default_rng(0).random((args.images, 64, 64, 3), dtype=np.float32)
    grid = 8
    print(f"TF {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs, {args.images} images 64x64, "
          f"batch_size {args.batch_size}")
    print("| method | options | same design | max abs diff | / max index | ours ms / image | Xplique ms / image "
          "| Xplique / ours |")
    print("|---|---|---|---:|---:|---:|---:|---:|")

    n = args.sobol_designs
    sobol = SobolAttributionMethod(model, grid_size=grid, nb_design=n, batch_size=args.batch_size)
    masks = sobol.masks.numpy().reshape(-1, grid * grid)
    ours_design = sobol_design("sobol", grid * grid, n, 0)
    same = np.array_equal(masks[:n], ours_design[:n]) and np.array_equal(masks[2 * n:], ours_design[n:])
    compare("sobol", sobol, dict(grid=grid, designs=n), same, model, x, args.batch_size, args.repeats)

    n = args.hsic_designs
    hsic = HsicAttributionMethod(model, grid_size=grid, nb_design=n, batch_size=args.batch_size)
    same = np.array_equal(hsic.masks.numpy().reshape(-1, grid * grid), binary_design("sobol", grid * grid, n, 0))
    compare("hsic", hsic, dict(grid=grid, designs=n), same, model, x, args.batch_size, args.repeats)


if __name__ == "__main__":
    main()

"""DRiseTarget's cost: time per image of methods explaining a detector's D-RISE score, the
same methods with the plain sum of the outputs as the target, and the floor (as in
``bench_methods.py``: the model's own compiled forward(+backward) passes in the same process).

The detector (no NMS): three stride-2 convolutions on 64x64x3 images to an 8x8 grid with 4
proposals per cell, ``P = 256`` proposals of ``4 + 1 + 20`` values (xyxy boxes around the cell,
sigmoid objectness, softmax over 20 classes); ``R`` references per image (its most confident
proposals). Run::

    python benchmarks/bench_drise.py [--batch 16] [--repeats 5] [--references 4]

and paste the table into docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import eli5_keras  # noqa: E402
from bench_gradcam import timed_pair  # noqa: E402
from bench_methods import floor_run  # noqa: E402
from eli5_keras.targets import DRiseTarget, FunctionTarget  # noqa: E402

L = keras.layers
SIZE, GRID, ANCHORS, CLASSES = 64, 8, 4, 20


def detector() -> keras.Model:
    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZE, SIZE, 3))
    h = inp
    for filters in (16, 32, 64):
        h = L.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(h)
    h = L.Conv2D(32, 3, padding="same", activation="relu", name="features")(h)
    raw = L.Reshape((GRID * GRID * ANCHORS, 5 + CLASSES))(L.Conv2D(ANCHORS * (5 + CLASSES), 1)(h))
    cell = SIZE / GRID
    centres = np.stack(np.meshgrid(np.arange(GRID), np.arange(GRID)), -1).reshape(-1, 2) * cell + cell / 2
    centres = np.repeat(centres, ANCHORS, axis=0)[None].astype("float32")
    centre = L.Lambda(lambda t: centres + cell * tf.tanh(t[..., :2]))(raw)
    size = L.Lambda(lambda t: 4 * cell * tf.sigmoid(t[..., 2:4]) + 1.0)(raw)
    objectness = L.Lambda(lambda t: tf.sigmoid(t[..., 4:5]))(raw)
    classes = L.Lambda(lambda t: tf.nn.softmax(t[..., 5:]))(raw)
    boxes = L.Concatenate()([centre - size / 2, centre + size / 2])
    return keras.Model(inp, L.Concatenate()([boxes, objectness, classes]), name="detector")


PLANS = {  # method: (options, floor kind, expansion)
    "saliency": ({"reduce": "max_abs"}, "input", 1),
    "gradcam": ({"layer": "features"}, "layer", 1),
    "rise": ({"masks": 512, "grid": 8}, "masked", 512),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--references", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    model = detector()
    x = np.random.default_rng(0).uniform(0, 1, (args.batch, SIZE, SIZE, 3)).astype(np.float32)
    proposals = np.asarray(model(x))
    top = np.argsort(-proposals[..., 4], axis=1)[:, :args.references]
    references = np.take_along_axis(proposals, top[..., None], axis=1)
    targets = {"drise": DRiseTarget(references), "sum": FunctionTarget(lambda out: tf.reduce_sum(out, axis=[1, 2]))}
    print(f"TF {tf.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared), "
          f"{args.batch} images {SIZE}x{SIZE}x3, {proposals.shape[1]} proposals x {proposals.shape[2]}, "
          f"R = {args.references}, batch_size={args.batch_size}, medians of {args.repeats}\n")
    print("| method | target | ms / image | floor | floor ms / image | ratio |")
    print("|---|---|---:|---|---:|---:|")
    for method, (options, kind, expansion) in PLANS.items():
        floor = floor_run(kind, expansion, model, "features", x, args.batch_size)
        for name, target in targets.items():
            def ours():
                eli5_keras.explain(model, x, method, targets=target, batch_size=args.batch_size, relu=False,
                                   normalize=False, **options)

            t, f, ratio = timed_pair(ours, floor, args.repeats)
            label = f"{kind} x{expansion}" if expansion > 1 else kind
            print(f"| {method} | {name} | {1e3 * t / len(x):.2f} | {label} | {1e3 * f / len(x):.2f} | {ratio:.2f} |",
                  flush=True)


if __name__ == "__main__":
    sys.exit(main())

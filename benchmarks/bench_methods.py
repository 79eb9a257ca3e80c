"""Every method's speed: time per image and the ratio to that method's own floor.

The floor is the least work the method's definition needs, run as plain compiled
TensorFlow in the same process, with no explanation maths:

* ``layer``: one forward + backward to the explained layer (CAM gradient methods);
* ``forward``: forward passes only (Eigen-CAM);
* ``input``: forward + backward to the input on ``E x batch`` inputs (E = 1 for
  saliency, ``steps + 1`` for Integrated Gradients, ``samples`` for SmoothGrad);
* ``masked``: forward passes on ``E x batch`` inputs (E = channels for Score-CAM and
  Ablation-CAM, masks for RISE, windows for occlusion, design points for Sobol and HSIC);
* ``input+layer``: both of the first two (Guided Grad-CAM: its definition is a guided
  backward pass to the input times Grad-CAM's ordinary backward pass to the layer; the
  two gradients of the same score differ at every ReLU, so they cannot share a pass).

The method and its floor run alternately (``timed_pair``): the times are medians over
``--repeats`` pairs and the ratio is the median of the per-pair ratios, so a slow spell
of the machine slows both sides of a pair rather than one column.

Run::

    python benchmarks/bench_methods.py                       # small CNN, batch 32, all methods
    python benchmarks/bench_methods.py --models small resnet50 --methods gradcam integrated_gradients

and paste the table into docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import eli5_keras  # noqa: E402
from bench_gradcam import MODELS, floor_function, timed, timed_pair  # noqa: E402

# Per method: options used in the benchmark, and how to count its floor.
PLANS = {
    "gradcam": ({}, "layer", None),
    "gradcam++": ({}, "layer", None),
    "xgradcam": ({}, "layer", None),
    "layercam": ({}, "layer", None),
    "hirescam": ({}, "layer", None),
    "gradcam_elementwise": ({}, "layer", None),
    "eigengradcam": ({}, "layer", None),
    "cam": ({}, "forward", None),
    "eigencam": ({}, "forward", None),
    "saliency": ({}, "input", lambda o, c: 1),
    "gradient_input": ({}, "input", lambda o, c: 1),
    "guided_backprop": ({}, "input", lambda o, c: 1),
    "deconvnet": ({}, "input", lambda o, c: 1),
    "guided_gradcam": ({}, "input+layer", lambda o, c: 1),
    "fullgrad": ({}, "input", lambda o, c: 1),
    "integrated_gradients": ({"steps": 50}, "input", lambda o, c: o["steps"] + 1),
    "smoothgrad": ({"samples": 8, "base": "saliency"}, "input", lambda o, c: o["samples"]),
    "vargrad": ({"samples": 8, "base": "saliency"}, "input", lambda o, c: o["samples"]),
    "squaregrad": ({"samples": 8, "base": "saliency"}, "input", lambda o, c: o["samples"]),
    "scorecam": ({"max_channels": 16}, "masked", lambda o, c: min(o["max_channels"], c)),
    "ablationcam": ({}, "masked", lambda o, c: c),
    "rise": ({"masks": 64, "seed": 0}, "masked", lambda o, c: o["masks"]),
    "occlusion": ({"window": 16, "stride": 16}, "masked", None),
    # Sobol: designs x (grid^2 + 1) masked passes (A and the C_i); HSIC: designs passes.
    "sobol": ({"grid": 8, "designs": 8}, "masked", lambda o, c: o["designs"] * (o["grid"] ** 2 + 1)),
    "hsic": ({"grid": 8, "designs": 128}, "masked", lambda o, c: o["designs"]),
    "tta": ({"base": "gradcam"}, "layer", lambda o, c: 6),
    "lime": ({"samples": 256}, "masked", lambda o, c: o["samples"]),
    "kernelshap": ({"samples": 256}, "masked", lambda o, c: o["samples"] + 1),  # + the baseline pass
    # Variants ("method:label", run only when named): LIME with Xplique's input-space kernel, and
    # with a scikit-learn regressor fitted outside the graph (Xplique's interpretable_model).
    "lime:euclidean": ({"samples": 256, "kernel": "euclidean", "kernel_width": 45.0, "original_sample": False},
                       "masked", lambda o, c: o["samples"]),
    "lime:regressor": ({"samples": 256, "regressor": "Ridge(alpha=2)"}, "masked", lambda o, c: o["samples"]),
}


def method_options(options: dict) -> dict:
    """The plan's options as ``explain()`` takes them (a regressor named by its repr is built)."""
    if isinstance(options.get("regressor"), str):
        from sklearn.linear_model import Ridge  # noqa: F401  (the names a repr may use)

        return {**options, "regressor": eval(options["regressor"])}  # noqa: S307  (our own table)
    return options


def forward_function(model: keras.Model):
    @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(model.input.shape[1:]), tf.float32)])
    def forward(x):
        return model(x, training=False)

    return forward


def input_gradient_function(model: keras.Model):
    @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(model.input.shape[1:]), tf.float32)])
    def forward_backward(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = tf.reduce_max(model(x, training=False), axis=-1)
        return tape.gradient(score, x)

    return forward_backward


def windows(size: int, window: int, stride: int) -> int:
    return -(-(size - window) // stride) + 1


def floor_run(kind, expansion, model, layer, x, batch_size):
    """A callable running the floor for ``x`` (the batch), streaming E x batch inputs
    through in chunks of ``batch_size`` as the method does."""
    if kind == "input+layer":
        parts = [floor_run(part, expansion, model, layer, x, batch_size) for part in ("input", "layer")]
        return lambda: [part() for part in parts]
    if kind == "layer":
        fn = floor_function(model, layer)
        copies = np.concatenate([x] * expansion)
        return lambda: fn(tf.constant(copies)).numpy()
    fn = forward_function(model) if kind in ("forward", "masked") else input_gradient_function(model)
    total = len(x) * (expansion if kind in ("input", "masked") else 1)
    chunk = np.repeat(x, -(-batch_size // len(x)), axis=0)[:batch_size]

    def run():
        done = 0
        while done < total:
            size = min(batch_size, total - done)
            fn(tf.constant(chunk[:size])).numpy()
            done += size

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["small"], choices=list(MODELS))
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32, help="explain()'s batch_size")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-floor-inputs", type=int, default=None,
                        help="skip floors of more inputs than this (Ablation-CAM on ResNet50: 2048 x batch)")
    args = parser.parse_args()
    names = args.methods or eli5_keras.methods.available()
    print(f"TF {tf.__version__}, Keras {keras.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"batch {args.batch}, batch_size {args.batch_size}")
    print("| model | method | options | ms / image | floor | floor ms / image | ratio |")
    print("|---|---|---|---:|---|---:|---:|")
    for model_name in args.models:
        build, layer = MODELS[model_name]
        keras.utils.set_random_seed(0)
        model = build()
        channels = model.get_layer(layer).output.shape[-1]
        x = np.random.default_rng(0).random((args.batch,) + tuple(model.input.shape[1:]), dtype=np.float32)
        for name in names:
            if name not in PLANS:
                print(f"| {model_name} | {name} | - | no plan in benchmarks/bench_methods.py | | | |")
                continue
            options, kind, count = PLANS[name]
            if name == "occlusion":
                side = model.input.shape[1]
                expansion = windows(side, options["window"], options["stride"]) ** 2
            else:
                expansion = count(options, channels) if count else 1
            method = name.split(":")[0]
            kw = method_options(options)
            if eli5_keras.methods.get(method, **kw).uses_layer:
                kw["layer"] = layer

            def ours():
                eli5_keras.explain(model, x, method=method, batch_size=args.batch_size, **kw)

            label = f"{kind} x{expansion}" if expansion > 1 else kind
            opts = ", ".join(f"{k}={v}" for k, v in options.items()) or "-"
            if args.max_floor_inputs is not None and expansion * len(x) > args.max_floor_inputs:
                t = timed(ours, args.repeats)
                print(f"| {model_name} | {name} | {opts} | {1e3 * t / len(x):.2f} | {label} | not run | |", flush=True)
                continue
            floor = floor_run(kind, expansion, model, layer, x, args.batch_size)
            t, f, ratio = timed_pair(ours, floor, args.repeats)
            print(f"| {model_name} | {name} | {opts} | {1e3 * t / len(x):.2f} | {label} | "
                  f"{1e3 * f / len(x):.2f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()

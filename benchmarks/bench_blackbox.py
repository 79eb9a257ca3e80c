"""LIME and KernelSHAP against the ``lime`` package and Xplique on the same number of
samples and the same features (a regular grid), time per image.

Run from the reference environment (it has ``lime`` and ``xplique``; the test suite
never imports them)::

    . /work/refvenv/bin/activate
    PYTHONPATH=. python benchmarks/bench_blackbox.py --batch 4 --samples 256

Each line: our time per image, theirs, and the factor (theirs / ours). The ``lime``
package segments, masks and calls ``classifier_fn`` in numpy batches of 10 by default
(``--lime-batch`` changes it) and fits one scikit-learn ridge per image and label;
Xplique draws its samples in TensorFlow and fits one scikit-learn model per image.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import eli5_keras  # noqa: E402
from bench_gradcam import MODELS, timed  # noqa: E402
from eli5_keras.methods.segments import grid_labels  # noqa: E402


def lime_package(model, x, labels, samples, batch):
    from lime.lime_image import LimeImageExplainer

    explainer = LimeImageExplainer(random_state=0)

    def run():
        for image in x:
            explainer.explain_instance(
                image.astype(np.float64), lambda b: model.predict(b.astype(np.float32), verbose=0), top_labels=1,
                num_samples=samples, segmentation_fn=lambda _: labels, random_seed=0, batch_size=batch,
                hide_color=None,
            )

    return run


def xplique(cls_name, model, x, labels, samples, batch):
    import xplique.attributions as attributions

    explainer = getattr(attributions, cls_name)(
        model, batch_size=batch, nb_samples=samples,
        map_to_interpret_space=lambda _: tf.constant(labels.astype(np.int32)),  # one input at a time
    )
    targets = tf.one_hot(np.argmax(model.predict(x, verbose=0), axis=1), model.output.shape[-1])

    return lambda: explainer.explain(tf.constant(x), targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--grid", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=64, help="explain()'s and Xplique's batch_size")
    parser.add_argument("--lime-batch", type=int, default=10, help="the lime package's batch_size (its default)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    model = MODELS["small"][0]()
    x = np.random.default_rng(0).random((args.batch,) + tuple(model.input.shape[1:]), dtype=np.float32)
    labels = grid_labels(x.shape[1:3], args.grid)
    print(f"TF {tf.__version__}, Keras {keras.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"small CNN 64x64, batch {args.batch}, samples {args.samples}, {args.grid}x{args.grid} grid features")
    print("| method | ours ms / image | reference | theirs ms / image | factor |")
    print("|---|---:|---|---:|---:|")
    runs = {
        "lime": [("lime package (batch_size=%d)" % args.lime_batch,
                  lime_package(model, x, labels, args.samples, args.lime_batch)),
                 ("Xplique Lime", xplique("Lime", model, x, labels, args.samples, args.batch_size))],
        "kernelshap": [("Xplique KernelShap", xplique("KernelShap", model, x, labels, args.samples, args.batch_size))],
    }
    for name, references in runs.items():
        options = dict(samples=args.samples, grid=args.grid)
        if name == "lime":
            options["hide_value"] = "mean"

        def ours():
            eli5_keras.explain(model, x, method=name, batch_size=args.batch_size, **options)

        t = timed(ours, args.repeats)
        for label, theirs in references:
            start = time.perf_counter()
            theirs()  # one run: the references are slow and trace nothing worth warming up
            u = time.perf_counter() - start
            print(f"| {name} | {1e3 * t / len(x):.1f} | {label} | {1e3 * u / len(x):.1f} | {u / t:.1f} |", flush=True)


if __name__ == "__main__":
    main()

"""Grad-CAM speed: time per image, ratio to the floor, and eli5 0.16 for comparison.

The floor is the model's own compiled forward + backward to the explained layer, in
the same process: ``tf.function`` of ``keras.Model(inputs, [layer.output, output])``
with the gradient of the top class score with respect to the layer's output (the
keras.io Grad-CAM recipe, without any map computation).

Run::

    python benchmarks/bench_gradcam.py                 # all models, batch 1 and 32
    python benchmarks/bench_gradcam.py --models small  # quick

and paste the printed table into docs/benchmarks.md. eli5 0.16 is measured when it is
installed (``pip install -e '.[cpu,bench]'``); it explains one image per call.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import eli5_keras  # noqa: E402


def small_cnn() -> keras.Model:
    inputs = keras.Input((64, 64, 3))
    x = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(64, 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="small_cnn")


def resnet50() -> keras.Model:
    return keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))


MODELS = {"small": (small_cnn, "last_conv"), "resnet50": (resnet50, "conv5_block3_out")}


def timed(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs, after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_pair(first, second, repeats: int) -> tuple[float, float, float]:
    """Median wall times of ``first()`` and ``second()`` run alternately ``repeats`` times
    each (after one warm-up each), and the median of the per-pair ratios
    ``first / second``: a slow spell of the machine then slows both sides of a pair
    instead of one column of the table."""
    first()
    second()
    pairs = []
    for _ in range(repeats):
        start = time.perf_counter()
        first()
        middle = time.perf_counter()
        second()
        pairs.append((middle - start, time.perf_counter() - middle))
    ones, twos = zip(*pairs)
    return statistics.median(ones), statistics.median(twos), statistics.median(a / b for a, b in pairs)


def floor_function(model: keras.Model, layer_name: str):
    grad_model = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.output])

    @tf.function(input_signature=[tf.TensorSpec((None,) + tuple(model.input.shape[1:]), tf.float32)])
    def forward_backward(x):
        with tf.GradientTape() as tape:
            activations, outputs = grad_model(x, training=False)
            score = tf.reduce_max(outputs, axis=-1)
        return tape.gradient(score, activations)

    return forward_backward


def run(models: list, batches: list, repeats: int, eli5_images: int) -> list:
    rows = []
    for name in models:
        build, layer = MODELS[name]
        keras.utils.set_random_seed(0)
        model = build()
        shape = tuple(model.input.shape[1:])
        floor = floor_function(model, layer)
        for batch in batches:
            x = np.random.default_rng(0).random((batch,) + shape, dtype=np.float32)
            t_floor = timed(lambda: floor(tf.constant(x)).numpy(), repeats)
            t_ours = timed(lambda: eli5_keras.explain(model, x, layer=layer, batch_size=batch), repeats)
            rows.append(dict(model=name, batch=batch, method="explain()", per_image=t_ours / batch,
                             floor=t_floor / batch))
            if batch == 1:
                doc = x[:1]
                t_compat = timed(lambda: eli5_keras.explain_prediction(model, doc, layer=layer), repeats)
                rows.append(dict(model=name, batch=1, method="explain_prediction()", per_image=t_compat,
                                 floor=t_floor))
                try:
                    import eli5
                except ImportError:
                    eli5 = None
                if eli5 is not None and eli5_images:
                    t_eli5 = timed(lambda: eli5.explain_prediction(model, doc, layer=layer), eli5_images)
                    rows.append(dict(model=name, batch=1, method="eli5 0.16 explain_prediction()",
                                     per_image=t_eli5, floor=t_floor))
    return rows


def table(rows: list) -> str:
    lines = [
        "| model | batch | what | ms / image | floor ms / image | ratio to floor |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['batch']} | {r['method']} | {1e3 * r['per_image']:.2f} | "
            f"{1e3 * r['floor']:.2f} | {r['per_image'] / r['floor']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 32])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--eli5-images", type=int, default=5, help="repeats for eli5 0.16 (0 to skip)")
    args = parser.parse_args()
    rows = run(args.models, args.batches, args.repeats, args.eli5_images)
    print(f"TF {tf.__version__}, Keras {keras.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs")
    print(table(rows))


if __name__ == "__main__":
    main()

"""Vision transformers: time per image of the attention methods and of Grad-CAM inside
KerasHub's ViT encoder, and the ratio to the floor (the model's own compiled forward, or
forward + backward to the input, in the same process).

* ``attention_rollout``: floor = forward (one pass serves every target);
* ``transformer_attribution``: floor = forward + backward (one backward pass per target);
* ``gradcam`` at the automatic layer (``.../transformer_block_N/ln_1``, reached inside
  the encoder through the runner's per-call interception): floor = forward + backward.

The model is KerasHub's ``ViTImageClassifier`` built from constructor arguments with
random weights (no download). Run::

    python benchmarks/bench_attention.py                     # 64x64, patch 8, 4 blocks, dim 64
    python benchmarks/bench_attention.py --image 224 --patch 16 --layers 12 --dim 192 --heads 3

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
from bench_methods import forward_function, input_gradient_function  # noqa: E402

PLANS = {"attention_rollout": "forward", "transformer_attribution": "input", "gradcam": "input"}


def build(image: int, patch: int, layers: int, dim: int, heads: int) -> keras.Model:
    import keras_hub

    keras.utils.set_random_seed(0)
    backbone = keras_hub.models.ViTBackbone(
        image_shape=(image, image, 3), patch_size=patch, num_layers=layers, num_heads=heads, hidden_dim=dim,
        mlp_dim=4 * dim,
    )
    return keras_hub.models.ViTImageClassifier(backbone=backbone, num_classes=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=int, default=64)
    parser.add_argument("--patch", type=int, default=8)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model = build(args.image, args.patch, args.layers, args.dim, args.heads)
    x = np.random.default_rng(0).random((args.batch, args.image, args.image, 3), dtype=np.float32)
    print(f"TF {tf.__version__}, Keras {keras.__version__}, {platform.machine()}, {os.cpu_count()} CPUs, "
          f"KerasHub ViT {args.image}px patch {args.patch}, {args.layers} blocks, dim {args.dim}, "
          f"{args.heads} heads, batch {args.batch}")
    print("| method | ms / image | floor | floor ms / image | ratio |")
    print("|---|---:|---|---:|---:|")
    for name, kind in PLANS.items():
        floor_fn = forward_function(model) if kind == "forward" else input_gradient_function(model)

        def ours():
            eli5_keras.explain(model, x, method=name, batch_size=args.batch)

        def floor():
            floor_fn(tf.constant(x)).numpy()

        t, f, ratio = timed_pair(ours, floor, args.repeats)
        label = "forward" if kind == "forward" else "forward + backward"
        print(f"| {name} | {1e3 * t / len(x):.2f} | {label} | {1e3 * f / len(x):.2f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main()

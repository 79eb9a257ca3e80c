"""Speed of the model-running metrics against their floor and against Xplique's metrics,
and the agreement of the numbers on the same maps.

The **floor** of a metric is the forward passes its definition needs, run as plain
compiled TensorFlow (``model(x)`` in one ``tf.function``) on the same number of inputs,
streamed in chunks of ``--batch``, with no metric maths:

* deletion, insertion: ``(steps + 1) x N`` forward passes (the curve's points);
* mufidelity: ``(samples + 1) x N`` (the clean pass and one per random subset);
* avg_sensitivity (of saliency): ``(samples + 1) x N`` forward + backward passes to the
  input (saliency re-run on each noisy copy and on the clean input).

Ours and its floor run alternately (``timed_pair``), medians over ``--repeats`` pairs,
the ratio the median of the per-pair ratios. Xplique's metric (``Deletion``,
``Insertion``, ``MuFidelity``, ``AverageStability``, constructor included: it runs the
clean pass; one warm-up, then one timed run) is timed on the same model, inputs, maps, targets, batch size, steps or
samples and baseline. Agreement: our mean score beside Xplique's number (the AUC of the
mean curve equals the mean of the per-input AUCs); where the definitions differ the
script says so (``docs/benchmarks.md``).

Needs ``xplique`` (not a dependency of eli5-keras; ``/work/refvenv`` has it)::

    . /work/refvenv/bin/activate
    PYTHONPATH=. python benchmarks/bench_metrics.py --images 64 --batch 64 --repeats 3
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).parent))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import eli5_keras  # noqa: E402
from bench_gradcam import small_cnn, timed, timed_pair  # noqa: E402
from bench_methods import forward_function, input_gradient_function  # noqa: E402
from eli5_keras import metrics  # noqa: E402


def streamed(fn, x: np.ndarray, copies: int, batch: int):
    """Run ``fn`` on ``copies x len(x)`` inputs in chunks of ``batch`` (the floor)."""
    total = copies * len(x)
    chunk = np.repeat(x, -(-batch // len(x)), axis=0)[:batch]

    def run():
        done = 0
        while done < total:
            size = min(batch, total - done)
            fn(tf.constant(chunk[:size])).numpy()
            done += size

    return run


def plans(args, model, x, maps, targets, onehot):
    """Per metric: (ours, floor, xplique or None, how the definitions differ)."""
    from xplique.attributions import Saliency
    from xplique.metrics import AverageStability, Deletion, Insertion, MuFidelity

    forward, gradient = forward_function(model), input_gradient_function(model)
    steps, samples, stab = args.steps, args.samples, args.stability_samples
    yield ("deletion", f"steps={steps}, baseline 0",
           lambda: metrics.deletion(model, x, maps, targets, steps=steps, batch_size=args.batch),
           streamed(forward, x, steps + 1, args.batch),
           lambda: Deletion(model, x, onehot, batch_size=args.batch, baseline_mode=0.0, steps=steps).evaluate(maps),
           "same definition; ties in the ranking: ours first in C order, Xplique's last")
    yield ("insertion", f"steps={steps}, baseline 0",
           lambda: metrics.insertion(model, x, maps, targets, steps=steps, baseline=0.0, batch_size=args.batch),
           streamed(forward, x, steps + 1, args.batch),
           lambda: Insertion(model, x, onehot, batch_size=args.batch, baseline_mode=0.0, steps=steps).evaluate(maps),
           "same definition; ties as for deletion")
    yield ("mufidelity", f"samples={samples}, grid 9, subset 0.2, bernoulli, spearman",
           lambda: metrics.mufidelity(model, x, maps, targets, samples=samples, grid=9, subset=0.2,
                                      sampling="bernoulli", correlation="spearman", batch_size=args.batch),
           streamed(forward, x, samples + 1, args.batch),
           lambda: MuFidelity(model, x, onehot, batch_size=args.batch, grid_size=9, subset_percent=0.2,
                              baseline_mode=0.0, nb_samples=samples).evaluate(maps),
           "random subsets: ours seeded and stateless, Xplique's unseeded tf.random: equal in expectation only")
    yield ("avg_sensitivity", f"saliency, samples={stab}, radius 0.1, no denominator",
           lambda: metrics.avg_sensitivity(model, x, "saliency", targets, samples=stab, radius=0.1,
                                           denominator=None, batch_size=args.batch, normalize=False),
           streamed(gradient, x, stab + 1, args.batch),
           lambda: AverageStability(model, x, onehot, batch_size=args.batch, radius=0.1,
                                    nb_samples=stab).evaluate(Saliency(model, batch_size=args.batch)),
           "noise: ours U[-r, r], Xplique's U[0, r) (fixed draws); maps: both raw (normalize=False) "
           "max-over-channels |gradient|: numbers differ by the noise's definition")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="deletion/insertion steps (Xplique's default)")
    parser.add_argument("--samples", type=int, default=64, help="MuFidelity subsets per input")
    parser.add_argument("--stability-samples", type=int, default=8, help="noisy copies per input")
    parser.add_argument("--metrics", nargs="+", help="subset of deletion insertion mufidelity avg_sensitivity")
    parser.add_argument("--maps", default="saliency", help="method whose maps deletion/insertion/mufidelity score")
    args = parser.parse_args()

    tf.keras.utils.set_random_seed(0)
    model = small_cnn()
    x = np.random.default_rng(0).uniform(size=(args.images, 64, 64, 3)).astype(np.float32)
    result = eli5_keras.explain(model, x, method=args.maps, batch_size=args.batch)
    maps, targets = result.maps[:, 0], result.targets[:, 0]
    onehot = np.eye(model.output.shape[-1], dtype=np.float32)[targets]

    print(f"small CNN 64x64, {args.images} images, batch {args.batch}, maps of {args.maps}, "
          f"{args.repeats} repeats; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"TF {tf.__version__}")
    print("| metric | settings | ours ms / image | floor ms / image | ratio to floor | Xplique ms / image "
          "| Xplique / ours | ours (mean) | Xplique | agreement notes |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for name, settings, ours, floor, xplique, notes in plans(args, model, x, maps, targets, onehot):
        if args.metrics and name not in args.metrics:
            continue
        ours_s, floor_s, ratio = timed_pair(ours, floor, args.repeats)
        theirs_value = None

        def theirs():
            nonlocal theirs_value
            theirs_value = xplique()

        theirs_s = timed(theirs, 1)  # a warm-up (its tf.functions trace), then one timed run
        mine = float(np.nanmean(ours()))
        per = 1e3 / args.images
        print(f"| {name} | {settings} | {ours_s * per:.2f} | {floor_s * per:.2f} | {ratio:.2f} | "
              f"{theirs_s * per:.2f} | {theirs_s / ours_s:.1f} | {mine:.4f} | {float(theirs_value):.4f} | {notes} |",
              flush=True)


if __name__ == "__main__":
    main()

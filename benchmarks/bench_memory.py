"""Peak memory of Integrated Gradients: bounded by ``batch_size``, not by ``steps``.

Each configuration runs in its own Python process (peak resident memory cannot be
reset inside one), explains a batch of the small CNN's inputs with Integrated
Gradients, and reports the process's peak resident set size (``ru_maxrss``) minus the
peak before the call (TensorFlow, the model and one compiled forward pass loaded).
If the expanded work (inputs x steps) were materialised at once, the peak would grow
with ``steps``; chunked by ``batch_size`` it stays flat.

Run::

    python benchmarks/bench_memory.py          # batch 32, steps 50/200, batch_size 32/128

and paste the table into docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, os, resource, sys
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, {bench!r})
import keras, numpy as np
import eli5_keras
from bench_gradcam import MODELS

batch, steps, batch_size = {batch}, {steps}, {batch_size}
build, _ = MODELS["small"]
keras.utils.set_random_seed(0)
model = build()
x = np.random.default_rng(0).random((batch,) + tuple(model.input.shape[1:]), dtype=np.float32)
model.predict(x, verbose=0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = eli5_keras.explain(model, x, method="integrated_gradients", steps=steps, batch_size=batch_size)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(before_mib=before / 1024, after_mib=after / 1024, shape=list(result.maps.shape))))
"""


def measure(batch: int, steps: int, batch_size: int) -> dict:
    code = CHILD.format(bench=str(Path(__file__).parent), batch=batch, steps=steps, batch_size=batch_size)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    args = parser.parse_args()
    print(f"small CNN, Integrated Gradients, batch {args.batch}")
    print("| steps | batch_size | points (batch x (steps + 1)) | peak RSS growth (MiB) |")
    print("|---:|---:|---:|---:|")
    for batch_size in args.batch_sizes:
        for steps in args.steps:
            row = measure(args.batch, steps, batch_size)
            growth = row["after_mib"] - row["before_mib"]
            print(f"| {steps} | {batch_size} | {args.batch * (steps + 1)} | {growth:.0f} |", flush=True)


if __name__ == "__main__":
    main()

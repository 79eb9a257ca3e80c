"""Peak memory of an expanded method: bounded by ``batch_size``, not by its expansion.

Each configuration runs in its own Python process (peak resident memory cannot be
reset inside one), explains a batch of the small CNN's inputs with Integrated
Gradients, and reports the process's peak resident set size (``ru_maxrss``) minus the
peak before the call (TensorFlow, the model and one compiled forward pass loaded).
If the expanded work (inputs x steps) were materialised at once, the peak would grow
with ``steps``; chunked by ``batch_size`` it stays flat.

Run::

    python benchmarks/bench_memory.py          # batch 32, steps 50/200, batch_size 32/128
    python benchmarks/bench_memory.py --method sobol --option designs --values 8 64 --batch 4 \
        --batch-sizes 32                       # Sobol: 8 vs 64 designs (520 vs 4160 passes per image)

Integrated Gradients' ``points`` column is ``batch x (steps + 1)``; other methods print
the option's value.

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

batch, batch_size = {batch}, {batch_size}
build, _ = MODELS["small"]
keras.utils.set_random_seed(0)
model = build()
x = np.random.default_rng(0).random((batch,) + tuple(model.input.shape[1:]), dtype=np.float32)
model.predict(x, verbose=0)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
result = eli5_keras.explain(model, x, method={method!r}, batch_size=batch_size, **{options!r})
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(dict(before_mib=before / 1024, after_mib=after / 1024, shape=list(result.maps.shape))))
"""


def measure(batch: int, method: str, options: dict, batch_size: int) -> dict:
    code = CHILD.format(bench=str(Path(__file__).parent), batch=batch, method=method, options=options,
                        batch_size=batch_size)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--method", default="integrated_gradients")
    parser.add_argument("--option", default="steps", help="the option that sets the expansion")
    parser.add_argument("--values", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    args = parser.parse_args()
    ig = args.method == "integrated_gradients" and args.option == "steps"
    print(f"small CNN, {args.method}, batch {args.batch}")
    column = "points (batch x (steps + 1))" if ig else args.option
    print(f"| {args.option} | batch_size | {column} | peak RSS growth (MiB) |")
    print("|---:|---:|---:|---:|")
    for batch_size in args.batch_sizes:
        for value in args.values:
            row = measure(args.batch, args.method, {args.option: value}, batch_size)
            growth = row["after_mib"] - row["before_mib"]
            points = args.batch * (value + 1) if ig else value
            print(f"| {value} | {batch_size} | {points} | {growth:.0f} |", flush=True)


if __name__ == "__main__":
    main()

"""Datasets at scale: flat memory in the dataset's length, streaming throughput against
in-memory ``explain()``, and Ray workers against one process.

Three measurements on the small CNN of ``bench_gradcam.py`` (64x64x3, Grad-CAM):

``memory``
    ``explain_dataset`` over ``N`` generated inputs (a ``tf.data`` pipeline making each
    input from its index, so nothing of size N exists in memory) into a Zarr store, for
    each N in its own process; peak resident memory (``ru_maxrss``) of the run minus the
    peak before it (TensorFlow, the model and one explained batch loaded).
``throughput``
    One process: the floor (the model's compiled forward + backward to the explained
    layer, batch by batch), ``explain()`` on the whole array in memory, and
    ``explain_dataset`` from the same array, from a ``tf.data`` pipeline over it
    (``from_tensor_slices``) and from the generating ``tf.data`` pipeline (reading
    overlaps explaining: the next run of batches is prefetched while this one is
    explained), each run into a new store; for 1,000 and 4,000 inputs, and the fixed cost
    of a call (one batch).
``ray``
    ``eli5_keras.ray.explain_dataset`` on a local runtime (``ray.init(num_cpus=...)``)
    with 1 and 2 workers over the same array (``from_numpy``, 16 blocks), against
    ``explain()`` in one process. Each run starts its actors (TensorFlow import, model
    load, first trace): the pool's batches are timed as they arrive, the first one paying
    that start, the rest giving the steady throughput; a whole ``explain_dataset`` run
    (store included) is timed too. Ray's overhead per batch = steady time per batch with
    one worker - ``explain()``'s time per batch, and measured alone: the same pool over the
    same data with a pass-through stage (``Echo``) that returns arrays of the explainer's
    output shapes, so only Ray's scheduling, serialisation and ordering are timed. Then the
    first store is resumed with its second half marked not done: the rows' numbering
    (count, zip, filter) is timed alone, and the resumed run whole.

Run::

    python benchmarks/bench_scale.py                      # all three, defaults below
    python benchmarks/bench_scale.py --parts memory --sizes 1000 20000

and paste the tables into docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

SHAPE = (64, 64, 3)
BATCH = 32

MEMORY_CHILD = r"""
import json, os, resource, sys, tempfile
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, {bench!r})
import keras, numpy as np, tensorflow as tf
import eli5_keras
from bench_scale import generated
from bench_gradcam import small_cnn

keras.utils.set_random_seed(0)
model = small_cnn()
with tempfile.TemporaryDirectory() as folder:
    eli5_keras.explain_dataset(model, generated({batch}), out=folder + "/warm.zarr", batch_size={batch}, progress=False)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store = eli5_keras.explain_dataset(model, generated({n}), out=folder + "/maps.zarr", batch_size={batch},
                                       progress=False)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(dict(n={n}, before_mib=before / 1024, after_mib=after / 1024, rows=len(store))))
"""


def generated(n: int):
    """``n`` inputs of SHAPE made from their index in a ``tf.data`` pipeline (uniform
    noise, stateless seed = index): a stream of any length that never sits in memory."""
    import tensorflow as tf

    def make(i):
        return tf.random.stateless_uniform(SHAPE, seed=tf.stack([i, tf.constant(0, tf.int64)]))

    return tf.data.Dataset.range(n).map(make, num_parallel_calls=tf.data.AUTOTUNE)


def memory(sizes: list, batch: int) -> list:
    rows = []
    for n in sizes:
        code = MEMORY_CHILD.format(bench=str(BENCH), n=n, batch=batch)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(result)
        print(f"  memory n={n}: peak {result['after_mib']:.0f} MiB, growth "
              f"{result['after_mib'] - result['before_mib']:.1f} MiB", file=sys.stderr)
    return rows


def _median(fn, repeats: int, clock=time.perf_counter) -> float:
    """Median of ``clock`` over ``fn()`` runs, after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def throughput(sizes: list, batch: int, repeats: int) -> dict:
    """Per size ``n``: seconds per input of each run (wall and CPU, medians of ``repeats``
    rounds after a warm-up; the runs of a round in turn, so drift hits them alike)."""
    import keras
    import numpy as np
    import tensorflow as tf

    import eli5_keras
    from bench_gradcam import floor_function, small_cnn

    keras.utils.set_random_seed(0)
    model = small_cnn()
    everything = np.stack(list(generated(max(sizes)).as_numpy_iterator()))
    floor = floor_function(model, "last_conv")
    folder = tempfile.mkdtemp()
    fresh = itertools.count()  # a new store per run: deleting the last one is not part of the work
    results = {}
    for n in sizes:
        x = everything[:n]

        def run_floor(x=x, n=n):
            for start in range(0, n, batch):
                floor(tf.constant(x[start:start + batch])).numpy()

        runs = dict(
            floor=run_floor,
            explain=lambda x=x: eli5_keras.explain(model, x, batch_size=batch),
            dataset_array=lambda x=x: eli5_keras.explain_dataset(
                model, x, out=f"{folder}/a{next(fresh)}.zarr", batch_size=batch, progress=False),
            dataset_tfdata_slices=lambda x=x: eli5_keras.explain_dataset(
                model, tf.data.Dataset.from_tensor_slices(x), out=f"{folder}/s{next(fresh)}.zarr",
                batch_size=batch, progress=False),
            dataset_tfdata=lambda n=n: eli5_keras.explain_dataset(
                model, generated(n), out=f"{folder}/t{next(fresh)}.zarr", batch_size=batch, progress=False),
        )
        for fn in runs.values():
            fn()
        wall, cpu = {k: [] for k in runs}, {k: [] for k in runs}
        for _ in range(repeats):
            for k, fn in runs.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                fn()
                wall[k].append(time.perf_counter() - start)
                cpu[k].append(time.process_time() - start_cpu)
        results[n] = dict(wall={k: statistics.median(v) / n for k, v in wall.items()},
                          cpu={k: statistics.median(v) / n for k, v in cpu.items()})
    return results


class Echo:
    """A pass-through stage for ``map_batches``: returns, for each batch, arrays of the
    shapes and dtypes ``BatchExplainer`` returns (``template``'s rows), so timing a pool of
    these measures what Ray itself costs per batch (scheduling, serialising the inputs to
    the actor and the outputs back, ordering) without any explaining."""

    def __init__(self, template: dict) -> None:
        self.template = template

    def __call__(self, batch: dict) -> dict:
        n = len(next(iter(batch.values())))
        return {k: v[:n] for k, v in self.template.items()}


def _steady(mapped, batch: int):
    """``(first, steady)``: seconds to the first batch, then seconds per input after it."""
    start = time.perf_counter()
    arrivals, rows_seen = [], 0
    for out in mapped.iter_batches(batch_size=batch, batch_format="numpy"):
        arrivals.append((time.perf_counter(), len(out["maps"])))
        rows_seen += len(out["maps"])
    first = arrivals[0][0] - start
    return first, (arrivals[-1][0] - arrivals[0][0]) / (rows_seen - arrivals[0][1])


def ray_scale(n: int, batch: int, workers: list, cpus: int) -> dict:
    import keras
    import numpy as np
    import ray

    import eli5_keras
    from bench_gradcam import small_cnn
    from eli5_keras.ray import BatchExplainer, explain_dataset

    keras.utils.set_random_seed(0)
    model = small_cnn()
    folder = Path(tempfile.mkdtemp())
    path = folder / "small_cnn.keras"
    model.save(path)
    x = np.stack(list(generated(n).as_numpy_iterator()))
    explain_time = _median(lambda: eli5_keras.explain(model, x, batch_size=batch), 3) / n
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH.parent), os.environ.get("PYTHONPATH")]))
    os.environ["RAY_worker_niceness"] = "0"  # as this process (Ray's default 15 loses to any other job)
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
    rows = {}
    template = BatchExplainer(str(path), column="data")({"data": x[:batch]})  # the outputs Ray carries
    try:
        echo = ray.data.from_numpy(np.array_split(x, 16)).map_batches(
            Echo, fn_constructor_kwargs=dict(template=template), batch_size=batch, batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=1), num_cpus=1)
        _steady(echo, batch)  # warm: the pool's start
        echo_steady = statistics.median(_steady(echo, batch)[1] for _ in range(3))
        print(f"  ray pass-through: {1e3 * echo_steady * batch:.2f} ms per batch", file=sys.stderr)
        for count in workers:
            # the pool as explain_dataset runs it, its batches timed as they arrive: the first
            # one pays the actors' start (TensorFlow import, model load, first trace)
            mapped = ray.data.from_numpy(np.array_split(x, 16)).map_batches(
                BatchExplainer, fn_constructor_kwargs=dict(model=str(path), column="data", threads=1),
                batch_size=batch, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=count), num_cpus=1)
            first, steady = _steady(mapped, batch)
            whole_start = time.perf_counter()
            explain_dataset(ray.data.from_numpy(np.array_split(x, 16)), path, out=folder / f"w{count}.zarr",
                            column="data", workers=count, batch_size=batch, resume=False, progress=False)
            whole = time.perf_counter() - whole_start
            rows[count] = dict(startup_s=first, whole_s=whole, steady_per_image=steady,
                               overhead_per_batch=(steady - explain_time) * batch if count == 1 else None)
            print(f"  ray {count} worker(s): first batch {first:.1f} s, steady {1e3 * steady:.3f} ms/image, "
                  f"explain_dataset {whole:.1f} s", file=sys.stderr)
        resumed = resume(x, path, folder / f"w{workers[0]}.zarr", batch, workers[0])
    finally:
        ray.shutdown()
    return dict(explain_per_image=explain_time, workers=rows, echo_per_batch=echo_steady * batch, resume=resumed)


def resume(x, path: Path, store: Path, batch: int, workers: int) -> dict:
    """A finished store with its second half of batches marked not done (as a run stopped
    there leaves it), resumed: the rows' numbering alone (count, zip with range(N), filter; iterated
    without explaining) and the whole resumed run."""
    import numpy as np
    import ray
    import zarr

    from eli5_keras.ray import INDEX, explain_dataset, unfinished_rows
    from eli5_keras.ray.driver import _ordered

    batches = -(-len(x) // batch)
    done = set(range(batches // 2))
    group = zarr.open_group(store, mode="a")
    group["done"][batches // 2:] = False
    group.attrs.update(dict(complete=False))
    ds = ray.data.from_numpy(np.array_split(x, 16))
    start = time.perf_counter()
    numbered, _ = unfinished_rows(_ordered(ds), done, batch, 0, str(store))
    kept = sum(len(b[INDEX]) for b in numbered.iter_batches(batch_size=batch, batch_format="numpy"))
    numbering = time.perf_counter() - start
    start = time.perf_counter()
    run = explain_dataset(ds, path, out=store, column="data", workers=workers, batch_size=batch, progress=False).run
    whole = time.perf_counter() - start
    print(f"  resume: numbering {numbering:.2f} s ({kept} rows kept), resumed run {whole:.1f} s", file=sys.stderr)
    return dict(numbering_s=numbering, kept=kept, whole_s=whole, explained=run.explained, skipped=run.skipped)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", nargs="+", default=["memory", "throughput", "ray"],
                        choices=["memory", "throughput", "ray"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 20000], help="memory: dataset lengths")
    parser.add_argument("--images", type=int, default=1000, help="ray: inputs")
    parser.add_argument("--stream-sizes", type=int, nargs="+", default=[1000, 4000],
                        help="throughput: dataset lengths (a call's fixed cost weighs less on longer ones)")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cpus", type=int, default=2, help="ray: num_cpus of the local runtime")
    args = parser.parse_args()
    print(f"small CNN {SHAPE}, Grad-CAM, batch_size {args.batch}")
    if "memory" in args.parts:
        rows = memory(args.sizes, args.batch)
        print("\n| inputs | peak RSS (MiB) | growth during the run (MiB) |\n|---:|---:|---:|")
        for r in rows:
            print(f"| {r['n']} | {r['after_mib']:.0f} | {r['after_mib'] - r['before_mib']:.1f} |")
        if len(rows) > 1:
            print(f"\npeak RSS difference {rows[-1]['n']} vs {rows[0]['n']} inputs: "
                  f"{rows[-1]['after_mib'] - rows[0]['after_mib']:.1f} MiB")
    if "throughput" in args.parts:
        sizes = [args.batch] + args.stream_sizes
        results = throughput(sizes, args.batch, args.repeats)
        for n in args.stream_sizes:
            w, c = results[n]["wall"], results[n]["cpu"]
            print(f"\n{n} inputs\n\n| what | ms / image | ratio to floor | ratio to explain() | CPU ms / image "
                  "| CPU ratio to explain() |\n|---|---:|---:|---:|---:|---:|")
            for name in ("floor", "explain", "dataset_array", "dataset_tfdata_slices", "dataset_tfdata"):
                print(f"| {name} | {1e3 * w[name]:.3f} | {w[name] / w['floor']:.2f} | "
                      f"{w[name] / w['explain']:.2f} | {1e3 * c[name]:.3f} | {c[name] / c['explain']:.2f} |")
        one = results[args.batch]["wall"]
        print(f"\nfixed cost of an explain_dataset call (one batch of {args.batch} from an array, minus explain() "
              f"of it: creating the store, its attributes, opening the result): "
              f"{1e3 * args.batch * (one['dataset_array'] - one['explain']):.1f} ms")
    if "ray" in args.parts:
        r = ray_scale(args.images, args.batch, args.workers, args.cpus)
        e = r["explain_per_image"]
        print(f"\n{args.images} inputs, ray.init(num_cpus={args.cpus}); explain() in one process: "
              f"{1e3 * e:.3f} ms / image\n")
        print("| workers | first batch (s) | explain_dataset run (s) | steady ms / image | images / s | "
              "ratio to explain() |")
        print("|---:|---:|---:|---:|---:|---:|")
        for count, row in r["workers"].items():
            s = row["steady_per_image"]
            print(f"| {count} | {row['startup_s']:.1f} | {row['whole_s']:.1f} | {1e3 * s:.3f} | {1 / s:.0f} | "
                  f"{s / e:.2f} |")
        one = r["workers"].get(1)
        if one:
            print(f"\nRay overhead per batch of {args.batch} (1 worker, steady minus explain()): "
                  f"{1e3 * one['overhead_per_batch']:.1f} ms")
        print(f"Ray overhead per batch of {args.batch}, measured alone (a pass-through actor returning "
              f"the explainer's output arrays): {1e3 * r['echo_per_batch']:.2f} ms "
              f"({r['echo_per_batch'] / (e * args.batch):.1%} of explain()'s time per batch)")
        z = r["resume"]
        print(f"\nResumed with the second half not done ({args.workers[0]} worker(s)): numbering the rows "
              f"{z['numbering_s']:.2f} s ({1e3 * z['numbering_s'] / args.images:.3f} ms / input of the dataset, "
              f"{z['kept']} kept); the resumed explain_dataset run {z['whole_s']:.1f} s ({z['explained']} explained, "
              f"{z['skipped']} already done)")


if __name__ == "__main__":
    main()

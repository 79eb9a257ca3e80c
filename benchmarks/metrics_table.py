"""The "which method should I trust" table of docs/metrics.md: every method scored by the
main metrics on the shipped demo model and its generated scenes (ground-truth masks), with
the model-parameter randomisation check.

Each method explains the scenes' true classes once (``eli5_keras.evaluate``); a method
that does not apply to the model (CAM: the demo model has a max-pooling head) is listed
as n/a. Columns (means over the scenes, 95% interval half-width in the JSON):

* pointing game, relevance mass accuracy (ground truth, higher is better);
* deletion (lower), insertion (higher) AUC of the class probability; MuFidelity (higher);
* sparseness (Gini, higher = more concentrated);
* randomisation: Spearman correlation of |map| with the map after re-initialising the top
  layer with weights (``top``) and after re-initialising every layer, top down
  (``all``, the end of Adebayo et al.'s cascade); lower is better, near 0 = the map depends
  on the parameters.

Run (about 10 minutes on 2 cores; ``--images`` and ``--methods`` for less)::

    python benchmarks/metrics_table.py --images 32 --json /tmp/metrics_table.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

import eli5_keras  # noqa: E402
from eli5_keras.demo.model import load_model  # noqa: E402
from eli5_keras.demo.scenes import make_scenes  # noqa: E402
from eli5_keras.metrics.randomisation import randomised_layers  # noqa: E402

METRICS = ["pointing_game", "relevance_mass_accuracy", "deletion", "insertion", "mufidelity", "sparseness"]
OPTIONS = {"deletion": {"steps": 64}, "insertion": {"steps": 64}, "mufidelity": {"samples": 100, "grid": 8}}
HEADER = ["pointing game ↑", "relevance mass ↑", "deletion ↓", "insertion ↑", "MuFidelity ↑", "sparseness",
          "randomisation top ↓", "randomisation all ↓"]


def score(model, scenes, labels, masks, method, batch_size, all_layers):
    """``{column: (mean, half-width)}`` of one method, or the reason it does not apply."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ev = eli5_keras.evaluate(model, scenes, method, METRICS, targets=labels, masks=masks,
                                     batch_size=batch_size, metric_options=OPTIONS)
        except ValueError as error:
            return str(error).split(";")[0]
        result = ev.results[method]
        top = model.layers[randomised_layers(model, None)[0]].name
        checks = {}
        for column, layers in (("randomisation top", [top]), ("randomisation all", all_layers)):
            mprt = eli5_keras.metrics.model_parameter_randomisation(
                model, scenes, method, result.targets, layers=layers, similarity="spearman_abs",
                batch_size=batch_size, maps=result.maps)
            checks[column] = mprt.scores["spearman_abs"][-1]
    row = {k: (s.mean, s.half_width) for k, s in ev.summary[method].items()}
    for column, values in checks.items():
        s = eli5_keras.evaluation.MetricSummary.of(values)
        row[column] = (s.mean, s.half_width)
    return row


def cell(value) -> str:
    return "nan" if not math.isfinite(value[0]) else f"{value[0]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--seed", type=int, default=2024, help="the demo's scenes (held out from training)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--json", help="also write every number (means and half-widths) here")
    args = parser.parse_args()

    model = load_model()
    scenes, labels, masks = make_scenes(args.images, seed=args.seed)
    all_layers = [model.layers[i].name for i in randomised_layers(model, None)]
    rows, start = {}, time.perf_counter()
    for method in args.methods or eli5_keras.methods.available():
        rows[method] = score(model, scenes, labels, masks, method, args.batch_size, all_layers)
        print(f"{method}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

    columns = METRICS + ["randomisation top", "randomisation all"]
    print(f"{model.name}, {args.images} demo scenes (seed {args.seed}), each method explaining the true class")
    print("| method | " + " | ".join(HEADER) + " |")
    print("|---|" + "---:|" * len(HEADER))
    for method, row in rows.items():
        cells = [f"n/a: {row}"] + [""] * (len(HEADER) - 1) if isinstance(row, str) else [cell(row[c]) for c in columns]
        print(f"| {method} | " + " | ".join(cells) + " |")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({m: r if isinstance(r, str) else {c: list(map(float, v)) for c, v in r.items()}
                       for m, r in rows.items()}, handle, indent=1)


if __name__ == "__main__":
    main()

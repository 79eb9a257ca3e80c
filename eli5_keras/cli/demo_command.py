"""``eli5-keras demo``: every method on generated scenes, scored against the true masks.

Needs no data, no training and no network: the scenes are generated (seeded) and the
model ships in the package. The page is :func:`eli5_keras.report` with the objects'
masks, so each method's column carries its pointing-game accuracy, and with three
metrics (:data:`DEMO_METRICS`): deletion and insertion AUC (Petsiuk et al. 2018) and the
model-parameter randomisation check (Adebayo et al. 2018).
"""
from __future__ import annotations

import contextlib
import json
import math
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from .errors import OutputError, UsageError, os_reason
from .explain_command import check_method
from .outputs import writable_folder

TITLE = "eli5-keras demo: which method points at the object?"

CAUSAL_STEPS = 16
"""Deletion and insertion steps in the demo: 17 forward passes per map (the library's
default, 100, would make them the slowest part of the demo); a step removes 256 of the
4096 pixels of a 64x64 scene."""

DEMO_METRICS = {
    "deletion": {"steps": CAUSAL_STEPS},
    "insertion": {"steps": CAUSAL_STEPS},
    "model_parameter_randomisation": {"similarity": "spearman_abs"},
}
"""Metric name -> options. The randomisation check re-initialises the model's top layer
with weights (its class layer) only, the first step of Adebayo et al.'s cascade: two more
explain() calls per method instead of one per layer."""

COLUMNS = {"deletion": "deletion", "insertion": "insertion", "model_parameter_randomisation": "randomisation"}
"""The metrics' names in the printed table and in scores.json."""


def _outcomes(report, names: List[str]) -> Dict[str, dict]:
    """Per method, in the order asked: its numbers, or why it did not run.

    A ``ValueError`` means the method does not apply to the model (e.g. CAM without a
    global-average-pooling head); any other error is a failure.
    """
    outcomes = {}
    for run in report.runs:
        means = {COLUMNS[k]: _finite(v) for k, v in report.metrics[run.name].items()}
        outcomes[run.name] = dict(title=run.title, layer=run.result.layer, pointing_game=run.pointing, **means,
                                  ms_per_image=1e3 * run.seconds_per_input, error=None, not_applicable=None)
    for skip in report.skipped:
        applicable = not isinstance(skip.error, ValueError)
        outcomes[skip.name] = dict(title=skip.name, layer=None, pointing_game=None,
                                   **{column: None for column in COLUMNS.values()}, ms_per_image=None,
                                   error=skip.message if applicable else None,
                                   not_applicable=None if applicable else skip.reason)
    return {name: outcomes[name] for name in names}


def _finite(value: float) -> Optional[float]:
    """A mean for JSON: None when no score was defined."""
    return value if math.isfinite(value) else None


def _number(value: Optional[float]) -> str:
    return "nan" if value is None else f"{value:.2f}"


def _table(outcomes: Dict[str, dict]) -> str:
    """The printed table: a row per method, its means over the scenes."""
    header = ("method", "pointing game \u2191", "deletion \u2193", "insertion \u2191", "randomisation \u2193", "ms/image")
    rows = [header]
    for name, outcome in outcomes.items():
        if outcome["error"] or outcome["not_applicable"]:
            rows.append((name, "failed" if outcome["error"] else "n/a") + ("",) * (len(header) - 2))
        else:
            numbers = [outcome[k] for k in ("pointing_game", *COLUMNS.values())]
            rows.append((name, *map(_number, numbers), f"{outcome['ms_per_image']:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join([row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]).rstrip()
             for row in rows]
    return "\n".join(lines + [
        f"(means over the scenes; deletion/insertion: AUC of the class probability, {CAUSAL_STEPS} steps; "
        "randomisation: Spearman |map| correlation with the map after re-initialising the top layer)"
    ])


@contextlib.contextmanager
def failed_writes_reported(folder: Path) -> Iterator[None]:
    """An OS error while writing the demo's files becomes one :class:`OutputError` line."""
    try:
        yield
    except OSError as error:
        raise OutputError(f"cannot write the demo's outputs into {str(folder)!r}: {os_reason(error)}.") from None


def run_demo(out: str, methods: Optional[List[str]] = None, images: int = 16, seed: int = 2024,
             batch_size: int = 32, quiet: bool = False) -> int:
    """Run the demo; returns the exit status (1 when a method failed; a method that does
    not apply to the demo model is reported, not counted as a failure).

    Writes ``out/index.html`` (the report), ``out/scores.json`` (its numbers) and
    ``out/scenes/scene_000.png``... (the scenes, to try ``eli5-keras explain demo`` on).

    Parameters
    ----------
    out : str
        Output folder.
    methods : list of str, optional
        Method names; every method that applies to the demo model
        (:func:`eli5_keras.methods.applicable`) by default.
    images : int
        Number of scenes to explain.
    seed : int
        Seed of the scenes (the training script uses other seeds: these are held out).
    batch_size : int
        Maximum (input, target) pairs per batch.
    quiet : bool
        Print nothing but errors.
    """
    from .. import methods as registry

    if images < 1:
        raise UsageError(f"--images must be at least 1; got {images}.")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1; got {batch_size}.")
    names = list(dict.fromkeys(check_method(name) for name in methods)) if methods else None
    folder = writable_folder(out)

    from PIL import Image

    from ..demo.model import load_model
    from ..demo.scenes import CLASS_NAMES, make_scenes, to_bytes
    from ..metrics.randomisation import randomised_layers
    from ..reporting import report

    model = load_model()
    if names is None:  # every method that applies to the demo CNN (no attention methods)
        names = registry.applicable(model)
    metric_options = dict(DEMO_METRICS)
    top = model.layers[randomised_layers(model, None)[0]].name
    metric_options["model_parameter_randomisation"] = dict(metric_options["model_parameter_randomisation"],
                                                           layers=[top])
    scenes, labels, masks = make_scenes(images, seed=seed)
    with failed_writes_reported(folder):
        (folder / "scenes").mkdir(parents=True, exist_ok=True)
        for i, pixels in enumerate(to_bytes(scenes)):
            Image.fromarray(pixels).save(folder / "scenes" / f"scene_{i:03d}.png")
    probabilities = model.predict(scenes, batch_size=batch_size, verbose=0)
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())

    with failed_writes_reported(folder):
        written = report(model, scenes, methods=names, targets=labels, path=folder / "index.html",
                         target_names=list(CLASS_NAMES), masks=masks, title=TITLE, batch_size=batch_size,
                         on_error="skip", metrics=list(DEMO_METRICS), metric_options=metric_options)
        outcomes = _outcomes(written, names)
        (folder / "scores.json").write_text(json.dumps(
            dict(model=model.name, seed=seed, images=images, accuracy=accuracy,
                 metrics={COLUMNS[k]: dict(metric=k, **v) for k, v in metric_options.items()}, methods=outcomes),
            indent=2),
            encoding="utf-8")

    failed = [name for name, outcome in outcomes.items() if outcome["error"]]
    for name in failed:
        print(f"eli5-keras: warning: method {name} failed on the demo: {outcomes[name]['error']}", file=sys.stderr)
    for name, outcome in outcomes.items():
        if outcome["not_applicable"] and not quiet:
            print(f"eli5-keras: note: method {name} does not apply to the demo model: {outcome['not_applicable']}",
                  file=sys.stderr)
    if not quiet:
        print(f"{model.name} on {images} demo scenes (accuracy {accuracy:.2f}), each method explaining the true class:")
        print(_table(outcomes))
        print(f"wrote {written.path}")
    return 1 if failed else 0

"""``eli5-keras demo``: every method on generated scenes, scored against the true masks.

Needs no data, no training and no network: the scenes are generated (seeded) and the
model ships in the package.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from .errors import UsageError
from .explain_command import check_method


def _table(scores: Sequence) -> str:
    rows = [("method", "pointing game", "ms/image")]
    for score in scores:
        if score.error:
            rows.append((score.name, "failed", ""))
        elif score.not_applicable:
            rows.append((score.name, "n/a", ""))
        else:
            rows.append((score.name, f"{score.pointing:.2f}", f"{score.ms_per_image:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:<{widths[0]}}  {b:>{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows)


def _write_scores(path: Path, model_name: str, seed: int, images: int, accuracy: float, scores: Sequence) -> None:
    """The numbers of the comparison as JSON, for scripts and tests."""
    methods = {
        score.name: dict(
            title=score.title,
            layer=score.result.layer if score.result is not None else None,
            pointing_game=score.pointing,
            ms_per_image=score.ms_per_image,
            error=score.error,
            not_applicable=score.not_applicable,
        )
        for score in scores
    }
    path.write_text(json.dumps(dict(model=model_name, seed=seed, images=images, accuracy=accuracy, methods=methods),
                               indent=2), encoding="utf-8")


def run_demo(out: str, methods: Optional[List[str]] = None, images: int = 16, seed: int = 2024,
             batch_size: int = 32, quiet: bool = False) -> int:
    """Run the demo; returns the exit status (1 when a method failed; a method that does
    not apply to the demo model is reported, not counted as a failure).

    Parameters
    ----------
    out : str
        Output folder for overlays and ``index.html``.
    methods : list of str, optional
        Method names; all of :func:`eli5_keras.methods.available` by default.
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
    names = list(dict.fromkeys(check_method(name) for name in methods)) if methods else registry.available()
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--out {out!r} exists and is not a folder.")

    from ..demo.evaluate import score_methods
    from ..demo.model import load_model
    from ..demo.page import write_demo_page
    from ..demo.scenes import make_scenes

    model = load_model()
    scenes, labels, masks = make_scenes(images, seed=seed)
    probabilities = model.predict(scenes, batch_size=batch_size, verbose=0)
    scores = score_methods(model, scenes, labels, masks, names, batch_size)
    page = write_demo_page(folder, model.name, scenes, labels, masks, probabilities, scores)
    accuracy = float((probabilities.argmax(axis=1) == labels).mean())
    _write_scores(folder / "scores.json", model.name, seed, images, accuracy, scores)
    failed = [score for score in scores if score.error]
    for score in failed:
        print(f"eli5-keras: warning: method {score.name} failed on the demo: {score.error}", file=sys.stderr)
    for score in scores:
        if score.not_applicable and not quiet:
            print(f"eli5-keras: note: method {score.name} does not apply to the demo model: {score.not_applicable}",
                  file=sys.stderr)
    if not quiet:
        print(f"{model.name} on {images} demo scenes (accuracy {accuracy:.2f}), each method explaining the true class:")
        print(_table(scores))
        print(f"wrote {page}")
    return 1 if failed else 0

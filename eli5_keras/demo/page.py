"""The demo's output: overlays per method and scene, and a self-contained ``index.html``
(relative image links, no network) comparing the methods.

:func:`write_demo_page` is the single place that writes it.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence

import jinja2
import numpy as np
from PIL import Image

from ..formatters.image import format_as_image
from .evaluate import MethodScore
from .scenes import CLASS_NAMES

SHOWN_SIZE = 192
"""Scenes and overlays are enlarged (nearest neighbour) to this many pixels a side."""
OUTLINE_COLOURS = np.array([(255, 0, 255), (255, 255, 255), (0, 0, 0), (255, 255, 0)])
"""The object's outline is drawn in whichever of these differs most from the object."""


def mask_outline(mask: np.ndarray) -> np.ndarray:
    """Boundary pixels of a boolean mask ``(H, W)``: in the mask, next to a pixel outside it."""
    padded = np.pad(mask, 1, constant_values=False)
    interior = padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~interior


def to_bytes(image: np.ndarray) -> np.ndarray:
    """A scene in [0, 1] as uint8 pixels: ``(H, W, 3) -> (H, W, 3)``, what a PNG file stores."""
    return np.round(np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)


def _enlarged(image: Image.Image) -> Image.Image:
    return image.resize((SHOWN_SIZE, SHOWN_SIZE), Image.NEAREST)


_PAGE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>eli5-keras demo</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid td { text-align: center; font-size: 0.85em; }
.grid img { width: {{ size }}px; height: {{ size }}px; image-rendering: pixelated; display: block; }
.hit { color: #1a7f37; } .miss { color: #cf222e; } .error { color: #cf222e; }
</style></head>
<body>
<h1>eli5-keras demo: which method points at the object?</h1>
<p>Model <code>{{ model_name }}</code> names the shape in each of {{ n }} generated scenes
({{ classes }}) over textured backgrounds with distractor lines and dots; it is right on
{{ "%.0f"|format(100 * accuracy) }}% of them. Each method explains the score of the
<em>true</em> class. <b>Pointing game</b>: the share of maps whose maximum falls inside the
true object (outlined). <b>ms / image</b>: one batched call over all scenes,
after a first call that compiles.</p>
<table>
<tr><th>method</th><th>pointing game</th><th>ms / image</th><th>layer</th></tr>
{% for s in scores %}<tr><td>{{ s.title }} <code>{{ s.name }}</code></td>
{% if s.error %}<td colspan="3" class="error">failed: {{ s.error }}</td>
{% elif s.not_applicable %}<td colspan="3">not applicable to this model: {{ s.not_applicable }}</td>
{% else %}<td class="num">{{ "%.2f"|format(s.pointing) }}</td><td class="num">{{ "%.1f"|format(s.ms_per_image) }}</td>
<td><code>{{ s.result.layer or "input" }}</code></td>{% endif %}</tr>
{% endfor %}</table>
<table class="grid">
<tr><th>scene</th>{% for s in working %}<th>{{ s.title }}</th>{% endfor %}</tr>
{% for scene in scenes %}<tr><td><img src="{{ scene.truth }}" alt="{{ scene.name }}">
true {{ scene.label }}; predicted {{ scene.predicted }} ({{ "%.2f"|format(scene.probability) }})</td>
{% for cell in scene.cells %}<td><img src="{{ cell.src }}" alt="{{ cell.title }} on {{ scene.name }}">
{% if cell.hit %}<span class="hit">&#10003; on the object</span>
{% else %}<span class="miss">&#10007; off the object</span>{% endif %}</td>
{% endfor %}</tr>
{% endfor %}</table>
</body></html>
"""
)


def write_demo_page(out: Path, model_name: str, images: np.ndarray, labels: np.ndarray, masks: np.ndarray,
                    probabilities: np.ndarray, scores: Sequence[MethodScore]) -> Path:
    """Write the demo's images and ``out/index.html``; return the page's path.

    Parameters
    ----------
    out : Path
        Output folder (created). Written: ``scenes/scene_000.png`` (the inputs as they
        are, 64x64, for ``eli5-keras explain demo``), ``truth/scene_000.png`` (enlarged,
        object outlined), ``<method>/scene_000.png`` (overlays) and ``index.html``.
    images : float32 (N, H, W, 3) in [0, 1]
    labels : int (N,)
    masks : bool (N, H, W)
    probabilities : float (N, classes), the model's outputs
    scores : the methods' :class:`MethodScore`, failed ones included
    """
    out.mkdir(parents=True, exist_ok=True)
    for folder in ("scenes", "truth"):
        (out / folder).mkdir(exist_ok=True)
    working = [s for s in scores if s.result is not None]
    scenes: List[dict] = []
    for i, (image, label, mask) in enumerate(zip(images, labels, masks)):
        name = f"scene_{i:03d}"
        pixels = to_bytes(image)
        Image.fromarray(pixels).save(out / "scenes" / f"{name}.png")
        outlined = pixels.copy()
        colour_distance = np.linalg.norm(OUTLINE_COLOURS - pixels[mask].mean(axis=0), axis=1)
        outlined[mask_outline(mask)] = OUTLINE_COLOURS[np.argmax(colour_distance)]
        _enlarged(Image.fromarray(outlined)).save(out / "truth" / f"{name}.png")
        predicted = int(np.argmax(probabilities[i]))
        cells = [dict(src=f"{score.name}/{name}.png", title=score.title, hit=bool(score.hits[i])) for score in working]
        scenes.append(dict(name=name, truth=f"truth/{name}.png", label=CLASS_NAMES[label], cells=cells,
                           predicted=CLASS_NAMES[predicted], probability=float(probabilities[i, predicted])))
    for score in working:
        folder = out / score.name
        folder.mkdir(exist_ok=True)
        for i, expl in enumerate(score.result):
            _enlarged(format_as_image(expl)).save(folder / f"scene_{i:03d}.png")
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == labels))
    page = _PAGE.render(model_name=model_name, n=len(images), classes=", ".join(CLASS_NAMES), accuracy=accuracy,
                        scores=scores, working=working, scenes=scenes, size=SHOWN_SIZE)
    path = out / "index.html"
    path.write_text(page, encoding="utf-8")
    return path

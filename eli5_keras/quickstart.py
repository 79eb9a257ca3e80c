"""Quickstart: train a tiny CNN on generated scenes and explain it with Grad-CAM.

``python -m eli5_keras.quickstart --out quickstart-out`` needs no data and no network:
it draws 32x32 grey noise images with one red, green or blue square at a random place,
trains a small CNN (seconds) to name the colour, explains held-out images in one batched
call, and writes the overlays plus an index page. It prints the pointing-game
accuracy: the share of maps whose maximum falls inside the square.
"""
from __future__ import annotations

import argparse
import html
import os
import time
from pathlib import Path
from typing import Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from .metrics import pointing_game  # noqa: E402

SIZE = 32
SQUARE = 8


def make_scenes(n: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` grey noise scenes with one coloured square.

    Returns
    -------
    images : float32 (n, 32, 32, 3) in [0, 1]; labels : int (n,) 0 red, 1 green, 2 blue;
    masks : bool (n, 32, 32), True on the square.
    """
    rng = np.random.default_rng(seed)
    grey = rng.uniform(0.2, 0.6, (n, SIZE, SIZE, 1))
    images = np.repeat(grey, 3, axis=-1).astype(np.float32)
    labels = rng.integers(0, 3, n)
    masks = np.zeros((n, SIZE, SIZE), bool)
    for i, colour in enumerate(labels):
        top, left = rng.integers(0, SIZE - SQUARE + 1, 2)
        rgb = np.full(3, 0.1, np.float32)
        rgb[colour] = 0.9
        images[i, top:top + SQUARE, left:left + SQUARE] = rgb
        masks[i, top:top + SQUARE, left:left + SQUARE] = True
    return images, labels, masks


def build_model() -> keras.Model:
    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="colour_cnn")


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="quickstart-out", help="folder for overlays and index.html")
    parser.add_argument("--images", type=int, default=16, help="held-out images to explain")
    args = parser.parse_args(argv)

    import eli5_keras

    keras.utils.set_random_seed(0)
    x_train, y_train, _ = make_scenes(1500, seed=1)
    x_test, y_test, masks = make_scenes(args.images, seed=2)
    model = build_model()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=5, batch_size=64, verbose=0)
    accuracy = float(np.mean(model.predict(x_test, verbose=0).argmax(-1) == y_test))

    start = time.perf_counter()
    result = eli5_keras.explain(model, x_test)
    seconds = time.perf_counter() - start
    score = pointing_game(result.maps[:, 0], masks)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, expl in enumerate(result):
        name = f"overlay_{i:03d}.png"
        eli5_keras.format_as_image(expl).resize((128, 128)).save(out / name)
        t = expl.targets[0]
        rows.append(f"<figure><img src='{name}' width=128><figcaption>class {t.target}, "
                    f"p={t.score:.2f}</figcaption></figure>")
    (out / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>eli5-keras quickstart</title>"
        f"<h1>Grad-CAM on {html.escape(model.name)} (layer {html.escape(result.layer)})</h1>"
        f"<p>accuracy {accuracy:.2f}; pointing game {score:.2f}</p>" + "".join(rows),
        encoding="utf-8",
    )
    print(f"test accuracy {accuracy:.2f}; Grad-CAM pointing game {score:.2f} "
          f"({1e3 * seconds / len(x_test):.1f} ms/image, first call includes compilation)")
    print(f"wrote {len(rows)} overlays and {out / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Train the demo model: the reproducible source of ``eli5_keras/demo/model.keras``.

``python -m eli5_keras.demo.train`` generates seeded scenes, trains
:func:`eli5_keras.demo.model.build_model` on them (a few minutes on 2 CPU cores), checks
held-out accuracy and Grad-CAM's pointing game, and saves the model. Training scenes
are flipped and transposed at random each epoch (the shapes' classes do not change).
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import List, Optional

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from ..metrics import pointing_game  # noqa: E402
from .model import MODEL_PATH, build_model  # noqa: E402
from .scenes import make_scenes  # noqa: E402

TRAIN_SEED = 1
VALIDATION_SEED = 2
"""Scene seeds of training and held-out validation; the demo and tests use others."""
MODEL_SEED = 0
MIN_ACCURACY = 0.95


def augmented(images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int) -> tf.data.Dataset:
    """Shuffled batches, each scene randomly flipped and transposed (8 symmetries)."""

    def symmetry(image: tf.Tensor, label: tf.Tensor):
        image = tf.image.random_flip_left_right(image)
        image = tf.image.random_flip_up_down(image)
        transpose = tf.random.uniform(()) < 0.5
        image = tf.cond(transpose, lambda: tf.transpose(image, [1, 0, 2]), lambda: image)
        return image, label

    data = tf.data.Dataset.from_tensor_slices((images, labels))
    return data.shuffle(len(images), seed=seed).map(symmetry).batch(batch_size).prefetch(2)


def train(scenes: int = 6000, epochs: int = 12, batch_size: int = 32, learning_rate: float = 3e-3,
          validation: int = 1000, verbose: int = 2) -> keras.Model:
    """Train a fresh demo model (seeded) and return it.

    Parameters
    ----------
    scenes : int
        Training scenes (seed :data:`TRAIN_SEED`).
    epochs : int
        Passes over them; the learning rate follows a cosine decay to zero.
    batch_size, learning_rate : int, float
        Adam's batch size and initial learning rate.
    validation : int
        Held-out scenes (seed :data:`VALIDATION_SEED`) for the per-epoch report.
    verbose : int
        Keras ``fit`` verbosity.
    """
    keras.utils.set_random_seed(MODEL_SEED)
    x_train, y_train, _ = make_scenes(scenes, seed=TRAIN_SEED)
    x_val, y_val, _ = make_scenes(validation, seed=VALIDATION_SEED)
    model = build_model()
    steps = epochs * int(np.ceil(scenes / batch_size))
    model.compile(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        "sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(augmented(x_train, y_train, batch_size, MODEL_SEED), epochs=epochs,
              validation_data=(x_val, y_val), verbose=verbose)
    return model


def evaluate(model: keras.Model, scenes: int = 1000, seed: int = VALIDATION_SEED) -> dict:
    """Held-out accuracy and Grad-CAM pointing game (true class) on ``scenes`` new scenes."""
    from ..explain import explain

    images, labels, masks = make_scenes(scenes, seed=seed)
    accuracy = float(np.mean(model.predict(images, verbose=0).argmax(axis=1) == labels))
    maps = explain(model, images, targets=labels).maps[:, 0]
    return dict(accuracy=accuracy, pointing_game=pointing_game(maps, masks))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eli5_keras.demo.train", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(MODEL_PATH), help=f"where to save the model (default: {MODEL_PATH})")
    parser.add_argument("--scenes", type=int, default=6000, help="training scenes (default: 6000)")
    parser.add_argument("--epochs", type=int, default=12, help="epochs (default: 12)")
    parser.add_argument("--validation", type=int, default=1000, help="held-out scenes (default: 1000)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    model = train(args.scenes, args.epochs, validation=args.validation)
    scores = evaluate(model, args.validation)
    out = Path(args.out)
    model.save(out)
    print(f"trained in {time.perf_counter() - start:.0f} s; held-out accuracy {scores['accuracy']:.3f}, "
          f"Grad-CAM pointing game {scores['pointing_game']:.3f}; saved {out} ({out.stat().st_size / 1e6:.2f} MB)")
    if scores["accuracy"] < MIN_ACCURACY:
        print(f"warning: held-out accuracy is under {MIN_ACCURACY}; train longer (--epochs) or on more --scenes.")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

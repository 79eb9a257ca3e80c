"""Train the demo model: the reproducible source of ``eli5_keras/demo/model.keras``.

``python -m eli5_keras.demo.train`` generates seeded scenes, trains
:func:`eli5_keras.demo.model.build_model` on them (a few minutes on 2 CPU cores; see
:func:`train` for the losses), checks held-out accuracy and Grad-CAM's pointing game, and
saves the model.
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
from .model import CLASS_MAPS, MODEL_PATH, build_model  # noqa: E402
from .scenes import CLASS_NAMES, SIZE, make_scenes  # noqa: E402

TRAIN_SEED = 1
VALIDATION_SEED = 2
"""Scene seeds of training and held-out validation; the demo and tests use others."""
MODEL_SEED = 0
MIN_ACCURACY = 0.95
EVIDENCE_WEIGHT = 1.0
"""Weight of the evidence-map loss next to the classification loss."""


def evidence_targets(label: tf.Tensor, mask: tf.Tensor, grid: int) -> tf.Tensor:
    """What the class maps should show: ``(H, W)`` mask -> ``(grid, grid, classes)``, the
    share of each cell covered by the object, in the true class's channel; 0 elsewhere."""
    cell = SIZE // grid
    coverage = tf.nn.avg_pool2d(tf.cast(mask, tf.float32)[None, :, :, None], cell, cell, "VALID")[0]
    return coverage * tf.one_hot(label, len(CLASS_NAMES))


def scene_dataset(images: np.ndarray, labels: np.ndarray, masks: np.ndarray, grid: int, batch_size: int,
                  augment_seed: Optional[int] = None) -> tf.data.Dataset:
    """Batches of ``(image, {probabilities: label, class_maps: evidence targets})``.

    With ``augment_seed``, scenes are shuffled and each is flipped and transposed at random
    (8 symmetries; the shapes' classes do not change), its mask with it.
    """

    def prepare(image: tf.Tensor, label: tf.Tensor, mask: tf.Tensor):
        if augment_seed is not None:
            both = tf.concat([image, tf.cast(mask, tf.float32)[:, :, None]], axis=-1)
            both = tf.image.random_flip_left_right(both)
            both = tf.image.random_flip_up_down(both)
            both = tf.cond(tf.random.uniform(()) < 0.5, lambda: tf.transpose(both, [1, 0, 2]), lambda: both)
            image, mask = both[:, :, :3], both[:, :, 3] > 0.5
        return image, {"probabilities": label, CLASS_MAPS: evidence_targets(label, mask, grid)}

    data = tf.data.Dataset.from_tensor_slices((images, labels, masks))
    if augment_seed is not None:
        data = data.shuffle(len(images), seed=augment_seed)
    return data.map(prepare).batch(batch_size).prefetch(2)


def train(scenes: int = 6000, epochs: int = 12, batch_size: int = 32, learning_rate: float = 3e-3,
          validation: int = 1000, verbose: int = 2) -> keras.Model:
    """Train a fresh demo model (seeded) and return it.

    The classifier is trained on two losses: cross-entropy of its class probabilities, and
    binary cross-entropy of its class maps (as logits) against the object's coverage of
    each cell in the true class's map (:func:`evidence_targets`). The second puts the
    model's evidence on the object, which is what makes the true mask a ground truth for
    explanations: without it, global max pooling lets a model score a shape from a spot
    next to it (a triangle from beyond its apex, a cross from its inner corners).

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
    model = build_model()
    class_maps = model.get_layer(CLASS_MAPS).output
    grid = class_maps.shape[1]
    trainer = keras.Model(model.input, {"probabilities": model.output, CLASS_MAPS: class_maps})
    steps = epochs * int(np.ceil(scenes / batch_size))
    trainer.compile(
        keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(learning_rate, steps)),
        loss={"probabilities": keras.losses.SparseCategoricalCrossentropy(),
              CLASS_MAPS: keras.losses.BinaryCrossentropy(from_logits=True)},
        loss_weights={"probabilities": 1.0, CLASS_MAPS: EVIDENCE_WEIGHT},
        metrics={"probabilities": ["accuracy"]},
    )
    training = scene_dataset(*make_scenes(scenes, seed=TRAIN_SEED), grid, batch_size, augment_seed=MODEL_SEED)
    held_out = scene_dataset(*make_scenes(validation, seed=VALIDATION_SEED), grid, batch_size)
    trainer.fit(training, epochs=epochs, validation_data=held_out, shuffle=False, verbose=verbose)
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

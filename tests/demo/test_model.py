"""The shipped demo model: small, loads without network, accurate and localising on
scenes it has never seen (seeds other than the training script's)."""
import numpy as np
import pytest

import eli5_keras
from eli5_keras.demo.model import CLASS_MAPS, MODEL_PATH, build_model, load_model
from eli5_keras.demo.scenes import CLASS_NAMES, make_scenes
from eli5_keras.demo.train import TRAIN_SEED, VALIDATION_SEED
from eli5_keras.metrics import pointing_game

HELD_OUT_SEED = 4242


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def held_out():
    assert HELD_OUT_SEED not in (TRAIN_SEED, VALIDATION_SEED)
    return make_scenes(300, seed=HELD_OUT_SEED)


def test_shipped_file_is_small_and_has_the_training_scripts_architecture(model):
    assert MODEL_PATH.is_file() and MODEL_PATH.stat().st_size < 2_000_000
    fresh = build_model()
    assert [type(layer).__name__ for layer in model.layers] == [type(layer).__name__ for layer in fresh.layers]
    assert [w.shape for w in model.weights] == [w.shape for w in fresh.weights]
    assert model.output_shape == (None, len(CLASS_NAMES))


def test_held_out_accuracy_is_at_least_95_percent(model, held_out):
    images, labels, _ = held_out
    accuracy = np.mean(model.predict(images, verbose=0).argmax(axis=1) == labels)
    assert accuracy >= 0.95


def test_gradcam_points_at_the_object(model, held_out):
    images, labels, masks = held_out
    result = eli5_keras.explain(model, images, targets=labels)
    assert result.layer == CLASS_MAPS
    assert pointing_game(result.maps[:, 0], masks) >= 0.8


def test_missing_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m eli5_keras.demo.train"):
        load_model(tmp_path / "model.keras")

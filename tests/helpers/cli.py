"""Shared pieces of the command-line tests: the console script, a small saved model, inputs."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
from PIL import Image

import eli5_keras

SIZE = 16
NUM_CLASSES = 3


def console_script() -> str:
    """The ``eli5-keras`` script installed next to this interpreter (``pip install -e .``)."""
    script = shutil.which("eli5-keras", path=str(Path(sys.executable).parent))
    assert script, "the eli5-keras console script is not installed in this environment (pip install -e .)"
    return script


def cli_env(**extra) -> dict:
    """The environment of a console-script run: TensorFlow quiet, and this checkout's
    package first on the path (the installed script may point at another checkout)."""
    root = str(Path(eli5_keras.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=path)
    env.update(extra)
    return env


def run_cli(*args, env=None, timeout=300, cwd=None) -> subprocess.CompletedProcess:
    """Run ``eli5-keras ARGS...`` in a subprocess; text output captured."""
    return subprocess.run(
        [console_script(), *map(str, args)],
        capture_output=True, text=True, env=env or cli_env(), timeout=timeout, cwd=cwd,
    )


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    """stderr is exactly one ``eli5-keras: error: ...`` line holding ``fragments``; no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("eli5-keras: error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def save_small_model(folder: Path) -> Path:
    """A small random conv classifier, (16, 16, 3) -> 3 softmax classes, saved as .keras."""
    keras.utils.set_random_seed(11)
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input((SIZE, SIZE, 3)),
            layers.Conv2D(4, 3, padding="same", activation="relu", name="conv1"),
            layers.Conv2D(6, 3, strides=2, padding="same", activation="relu", name="conv2"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(NUM_CLASSES, activation="softmax", name="dense"),
        ],
        name="small_cnn",
    )
    path = folder / "small.keras"
    model.save(path)
    return path


def write_pngs(folder: Path, count: int, seed: int = 0, size=(SIZE, SIZE), prefix: str = "img") -> list:
    """``count`` random RGB PNG files named ``{prefix}_000.png`` ... in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = folder / f"{prefix}_{i:03d}.png"
        Image.fromarray(rng.integers(0, 256, size + (3,), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths

"""Random inputs for the shared models: images, 1-D signals and 3-D volumes."""
import numpy as np

SIZE = 12
CHANNELS = 3
NUM_CLASSES = 5


def images(n, size=SIZE, channels=CHANNELS, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(n, size, size, channels)).astype(np.float32)


def signals(n, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 16, 2)).astype(np.float32)


def volumes(n, seed=0):
    return np.random.default_rng(seed).uniform(size=(n, 6, 6, 6, 1)).astype(np.float32)

"""Evaluation metrics: how faithful, well placed and simple explanations are.

Each metric is a function on its own, returning one score per input ``(N,)`` (or per
input and target ``(N, T)``); formulas, defaults and how they compare with the
reference implementations are in each module's docstring and ``docs/metrics.md``.

Model-based metrics (run as compiled, batched TensorFlow on the explanation engine,
memory bounded by ``batch_size``):

* :func:`deletion`, :func:`insertion` - Petsiuk et al. (2018)
* :func:`mufidelity` - Bhatt et al. (2020)

Localisation against ground-truth masks (numpy):

* :func:`pointing_game`, :func:`pointing_hits` - Zhang et al. (2016)
"""
from .deletion import deletion
from .insertion import insertion
from .mufidelity import mufidelity
from .pointing import pointing_game, pointing_hits

__all__ = ["deletion", "insertion", "mufidelity", "pointing_game", "pointing_hits"]

"""Evaluation metrics: how faithful, well placed and simple explanations are.

Each metric is a function on its own, returning one score per input ``(N,)`` (or per
input and target ``(N, T)``); formulas, defaults and how they compare with the
reference implementations are in each module's docstring and ``docs/metrics.md``.

Model-based metrics (run as compiled, batched TensorFlow on the explanation engine,
memory bounded by ``batch_size``):

* :func:`deletion`, :func:`insertion` - Petsiuk et al. (2018)
* :func:`mufidelity` - Bhatt et al. (2020)
* :func:`road` - Rong et al. (2022), noisy linear imputation

Localisation against ground-truth masks (numpy):

* :func:`pointing_game`, :func:`pointing_hits` - Zhang et al. (2016)
* :func:`energy_pointing_game` - Wang et al. (2020, Score-CAM)
* :func:`relevance_mass_accuracy`, :func:`relevance_rank_accuracy` - Arras et al. (2022)

Randomisation sanity checks (the method re-run; similarities in numpy):

* :func:`random_logit` - Sixt et al. (2020)
* :func:`model_parameter_randomisation`, :func:`randomised_models` - Adebayo et al. (2018)
* :func:`ssim`, :func:`spearman`, :func:`spearman_abs` - the similarities they use

Robustness (the method re-run on noisy inputs):

* :func:`max_sensitivity`, :func:`avg_sensitivity` - Yeh et al. (2019)

Complexity of the maps alone (numpy):

* :func:`sparseness` - Gini index, Chalasani et al. (2020)
* :func:`complexity` - entropy, Bhatt et al. (2020)
"""
from .complexity import complexity
from .deletion import deletion
from .energy import energy_pointing_game
from .insertion import insertion
from .mufidelity import mufidelity
from .pointing import pointing_game, pointing_hits
from .randomisation import (
    ParameterRandomisation,
    model_parameter_randomisation,
    other_classes,
    random_logit,
    randomised_models,
)
from .relevance_mass import relevance_mass_accuracy
from .relevance_rank import relevance_rank_accuracy
from .road import road
from .sensitivity import avg_sensitivity, max_sensitivity
from .similarity import spearman, spearman_abs, ssim
from .sparseness import sparseness

__all__ = [
    "ParameterRandomisation",
    "avg_sensitivity",
    "complexity",
    "deletion",
    "energy_pointing_game",
    "insertion",
    "max_sensitivity",
    "model_parameter_randomisation",
    "mufidelity",
    "other_classes",
    "pointing_game",
    "pointing_hits",
    "random_logit",
    "randomised_models",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
    "road",
    "sparseness",
    "spearman",
    "spearman_abs",
    "ssim",
]
